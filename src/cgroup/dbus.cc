#include "cgroup/dbus.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "cgroup/fs_manager.h"

namespace husk::cgroup::dbus {
namespace {

// The specification's limits: 64 MiB arrays, 128 MiB messages, 32 nested containers.
constexpr size_t kMaxArray = 64u << 20;
constexpr size_t kMaxMessage = 128u << 20;
constexpr int kMaxDepth = 32;

size_t alignment(char t) {
  switch (t) {
    case 'n':
    case 'q':
      return 2;
    case 'b':
    case 'i':
    case 'u':
    case 'h':
    case 's':
    case 'o':
    case 'a':
      return 4;
    case 'x':
    case 't':
    case 'd':
    case '(':
    case '{':
      return 8;
    default:
      return 1;  // y g v
  }
}

void pad(std::string& buf, size_t align) {
  while (buf.size() % align != 0) buf.push_back('\0');
}

void put_le(std::string& buf, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) buf.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint64_t get_le(std::string_view buf, size_t pos, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i)
    v |= static_cast<uint64_t>(static_cast<uint8_t>(buf[pos + i])) << (8 * i);
  return v;
}

// The end of the complete type that starts at sig[i].
Result<size_t> type_end(std::string_view sig, size_t i, int depth) {
  if (depth > kMaxDepth) return fail(EINVAL, "D-Bus signature {:?} nests too deep", sig);
  if (i >= sig.size()) return fail(EINVAL, "D-Bus signature {:?} ends early", sig);
  char c = sig[i];
  if (c == 'a') return type_end(sig, i + 1, depth + 1);
  if (c == '(' || c == '{') {
    char close = c == '(' ? ')' : '}';
    size_t j = i + 1;
    while (j < sig.size() && sig[j] != close) {
      HUSK_TRY_ASSIGN(j, type_end(sig, j, depth + 1));
    }
    if (j >= sig.size() || j == i + 1)
      return fail(EINVAL, "D-Bus signature {:?} has an empty or open struct", sig);
    return j + 1;
  }
  if (std::strchr("ybnqiuxtdsoghv", c) == nullptr || c == '\0')
    return fail(EINVAL, "D-Bus signature {:?} has an unknown type code {:?}", sig, c);
  return i + 1;
}

Result<void> encode_at(const Value& v, std::string& buf, int depth) {
  if (depth > kMaxDepth) return fail(EINVAL, "D-Bus value nests too deep");
  if (v.sig.empty()) return fail(EINVAL, "D-Bus value without a signature");
  char t = v.sig[0];
  pad(buf, alignment(t));
  switch (t) {
    case 'y':
      put_le(buf, v.num, 1);
      return ok();
    case 'n':
    case 'q':
      put_le(buf, v.num, 2);
      return ok();
    case 'b':
    case 'i':
    case 'u':
    case 'h':
      put_le(buf, v.num, 4);
      return ok();
    case 'x':
    case 't':
    case 'd':
      put_le(buf, v.num, 8);
      return ok();
    case 's':
    case 'o':
      put_le(buf, v.str.size(), 4);
      buf += v.str;
      buf.push_back('\0');
      return ok();
    case 'g':
      if (v.str.size() > 255) return fail(EINVAL, "D-Bus signature {:?} is too long", v.str);
      put_le(buf, v.str.size(), 1);
      buf += v.str;
      buf.push_back('\0');
      return ok();
    case 'v': {
      if (v.items.size() != 1) return fail(EINVAL, "a D-Bus variant holds one value");
      HUSK_TRY(encode_at(Value{"g", 0, v.items[0].sig, {}}, buf, depth + 1));
      return encode_at(v.items[0], buf, depth + 1);
    }
    case 'a': {
      std::string_view elem = std::string_view(v.sig).substr(1);
      size_t len_at = buf.size();
      put_le(buf, 0, 4);
      pad(buf, alignment(elem.empty() ? 'y' : elem[0]));
      size_t start = buf.size();
      for (const auto& e : v.items) {
        if (e.sig != elem) return fail(EINVAL, "D-Bus array of {} holds a {}", elem, e.sig);
        HUSK_TRY(encode_at(e, buf, depth + 1));
      }
      size_t len = buf.size() - start;
      if (len > kMaxArray) return fail(E2BIG, "D-Bus array of {} bytes is too long", len);
      for (int i = 0; i < 4; ++i) buf[len_at + i] = static_cast<char>((len >> (8 * i)) & 0xff);
      return ok();
    }
    case '(':
    case '{':
      for (const auto& f : v.items) HUSK_TRY(encode_at(f, buf, depth + 1));
      return ok();
    default:
      return fail(EINVAL, "D-Bus type {:?} is not supported", t);
  }
}

Result<Value> decode_at(std::string_view sig, std::string_view buf, size_t& pos, int depth) {
  if (depth > kMaxDepth) return fail(EINVAL, "D-Bus value nests too deep");
  if (sig.empty()) return fail(EINVAL, "empty D-Bus signature");
  char t = sig[0];
  size_t a = alignment(t);
  pos = (pos + a - 1) / a * a;
  auto need = [&](size_t n) -> Result<void> {
    if (pos > buf.size() || buf.size() - pos < n)
      return fail(EBADMSG, "D-Bus message ends inside a {} value", sig);
    return ok();
  };
  Value v;
  v.sig = std::string(sig);
  switch (t) {
    case 'y':
      HUSK_TRY(need(1));
      v.num = get_le(buf, pos, 1);
      pos += 1;
      return v;
    case 'n':
    case 'q':
      HUSK_TRY(need(2));
      v.num = get_le(buf, pos, 2);
      pos += 2;
      return v;
    case 'b':
    case 'i':
    case 'u':
    case 'h':
      HUSK_TRY(need(4));
      v.num = get_le(buf, pos, 4);
      pos += 4;
      return v;
    case 'x':
    case 't':
    case 'd':
      HUSK_TRY(need(8));
      v.num = get_le(buf, pos, 8);
      pos += 8;
      return v;
    case 's':
    case 'o':
    case 'g': {
      size_t len;
      if (t == 'g') {
        HUSK_TRY(need(1));
        len = get_le(buf, pos, 1);
        pos += 1;
      } else {
        HUSK_TRY(need(4));
        len = get_le(buf, pos, 4);
        pos += 4;
      }
      HUSK_TRY(need(len + 1));
      if (buf[pos + len] != '\0') return fail(EBADMSG, "D-Bus string is not terminated");
      v.str = std::string(buf.substr(pos, len));
      pos += len + 1;
      return v;
    }
    case 'v': {
      HUSK_TRY_ASSIGN(Value s, decode_at("g", buf, pos, depth + 1));
      HUSK_TRY_ASSIGN(size_t end, type_end(s.str, 0, 0));
      if (end != s.str.size()) return fail(EBADMSG, "D-Bus variant of {:?}", s.str);
      HUSK_TRY_ASSIGN(Value inner, decode_at(s.str, buf, pos, depth + 1));
      v.items.push_back(std::move(inner));
      return v;
    }
    case 'a': {
      HUSK_TRY(need(4));
      size_t len = get_le(buf, pos, 4);
      pos += 4;
      if (len > kMaxArray) return fail(EBADMSG, "D-Bus array of {} bytes", len);
      std::string_view elem = sig.substr(1);
      size_t ea = alignment(elem[0]);
      pos = (pos + ea - 1) / ea * ea;
      HUSK_TRY(need(len));
      size_t end = pos + len;
      while (pos < end) {
        HUSK_TRY_ASSIGN(Value e, decode_at(elem, buf.substr(0, end), pos, depth + 1));
        v.items.push_back(std::move(e));
      }
      return v;
    }
    case '(':
    case '{': {
      HUSK_TRY_ASSIGN(auto fields, split_signature(sig.substr(1, sig.size() - 2)));
      for (const auto& f : fields) {
        HUSK_TRY_ASSIGN(Value e, decode_at(f, buf, pos, depth + 1));
        v.items.push_back(std::move(e));
      }
      return v;
    }
    default:
      return fail(EBADMSG, "D-Bus type {:?} is not supported", t);
  }
}

enum Field : uint8_t {
  kPath = 1,
  kInterface,
  kMember,
  kErrorName,
  kReplySerial,
  kDestination,
  kSender,
  kSignature
};

// Well-known error names callers branch on, as errno values.
int errno_for(std::string_view name) {
  if (name.ends_with(".NoSuchUnit")) return ENOENT;
  if (name.ends_with(".UnitExists")) return EEXIST;
  if (name.ends_with(".AccessDenied")) return EACCES;
  return 0;
}

}  // namespace

Value Value::variant(Value inner) {
  Value v{"v", 0, {}, {}};
  v.items.push_back(std::move(inner));
  return v;
}

Value Value::structure(std::vector<Value> fields) {
  std::string sig = "(";
  for (const auto& f : fields) sig += f.sig;
  sig += ")";
  return {std::move(sig), 0, {}, std::move(fields)};
}

Value Value::array(std::string elem_sig, std::vector<Value> elems) {
  return {"a" + elem_sig, 0, {}, std::move(elems)};
}

Value Value::bytes(const std::vector<uint8_t>& b) {
  std::vector<Value> items;
  for (uint8_t c : b) items.push_back({"y", c, {}, {}});
  return array("y", std::move(items));
}

Result<void> encode(const Value& v, std::string& buf) { return encode_at(v, buf, 0); }

Result<Value> decode(std::string_view sig, std::string_view buf, size_t& pos) {
  return decode_at(sig, buf, pos, 0);
}

Result<std::vector<std::string>> split_signature(std::string_view sig) {
  std::vector<std::string> out;
  for (size_t i = 0; i < sig.size();) {
    HUSK_TRY_ASSIGN(size_t end, type_end(sig, i, 0));
    out.emplace_back(sig.substr(i, end - i));
    i = end;
  }
  return out;
}

std::string Message::signature() const {
  std::string s;
  for (const auto& v : body) s += v.sig;
  return s;
}

std::string Message::error_text() const {
  if (!body.empty() && body[0].sig == "s" && !body[0].str.empty()) return body[0].str;
  return error_name.empty() ? "unknown D-Bus error" : error_name;
}

Result<std::string> serialize(const Message& m) {
  std::string body;
  for (const auto& v : m.body) HUSK_TRY(encode(v, body));
  std::vector<Value> fields;
  auto field = [&](Field code, Value v) {
    fields.push_back(Value::structure({Value{"y", code, {}, {}}, Value::variant(std::move(v))}));
  };
  if (!m.path.empty()) field(kPath, Value::object_path(m.path));
  if (!m.interface.empty()) field(kInterface, Value::string(m.interface));
  if (!m.member.empty()) field(kMember, Value::string(m.member));
  if (!m.error_name.empty()) field(kErrorName, Value::string(m.error_name));
  if (m.reply_serial != 0) field(kReplySerial, Value::u32(m.reply_serial));
  if (!m.destination.empty()) field(kDestination, Value::string(m.destination));
  if (!m.sender.empty()) field(kSender, Value::string(m.sender));
  if (!m.body.empty()) field(kSignature, Value{"g", 0, m.signature(), {}});
  std::string out = "l";
  out.push_back(static_cast<char>(m.type));
  out.push_back(static_cast<char>(m.flags));
  out.push_back('\1');
  put_le(out, body.size(), 4);
  put_le(out, m.serial, 4);
  HUSK_TRY(encode(Value::array("(yv)", std::move(fields)), out));
  pad(out, 8);
  out += body;
  if (out.size() > kMaxMessage) return fail(E2BIG, "D-Bus message of {} bytes", out.size());
  return out;
}

Result<std::optional<size_t>> message_size(std::string_view buf) {
  if (buf.size() < 16) return std::optional<size_t>();
  if (buf[0] != 'l') return fail(EBADMSG, "D-Bus message in big-endian order (not supported)");
  if (buf[3] != 1) return fail(EBADMSG, "D-Bus protocol version {}", static_cast<int>(buf[3]));
  uint64_t fields = get_le(buf, 12, 4), body = get_le(buf, 4, 4);
  uint64_t total = (16 + fields + 7) / 8 * 8 + body;
  if (total > kMaxMessage) return fail(EBADMSG, "D-Bus message of {} bytes", total);
  return std::optional<size_t>(total);
}

Result<Message> parse(std::string_view bytes) {
  HUSK_TRY_ASSIGN(auto size, message_size(bytes));
  if (!size || *size != bytes.size()) return fail(EBADMSG, "D-Bus message has the wrong length");
  Message m;
  m.type = static_cast<Type>(bytes[1]);
  m.flags = static_cast<uint8_t>(bytes[2]);
  m.serial = static_cast<uint32_t>(get_le(bytes, 8, 4));
  size_t pos = 12;
  HUSK_TRY_ASSIGN(Value fields, decode("a(yv)", bytes, pos));
  std::string sig;
  for (const auto& f : fields.items) {
    const Value& v = f.items[1].items[0];
    switch (f.items[0].num) {
      case kPath:
        m.path = v.str;
        break;
      case kInterface:
        m.interface = v.str;
        break;
      case kMember:
        m.member = v.str;
        break;
      case kErrorName:
        m.error_name = v.str;
        break;
      case kReplySerial:
        m.reply_serial = static_cast<uint32_t>(v.num);
        break;
      case kDestination:
        m.destination = v.str;
        break;
      case kSender:
        m.sender = v.str;
        break;
      case kSignature:
        sig = v.str;
        break;
      default:
        break;  // unknown fields are skipped, as the specification says
    }
  }
  pos = (pos + 7) / 8 * 8;
  std::string_view body = bytes.substr(pos);
  HUSK_TRY_ASSIGN(auto types, split_signature(sig));
  size_t bpos = 0;
  for (const auto& t : types) {
    HUSK_TRY_ASSIGN(Value v, decode(t, body, bpos));
    m.body.push_back(std::move(v));
  }
  return m;
}

Result<Connection> Connection::system() {
  std::string path = "/run/dbus/system_bus_socket";
  if (const char* env = std::getenv("DBUS_SYSTEM_BUS_ADDRESS"); env != nullptr && *env) {
    // Only the first unix:path= address (the form every system bus uses).
    std::string_view a = env;
    a = a.substr(0, a.find(';'));
    if (!a.starts_with("unix:"))
      return fail(EINVAL, "DBUS_SYSTEM_BUS_ADDRESS {:?}: not a unix address", env);
    size_t at = a.find("path=");
    if (at == std::string_view::npos)
      return fail(EINVAL, "DBUS_SYSTEM_BUS_ADDRESS {:?}: no path=", env);
    a = a.substr(at + 5);
    path = std::string(a.substr(0, a.find(',')));
  }
  return open(path, true);
}

Result<Connection> Connection::open(const std::string& socket_path, bool hello) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof addr.sun_path)
    return fail(ENAMETOOLONG, "D-Bus socket {}", socket_path);
  std::memcpy(addr.sun_path, socket_path.c_str(), socket_path.size() + 1);
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return fail_errno("socket");
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0)
    return fail_errno("connect to D-Bus at {}", socket_path);
  return over(std::move(fd), hello);
}

Result<Connection> Connection::over(UniqueFd fd, bool hello) {
  Connection c(std::move(fd));
  HUSK_TRY(c.authenticate());
  if (hello) {
    Message m{.path = "/org/freedesktop/DBus",
              .interface = "org.freedesktop.DBus",
              .member = "Hello",
              .destination = "org.freedesktop.DBus"};
    HUSK_TRY(c.call(std::move(m)).context("D-Bus Hello"));
  }
  return c;
}

Result<void> Connection::write_all(std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd_.get(), data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail_errno("write to D-Bus");
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return ok();
}

Result<void> Connection::authenticate() {
  // EXTERNAL: the kernel tells the bus our uid; we name it in hex of its decimal digits.
  std::string uid = std::to_string(::geteuid()), hex;
  for (char c : uid) hex += fmt::format("{:02x}", c);
  HUSK_TRY(write_all(std::string("\0AUTH EXTERNAL ", 15) + hex + "\r\n"));
  int64_t deadline = monotonic_ms() + 25000;
  std::string line;
  for (;;) {
    if (size_t nl = in_.find("\r\n"); nl != std::string::npos) {
      line = in_.substr(0, nl);
      in_.erase(0, nl + 2);
      break;
    }
    pollfd p{fd_.get(), POLLIN, 0};
    int left = static_cast<int>(std::max<int64_t>(0, deadline - monotonic_ms()));
    int r = ::poll(&p, 1, left);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return fail_errno("D-Bus authentication: poll");
    if (r == 0) return fail(ETIMEDOUT, "D-Bus authentication: no answer");
    char buf[512];
    ssize_t n = ::read(fd_.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail_errno("D-Bus authentication: read");
    if (n == 0) return fail(ECONNRESET, "D-Bus authentication: the bus closed the connection");
    in_.append(buf, static_cast<size_t>(n));
    if (in_.size() > 4096) return fail(EPROTO, "D-Bus authentication: answer too long");
  }
  if (!line.starts_with("OK ")) return fail(EACCES, "D-Bus authentication refused: {:?}", line);
  return write_all("BEGIN\r\n");
}

Result<Message> Connection::read_message(int64_t deadline_ms) {
  for (;;) {
    HUSK_TRY_ASSIGN(auto size, message_size(in_));
    if (size && in_.size() >= *size) {
      auto m = parse(std::string_view(in_).substr(0, *size));
      in_.erase(0, *size);
      return m;
    }
    pollfd p{fd_.get(), POLLIN, 0};
    int left = static_cast<int>(std::max<int64_t>(0, deadline_ms - monotonic_ms()));
    int r = ::poll(&p, 1, left);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return fail_errno("poll D-Bus");
    if (r == 0) return fail(ETIMEDOUT, "no answer on D-Bus");
    char buf[16384];
    ssize_t n = ::read(fd_.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail_errno("read from D-Bus");
    if (n == 0) return fail(ECONNRESET, "the bus closed the connection");
    in_.append(buf, static_cast<size_t>(n));
  }
}

Result<void> Connection::send(Message m) {
  m.serial = ++serial_;
  m.flags |= kNoReplyExpected;
  HUSK_TRY_ASSIGN(std::string bytes, serialize(m));
  return write_all(bytes);
}

Result<Message> Connection::call(Message m, int timeout_ms) {
  m.serial = ++serial_;
  m.type = Type::kCall;
  HUSK_TRY_ASSIGN(std::string bytes, serialize(m));
  HUSK_TRY(write_all(bytes));
  int64_t deadline = monotonic_ms() + timeout_ms;
  for (;;) {
    HUSK_TRY_ASSIGN(Message r, read_message(deadline));
    if (r.type == Type::kSignal) {
      signals_.push_back(std::move(r));
      continue;
    }
    if (r.reply_serial != m.serial) continue;
    if (r.type == Type::kError) {
      Error e{errno_for(r.error_name), r.error_text()};
      e.hide_code = true;
      return std::unexpected(std::move(e));
    }
    return r;
  }
}

Result<Message> Connection::wait_signal(const std::function<bool(const Message&)>& match,
                                        int timeout_ms) {
  for (auto it = signals_.begin(); it != signals_.end(); ++it) {
    if (match(*it)) {
      Message m = std::move(*it);
      signals_.erase(it);
      return m;
    }
  }
  int64_t deadline = monotonic_ms() + timeout_ms;
  for (;;) {
    HUSK_TRY_ASSIGN(Message r, read_message(deadline));
    if (r.type == Type::kSignal && match(r)) return r;
  }
}

}  // namespace husk::cgroup::dbus
