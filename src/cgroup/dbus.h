// A small D-Bus client: just what the systemd cgroup driver needs (method
// calls to org.freedesktop.systemd1 and its JobRemoved signal) over the
// system bus socket, with EXTERNAL authentication. Measured against sd-bus
// (docs/cgroups.md): it keeps husk-oci static with no dlopen, and a call costs
// the same two socket round trips.
//
// Values are a small tree typed by their D-Bus signature; marshalling is the
// specification's little-endian wire format with its alignment rules. Pure
// (encode/decode) apart from Connection.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "base/unique_fd.h"

namespace husk::cgroup::dbus {

// One value with its complete single-type signature ("t", "as", "(sv)", "v").
// Numbers and booleans live in num, strings, object paths and signatures in
// str; array elements, struct fields and a variant's one value in items.
struct Value {
  std::string sig;
  uint64_t num = 0;
  std::string str;
  std::vector<Value> items;

  static Value u64(uint64_t v) { return {"t", v, {}, {}}; }
  static Value u32(uint32_t v) { return {"u", v, {}, {}}; }
  static Value boolean(bool v) { return {"b", v ? 1u : 0u, {}, {}}; }
  static Value string(std::string s) { return {"s", 0, std::move(s), {}}; }
  static Value object_path(std::string s) { return {"o", 0, std::move(s), {}}; }
  static Value variant(Value inner);
  static Value structure(std::vector<Value> fields);
  static Value array(std::string elem_sig, std::vector<Value> elems);
  static Value bytes(const std::vector<uint8_t>& b);

  bool operator==(const Value&) const = default;
};

// Appends v to buf (whose offset 0 is the message's start: alignment counts from there).
Result<void> encode(const Value& v, std::string& buf);
// Reads one value of the single complete type sig from buf at pos.
Result<Value> decode(std::string_view sig, std::string_view buf, size_t& pos);
// Splits a signature into its complete types: "sa(sv)" -> "s", "a(sv)".
Result<std::vector<std::string>> split_signature(std::string_view sig);

enum class Type : uint8_t { kInvalid = 0, kCall = 1, kReturn = 2, kError = 3, kSignal = 4 };
inline constexpr uint8_t kNoReplyExpected = 0x1;

struct Message {
  Type type = Type::kCall;
  uint8_t flags = 0;
  uint32_t serial = 0;
  std::string path, interface, member, error_name, destination, sender;
  uint32_t reply_serial = 0;
  std::vector<Value> body;  // the signature is the body values' signatures

  std::string signature() const;
  // An error reply's text: its name, then its message when there is one.
  std::string error_text() const;
};

Result<std::string> serialize(const Message& m);
// The size of the message starting buf, once its fixed header is there
// (nullopt: fewer than 16 bytes yet); an error for a malformed header.
Result<std::optional<size_t>> message_size(std::string_view buf);
Result<Message> parse(std::string_view bytes);

// A connection to a bus (or to systemd's private socket) at a unix socket.
class Connection {
 public:
  // The system bus: $DBUS_SYSTEM_BUS_ADDRESS ("unix:path=...") or
  // /run/dbus/system_bus_socket. Authenticates and says Hello.
  static Result<Connection> system();
  static Result<Connection> open(const std::string& socket_path, bool hello);
  // Over an already connected socket (tests hand one end of a socketpair).
  static Result<Connection> over(UniqueFd fd, bool hello);

  // Sends a call and waits for its reply; an error reply becomes an Error
  // whose message is the bus's name and text. Signals read meanwhile are kept.
  Result<Message> call(Message m, int timeout_ms = 25000);
  // Sends without waiting (kNoReplyExpected is set).
  Result<void> send(Message m);
  // Waits for a signal for which match returns true, checking those already kept first.
  Result<Message> wait_signal(const std::function<bool(const Message&)>& match, int timeout_ms);

  int fd() const { return fd_.get(); }

 private:
  explicit Connection(UniqueFd fd) : fd_(std::move(fd)) {}
  Result<void> authenticate();
  Result<Message> read_message(int64_t deadline_ms);
  Result<void> write_all(std::string_view data);

  UniqueFd fd_;
  uint32_t serial_ = 0;
  std::string in_;
  std::deque<Message> signals_;
};

}  // namespace husk::cgroup::dbus
