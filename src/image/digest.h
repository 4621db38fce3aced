// Content digests (OCI image spec, "descriptor" digests): `sha256:<64 hex>`,
// parsed strictly, and a streaming SHA-256 through OpenSSL's libcrypto.
//
//   HUSK_TRY_ASSIGN(Digest want, Digest::parse(desc["digest"]));
//   Sha256 h;
//   h.update(chunk);            // as the bytes stream by
//   if (h.finish() != want) ... // the layer is corrupt
//
// Only sha256 is accepted: it is what every registry and engine writes, and
// the spec's sha512 is optional. A digest is hostile input: anything but
// lowercase hex of the exact length is refused, so a digest can name a file.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "base/error.h"

namespace husk::image {

class Digest {
 public:
  Digest() = default;
  // `sha256:` + 64 lowercase hex digits; the error names the reason.
  static Result<Digest> parse(std::string_view text);
  static Digest from_bytes(const std::array<uint8_t, 32>& bytes);

  const std::string& str() const { return text_; }        // "sha256:ab12..."
  std::string_view hex() const { return std::string_view(text_).substr(7); }
  bool empty() const { return text_.empty(); }
  friend bool operator==(const Digest&, const Digest&) = default;
  friend auto operator<=>(const Digest&, const Digest&) = default;

 private:
  std::string text_;
};

// SHA-256 of a stream. Not copyable; finish() once.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void update(std::span<const uint8_t> bytes);
  void update(std::string_view bytes) {
    update({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()});
  }
  Digest finish();

 private:
  struct State;
  State* state_;
};

Digest sha256_of(std::string_view bytes);

}  // namespace husk::image
