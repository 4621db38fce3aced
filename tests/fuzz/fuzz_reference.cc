// Image references: typed by users, and read back from image names in archives and the
// store. Any text must give a reference or an error, never a crash; a parsed reference's
// canonical and familiar forms must parse back to the same reference.
#include "fuzz_util.h"
#include "image/reference.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace husk;
  auto r = image::Reference::parse(fuzz::as_text(data, size));
  if (!r) return 0;
  if (r->name().size() > image::kMaxNameLength) fuzz::broken("name over 255 characters");
  if (r->tag().size() > image::kMaxTagLength) fuzz::broken("tag over 128 characters");
  if (r->tag().empty() && !r->digest()) fuzz::broken("neither tag nor digest");
  auto again = image::Reference::parse(r->str());
  if (!again || *again != *r) fuzz::broken("str() does not parse back to the same reference");
  auto familiar = image::Reference::parse(r->familiar());
  if (!familiar || *familiar != *r) fuzz::broken("familiar() does not parse back");
  if (r->registry_host().empty() || r->path().empty()) fuzz::broken("empty host or path");
  return 0;
}
