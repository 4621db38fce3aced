#include "image/digest.h"

#include "image/lazy_libs.h"  // <openssl/evp.h>, loaded on first use

#include <cstdlib>

namespace husk::image {

Result<Digest> Digest::parse(std::string_view text) {
  constexpr std::string_view kAlgo = "sha256:";
  if (!text.starts_with(kAlgo)) {
    auto colon = text.find(':');
    if (colon == std::string_view::npos) return fail_quiet(EINVAL, "digest \"{}\": no algorithm", text);
    return fail_quiet(EINVAL, "digest \"{}\": unsupported algorithm \"{}\"", text, text.substr(0, colon));
  }
  std::string_view hex = text.substr(kAlgo.size());
  if (hex.size() != 64) return fail_quiet(EINVAL, "digest \"{}\": not 64 hex digits", text);
  for (char c : hex)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
      return fail_quiet(EINVAL, "digest \"{}\": not lowercase hex", text);
  Digest d;
  d.text_ = std::string(text);
  return d;
}

Digest Digest::from_bytes(const std::array<uint8_t, 32>& bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  Digest d;
  d.text_.reserve(7 + 64);
  d.text_ = "sha256:";
  for (uint8_t b : bytes) {
    d.text_.push_back(kHex[b >> 4]);
    d.text_.push_back(kHex[b & 15]);
  }
  return d;
}

struct Sha256::State {
  EVP_MD_CTX* ctx;
};

Sha256::Sha256() : state_(new State{EVP_MD_CTX_new()}) {
  // Only allocation can fail here; without a context nothing can be verified.
  if (state_->ctx == nullptr || EVP_DigestInit_ex(state_->ctx, EVP_sha256(), nullptr) != 1)
    std::abort();
}

Sha256::~Sha256() {
  EVP_MD_CTX_free(state_->ctx);
  delete state_;
}

void Sha256::update(std::span<const uint8_t> bytes) {
  if (!bytes.empty()) EVP_DigestUpdate(state_->ctx, bytes.data(), bytes.size());
}

Digest Sha256::finish() {
  std::array<uint8_t, 32> out{};
  unsigned int len = 0;
  EVP_DigestFinal_ex(state_->ctx, out.data(), &len);
  return Digest::from_bytes(out);
}

Digest sha256_of(std::string_view bytes) {
  Sha256 h;
  h.update(bytes);
  return h.finish();
}

}  // namespace husk::image
