// `husk run`'s network flags: --net, --ip, -p, --dns, --add-host and the
// bandwidth flags, checked and translated (pure). main.cc turns them into a
// net::AttachRequest; build_config only needs the mode.
#pragma once

#include <string>
#include <vector>

#include "base/error.h"
#include "net/attach.h"

namespace husk::cli {

struct NetFlags {
  std::string ip;                        // --ip
  std::vector<std::string> publish;      // -p
  std::vector<std::string> dns;          // --dns
  std::vector<std::string> dns_search;   // --dns-search
  std::vector<std::string> dns_option;   // --dns-option
  std::vector<std::string> add_host;     // --add-host
  std::string egress_rate, egress_burst;    // --egress-rate, --egress-burst
  std::string ingress_rate, ingress_burst;  // --ingress-rate, --ingress-burst
};

struct NetMode {
  enum Kind { kNone, kHost, kBridge, kContainer, kNamespace, kCni } kind = kBridge;
  std::string target;  // the network (kBridge), container id, netns path or CNI name
  // Whether husk plumbs this container into a network (a lease, a veth...).
  bool attaches() const { return kind == kBridge || kind == kCni; }
};

// none | host | bridge | NAME | container:ID | ns:PATH | cni:NAME
Result<NetMode> parse_net_mode(const std::string& v);

// Flags that make sense only with some modes are refused with the others,
// as docker does ("conflicting options").
Result<void> check_net_flags(const NetMode& m, const NetFlags& n);

// The attach request of a container (net::Attachment::prepare).
Result<net::AttachRequest> attach_request(const NetMode& m, const NetFlags& n,
                                          const std::string& id, const std::string& hostname);

}  // namespace husk::cli
