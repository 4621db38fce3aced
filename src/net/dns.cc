#include "net/dns.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <optional>

#include "base/file.h"
#include "base/unique_fd.h"
#include "net/addr.h"

namespace husk::net {
namespace {

// An address as inet_pton reads it (no zone, no prefix, no space), or nothing.
std::optional<IpAddr> parse_ip(std::string_view text) {
  auto ip = IpAddr::parse(text);
  if (!ip) return std::nullopt;
  return *ip;
}

bool is_blank(char c) { return c == ' ' || c == '\t'; }

// Whitespace-separated fields of a resolv.conf line.
std::vector<std::string_view> fields(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && is_blank(line[i])) ++i;
    size_t start = i;
    while (i < line.size() && !is_blank(line[i])) ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

std::string join(const std::vector<std::string_view>& parts, size_t from) {
  std::string out;
  for (size_t i = from; i < parts.size(); ++i) {
    if (!out.empty()) out += ' ';
    out += parts[i];
  }
  return out;
}

// A word that can stand in a resolv.conf line: no space, no control character
// (a newline would start a line of the caller's choosing).
bool is_word(std::string_view s) {
  return !s.empty() && std::none_of(s.begin(), s.end(), [](char c) {
    return static_cast<unsigned char>(c) <= ' ' || c == 0x7f;
  });
}

Result<void> check_options(const DnsOptions& opts) {
  for (const auto& s : opts.servers)
    if (!parse_ip(s)) return fail(0, "--dns \"{}\": not an IP address", s);
  for (const auto& s : opts.search)
    if (!is_word(s) || s.size() > 253) return fail(0, "--dns-search \"{}\": not a domain name", s);
  for (const auto& s : opts.options)
    if (!is_word(s)) return fail(0, "--dns-option \"{}\": not a resolver option", s);
  return ok();
}

// Labels of letters, digits, '-' and '_' (compose service names use it), none
// empty or longer than 63, none starting or ending with '-'; 253 at most.
bool is_hostname(std::string_view name) {
  if (name.empty() || name.size() > 253) return false;
  size_t start = 0;
  for (;;) {
    size_t dot = name.find('.', start);
    std::string_view label = name.substr(start, dot == std::string_view::npos ? dot : dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-')
      return false;
    for (char c : label) {
      bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
      if (!alnum && c != '-' && c != '_') return false;
    }
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

Result<void> write_world_readable(const std::string& path, std::string_view text) {
  HUSK_TRY(write_file_atomic(path, text, 0644, Durability::kVolatile));
  if (::chmod(path.c_str(), 0644) < 0) return fail_errno("chmod {}", path);
  return ok();
}

}  // namespace

Result<std::string> resolv_conf(std::string_view host_text, const DnsOptions& opts) {
  HUSK_TRY(check_options(opts));
  std::vector<std::string> servers, search, options, others;
  while (!host_text.empty()) {
    size_t nl = host_text.find('\n');
    std::string_view line = host_text.substr(0, nl);
    host_text.remove_prefix(nl == std::string_view::npos ? host_text.size() : nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    auto f = fields(line);
    if (f.empty() || f[0].front() == '#' || f[0].front() == ';') continue;
    if (f[0] == "nameserver") {
      // Loopback servers cannot answer from the container's namespace; an
      // address glibc could not read either (a zone, garbage) goes too.
      auto ip = f.size() >= 2 ? parse_ip(f[1]) : std::nullopt;
      if (ip && !ip->is_loopback()) servers.push_back("nameserver " + ip->str());
    } else if (f[0] == "search" || f[0] == "domain") {
      if (f.size() >= 2) search.push_back(std::string(f[0]) + " " + join(f, 1));
    } else if (f[0] == "options") {
      if (f.size() >= 2) options.push_back("options " + join(f, 1));
    } else {
      others.push_back(join(f, 0));
    }
  }
  if (!opts.servers.empty()) {
    servers.clear();
    for (const auto& s : opts.servers) servers.push_back("nameserver " + parse_ip(s)->str());
  }
  if (servers.empty()) servers = {"nameserver 8.8.8.8", "nameserver 8.8.4.4"};
  if (!opts.search.empty()) {
    search.clear();
    // docker: `--dns-search .` means no search domains at all.
    if (!(opts.search.size() == 1 && opts.search[0] == ".")) {
      std::string line = "search";
      for (const auto& s : opts.search) line += " " + s;
      search.push_back(std::move(line));
    }
  }
  if (!opts.options.empty()) {
    std::string line = "options";
    for (const auto& s : opts.options) line += " " + s;
    options = {std::move(line)};
  }
  std::string out;
  for (const auto* group : {&servers, &search, &options, &others})
    for (const auto& line : *group) out += line + "\n";
  return out;
}

std::string hosts_file(const std::vector<HostEntry>& entries) {
  std::string out =
      "127.0.0.1\tlocalhost\n"
      "::1\tlocalhost ip6-localhost ip6-loopback\n"
      "fe00::0\tip6-localnet\n"
      "ff00::0\tip6-mcastprefix\n"
      "ff02::1\tip6-allnodes\n"
      "ff02::2\tip6-allrouters\n";
  for (const auto& e : entries) {
    if (e.names.empty()) continue;
    out += e.ip;
    out += '\t';
    for (size_t i = 0; i < e.names.size(); ++i) {
      if (i > 0) out += ' ';
      out += e.names[i];
    }
    out += '\n';
  }
  return out;
}

Result<HostEntry> parse_add_host(std::string_view text, std::string_view gateway) {
  // NAME=IP first (the IP may hold colons), else NAME:IP at the first colon.
  size_t sep = text.find('=');
  if (sep == std::string_view::npos) sep = text.find(':');
  if (sep == std::string_view::npos)
    return fail(0, "--add-host \"{}\": expected NAME:IP or NAME=IP", text);
  std::string_view name = text.substr(0, sep);
  std::string_view addr = text.substr(sep + 1);
  if (!is_hostname(name))
    return fail(0, "--add-host \"{}\": \"{}\" is not a valid host name", text, name);
  if (addr.size() >= 2 && addr.front() == '[' && addr.back() == ']')
    addr = addr.substr(1, addr.size() - 2);
  if (addr == "host-gateway") {
    if (gateway.empty())
      return fail(0, "--add-host \"{}\": host-gateway: the network has no gateway", text);
    addr = gateway;
  }
  auto ip = parse_ip(addr);
  if (!ip) return fail(0, "--add-host \"{}\": \"{}\" is not an IP address", text, addr);
  return HostEntry{ip->str(), {std::string(name)}};
}

Result<void> write_files(const std::string& dir, const std::string& resolv,
                         const std::string& hosts, const std::string& hostname) {
  // Whatever the umask: the container's users read these files.
  HUSK_TRY(make_dirs(dir, 0755));
  HUSK_TRY(write_world_readable(dir + "/resolv.conf", resolv));
  HUSK_TRY(write_world_readable(dir + "/hosts", hosts));
  HUSK_TRY(write_world_readable(dir + "/hostname", hostname + "\n"));
  return ok();
}

Result<void> rewrite_in_place(const std::string& path, std::string_view text) {
  // No O_CREAT: the file is the one bind-mounted into the container; making
  // a new one would change nothing there.
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOFOLLOW));
  if (!fd) return fail_errno("open {}", path);
  return write_all(fd.get(), text).context("write {}", path);
}

}  // namespace husk::net
