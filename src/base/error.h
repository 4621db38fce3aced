// Error values: husk reports failure by value, never by exception (STYLE.md §3).
//
//   Result<UniqueFd> open_rootfs(...);
//   HUSK_TRY(mount(...).context("mount {}", dst));
//   HUSK_TRY_ASSIGN(auto fd, open_rootfs(...));
//
// An Error carries the errno (0 when the failure is not a system call's), the
// context chain (outermost first) and where it was made. what() renders the
// one line users see: `create "web": mount "/proc": Operation not permitted`.
#pragma once

#include <cerrno>
#include <expected>
#include <source_location>
#include <string>
#include <string_view>
#include <utility>

#include <fmt/format.h>

namespace husk {

struct Error {
  int code = 0;
  std::string message;
  std::source_location where = std::source_location::current();
  // The errno is for callers to branch on, not for the user to read (e.g.
  // `container "x" does not exist` is ENOENT but says it better itself).
  bool hide_code = false;

  // The full one-line text: context chain, then strerror(code) if any.
  std::string what() const;
  // Prefix another layer of context: "outer: inner".
  void wrap(std::string_view outer);
};

// A format string that also records the caller's location.
template <class... Args>
struct FormatAt {
  fmt::format_string<Args...> fmt;
  std::source_location where;
  template <class S>
  consteval FormatAt(const S& s, std::source_location w = std::source_location::current())
      : fmt(s), where(w) {}
};

// Error with an explicit errno (0 for "not a system error").
template <class... Args>
[[nodiscard]] std::unexpected<Error> fail(int code, FormatAt<std::type_identity_t<Args>...> f,
                                          Args&&... args) {
  return std::unexpected(
      Error{code, fmt::format(f.fmt, std::forward<Args>(args)...), f.where});
}

// Error with an errno that callers can test but what() does not print.
template <class... Args>
[[nodiscard]] std::unexpected<Error> fail_quiet(int code, FormatAt<std::type_identity_t<Args>...> f,
                                                Args&&... args) {
  return std::unexpected(
      Error{code, fmt::format(f.fmt, std::forward<Args>(args)...), f.where, true});
}

// Error from the current errno; call right after the failing syscall.
template <class... Args>
[[nodiscard]] std::unexpected<Error> fail_errno(FormatAt<std::type_identity_t<Args>...> f,
                                                Args&&... args) {
  int code = errno;
  return std::unexpected(
      Error{code, fmt::format(f.fmt, std::forward<Args>(args)...), f.where});
}

template <class T>
class [[nodiscard]] Result : public std::expected<T, Error> {
 public:
  using std::expected<T, Error>::expected;
  Result(std::expected<T, Error>&& e) : std::expected<T, Error>(std::move(e)) {}

  // Adds a layer of context to an error; passes a value through unchanged.
  template <class... Args>
  Result context(fmt::format_string<Args...> f, Args&&... args) && {
    if (!this->has_value()) this->error().wrap(fmt::format(f, std::forward<Args>(args)...));
    return std::move(*this);
  }
};

// Success of a Result<void>.
inline Result<void> ok() { return {}; }

}  // namespace husk

#define HUSK_CONCAT_INNER(a, b) a##b
#define HUSK_CONCAT(a, b) HUSK_CONCAT_INNER(a, b)

// Evaluates a Result; on error returns it from the enclosing function. As an
// expression it yields the value: `auto n = HUSK_TRY(read_int(fd));`
#define HUSK_TRY(expr)                                                     \
  ({                                                                       \
    auto&& husk_try_r_ = (expr);                                           \
    if (!husk_try_r_) return std::unexpected(std::move(husk_try_r_).error()); \
    std::move(husk_try_r_).value();                                        \
  })

// HUSK_TRY_ASSIGN(auto fd, open(...)); for types that are move-only or when a
// declaration reads better than an expression.
#define HUSK_TRY_ASSIGN(lhs, expr) HUSK_TRY_ASSIGN_IMPL(HUSK_CONCAT(husk_r_, __LINE__), lhs, expr)
#define HUSK_TRY_ASSIGN_IMPL(tmp, lhs, expr)                 \
  auto tmp = (expr);                                         \
  if (!tmp) return std::unexpected(std::move(tmp).error()); \
  lhs = std::move(tmp).value()
