// The files a networked container gets: /etc/resolv.conf, /etc/hosts and
// /etc/hostname, written per container and bind-mounted over the root's.
// Text building is pure; write_files does the file I/O.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace husk::net {

struct DnsOptions {
  std::vector<std::string> servers;  // --dns: replaces the host's nameservers
  std::vector<std::string> search;   // --dns-search: replaces the host's search
  std::vector<std::string> options;  // --dns-option
};

// The host's resolv.conf with loopback nameservers (127.0.0.0/8, ::1) left
// out, as docker does (they cannot answer from another namespace); when no
// nameserver is left, docker's defaults 8.8.8.8 and 8.8.4.4. --dns,
// --dns-search and --dns-option replace the host's lines of their kind
// (`--dns-search .`: no search line at all). Comments are left out. The
// options are checked first: `--dns "x": not an IP address`, and no
// --dns-search or --dns-option may hold a space or a control character.
Result<std::string> resolv_conf(std::string_view host_text, const DnsOptions& opts);

struct HostEntry {
  std::string ip;
  std::vector<std::string> names;
};
// localhost lines, then the container's own address with its hostname and
// name, then --add-host entries and peers on the same network: docker's
// localhost block, then "IP\tname1 name2" per entry, written as given (the
// entries come from parse_add_host or are the container's checked names).
std::string hosts_file(const std::vector<HostEntry>& entries);
// --add-host NAME:IP or NAME=IP (IP may be v6, bare or in brackets;
// "host-gateway" is the network's gateway). NAME must be a host name; the IP
// comes back in canonical form. Errors name the flag value.
Result<HostEntry> parse_add_host(std::string_view text, std::string_view gateway);

// Writes resolv.conf, hosts and hostname (+ "\n") into dir (made like mkdir
// -p, 0755; files 0644 whatever the umask), each by temp file and rename.
Result<void> write_files(const std::string& dir, const std::string& resolv,
                         const std::string& hosts, const std::string& hostname);
// Rewrites a file in place (same inode: a bind mount of it sees the change).
Result<void> rewrite_in_place(const std::string& path, std::string_view text);

}  // namespace husk::net
