// Attaching to a detached container (husk attach, husk start -a): the monitor
// (monitor.h) serves a SOCK_SEQPACKET socket, attach.sock in its run
// directory (/run/husk-monitor/<id>, 0700, root's: no one else can connect).
// Every message is one kind byte and its payload, delivered whole:
//
//   client -> monitor   kInput  bytes for the container's stdin (the pty, or
//                               the -i pipe); at most kMaxInput bytes
//                       kResize rows, cols: two uint16, host order (-t only)
//   monitor -> client   kStdout bytes, kStderr bytes: what the container
//                               writes (a terminal's output is all kStdout)
//                       kExit   the exit code, an int32, host order; the
//                               monitor closes the connection after it
//
// Nothing written before a client connects is replayed (docker's attach
// without --logs); `husk start -a` hands the monitor a connected socket
// before the program starts, so it misses nothing. Output never waits for a
// slow client: what its socket does not take is queued, and a client that
// falls more than kMaxQueued behind is cut off (the log has everything).
// Input does wait: a client's messages are read only once the last input is
// in the container's stdin.
#pragma once

#include <poll.h>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "base/unique_fd.h"

namespace husk::manage {

enum class AttachMsg : uint8_t { kInput = 0, kResize = 1, kStdout = 2, kStderr = 3, kExit = 4 };

inline constexpr size_t kMaxInput = 16384;
inline constexpr size_t kMaxQueued = 4 << 20;

// run_dir + "/attach.sock".
std::string attach_socket_path(const std::string& run_dir);

// The monitor's side: the listening socket and the clients attached to the
// current run of the container.
class AttachHub {
 public:
  // Listens on attach_socket_path(run_dir); run_dir exists, 0700.
  Result<void> listen(const std::string& run_dir);
  // A client connected already (husk start -a's end of a socketpair).
  void adopt(UniqueFd client);

  // Where input goes (the pty master, or the -i pipe's write end; -1: none,
  // input is read and dropped) and where window sizes go (the master; -1:
  // none). Neither is owned; both must be non-blocking.
  void set_input(int fd) { input_fd_ = fd; }
  void set_terminal(int master) { terminal_fd_ = master; }

  // One poll round: append() adds the hub's descriptors to p; handle() takes
  // their results (p as poll returned it, from the index append() started at).
  void append(std::vector<pollfd>& p);
  void handle(const std::vector<pollfd>& p, size_t first);

  // Sends a chunk of output to every client.
  void send(AttachMsg kind, std::string_view bytes);
  // The run ended: each client gets what is queued and the exit code (for at
  // most a second in all), then its connection is closed.
  void finish(int exit_code);

  bool has_clients() const { return !clients_.empty(); }

 private:
  struct Client {
    UniqueFd fd;
    std::deque<std::string> queued;  // whole messages its socket did not take yet
    size_t queued_bytes = 0;
  };
  bool flush(Client& c);
  void read_from(Client& c);
  void drop_closed();

  UniqueFd listener_;
  std::vector<Client> clients_;
  std::string input_;  // read from a client, not yet in the container's stdin
  size_t input_off_ = 0;
  int input_fd_ = -1, terminal_fd_ = -1;
  size_t polled_clients_ = 0;
  bool polled_input_ = false;
};

// The client's side.

// docker's --detach-keys: comma-separated keys, each a single character or
// ctrl-X (X one of a-z @ [ \ ] ^ _), e.g. "ctrl-p,ctrl-q", the default.
// "" turns detaching off. Errors name the key: `--detach-keys "ctrl-1": ...`.
Result<std::string> parse_detach_keys(std::string_view spec);

// Watches typed input for the detach sequence. Bytes that begin the sequence
// are held back until it is complete (then they are dropped and the rest of
// the chunk with them) or broken (then they are passed on).
class DetachMatcher {
 public:
  explicit DetachMatcher(std::string sequence) : seq_(std::move(sequence)) {}
  // Returns what to pass on; sets *detached once the whole sequence came.
  std::string feed(std::string_view in, bool* detached);

 private:
  std::string seq_;
  size_t matched_ = 0;
};

struct AttachOptions {
  bool forward_stdin = false;  // the container keeps stdin open and the user wants it
  bool tty = false;            // the container has a terminal: raw mode, window sizes
  std::string detach_keys;     // parse_detach_keys' result; empty: none
  // Without a terminal, signals the client gets go to the container
  // (docker's --sig-proxy); unset, they end the session as a detach.
  std::function<void(int sig)> proxy_signal;
};

struct AttachEnd {
  enum class Kind { kExited, kDetached, kLost } kind = Kind::kLost;
  int code = 0;  // kExited: the container's exit code
};

// Connects to the monitor of a running container.
Result<UniqueFd> connect_attach(const std::string& run_dir);
// Copies the container's output to stdout/stderr, and stdin to the
// container, until it exits (kExited), the detach keys are typed
// (kDetached), or the monitor closes the connection without an exit code
// (kLost: it was killed, or the run ended before the client was served).
Result<AttachEnd> attach_session(int sock, const AttachOptions& o);

}  // namespace husk::manage
