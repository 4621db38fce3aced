// nft's JSON listings (libnftables with NFT_CTX_OUTPUT_JSON) read back into
// the plain values of net/firewall_impl.h. nlohmann-json in its
// non-throwing form: every access checks the type first.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "net/firewall_impl.h"

namespace husk::net {

namespace {

using Json = nlohmann::json;

std::string str_of(const Json& j, const char* key) {
  if (!j.is_object()) return {};
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

uint64_t uint_of(const Json& j, const char* key) {
  if (!j.is_object()) return 0;
  auto it = j.find(key);
  return it != j.end() && it->is_number_unsigned() ? it->get<uint64_t>() : 0;
}

// An element key as nft's text syntax writes it: "husk0" quoted, tcp . 8080.
std::string key_text(const Json& j) {
  if (j.is_string()) return nft_quoted(j.get<std::string>());
  if (j.is_number_unsigned()) return std::to_string(j.get<uint64_t>());
  if (j.is_object()) {
    auto c = j.find("concat");
    if (c != j.end() && c->is_array()) {
      std::string out;
      for (const Json& part : *c) {
        if (!out.empty()) out += " . ";
        // Inside a concatenation the protocol is a bare word.
        out += part.is_string() ? part.get<std::string>() : key_text(part);
      }
      return out;
    }
  }
  return j.dump();
}

// {"jump": {"target": "x"}} -> "jump x"; {"drop": null} -> "drop".
std::string verdict_text(const Json& j) {
  if (!j.is_object() || j.size() != 1) return {};
  auto it = j.begin();
  std::string target = str_of(it.value(), "target");
  return target.empty() ? it.key() : it.key() + " " + target;
}

NftElement element_of(const std::string& set, const Json& e) {
  NftElement out;
  out.map = set;
  const Json* key = &e;
  if (e.is_array() && e.size() == 2) {  // map: [key, verdict]
    key = &e[0];
    out.verdict = verdict_text(e[1]);
  }
  // A key with a comment: {"elem": {"val": KEY, "comment": "..."}}.
  if (key->is_object() && key->contains("elem")) {
    const Json& inner = (*key)["elem"];
    out.comment = str_of(inner, "comment");
    if (inner.is_object() && inner.contains("val")) key = &inner["val"];
  }
  out.key = key_text(*key);
  return out;
}

NftRule rule_of(const Json& r) {
  NftRule out;
  out.chain = str_of(r, "chain");
  out.handle = uint_of(r, "handle");
  out.comment = str_of(r, "comment");
  auto expr = r.find("expr");
  if (expr == r.end() || !expr->is_array() || expr->empty()) return out;
  const Json& first = expr->front();
  if (first.is_object() && first.contains("match")) {
    const Json& m = first["match"];
    if (m.is_object() && m.contains("left") && str_of(m, "op") == "==") {
      std::string key = str_of(
          m["left"].is_object() && m["left"].contains("meta") ? m["left"]["meta"] : Json(), "key");
      if (!key.empty() && m.contains("right") && m["right"].is_string()) {
        out.meta_key = key;
        out.meta_value = m["right"].get<std::string>();
      }
    }
  }
  out.verdict = verdict_text(expr->back());
  return out;
}

}  // namespace

const NftElement* NftListing::find(std::string_view set, std::string_view key) const {
  auto it = sets.find(std::string(set));
  if (it == sets.end()) return nullptr;
  for (const NftElement& e : it->second)
    if (e.key == key) return &e;
  return nullptr;
}

Result<NftListing> parse_listing(std::string_view json, std::string_view family,
                                 std::string_view name) {
  NftListing out;
  if (json.find_first_not_of(" \n\t") == std::string_view::npos) return out;
  Json j = Json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object() || !j.contains("nftables") || !j["nftables"].is_array())
    return fail(EINVAL, "nft listing of table {} {}: not nft's JSON", family, name);
  for (const Json& obj : j["nftables"]) {
    if (!obj.is_object() || obj.size() != 1) continue;
    auto it = obj.begin();
    const std::string& kind = it.key();
    const Json& v = it.value();
    if (str_of(v, "family") != family) continue;
    if (kind == "table") {
      if (str_of(v, "name") != name) continue;
      out.exists = true;
      out.handle = uint_of(v, "handle");
      continue;
    }
    if (str_of(v, "table") != name) continue;
    if (kind == "chain") {
      out.chains.emplace(str_of(v, "name"), 0);
      out.exists = true;  // `list chain` shows no table object
    } else if (kind == "set" || kind == "map") {
      std::string set = str_of(v, "name");
      out.exists = true;
      std::vector<NftElement>& elems = out.sets[set];
      auto e = v.find("elem");
      if (e != v.end() && e->is_array())
        for (const Json& x : *e) elems.push_back(element_of(set, x));
    } else if (kind == "rule") {
      NftRule r = rule_of(v);
      ++out.chains[r.chain];
      out.rules.push_back(std::move(r));
    }
  }
  return out;
}

}  // namespace husk::net
