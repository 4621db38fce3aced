// <root>/containers/<name>/{record,status}.json: written by husk, read by every husk verb
// and the monitor. A file that is not what husk wrote must be an error, never a crash; what
// parses must write back to text that parses the same.
#include "fuzz_util.h"
#include "manage/containers.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace husk;
  std::string_view text = fuzz::as_text(data, size);
  if (auto r = manage::parse_record(text)) {
    auto again = manage::parse_record(manage::record_json(*r));
    if (!again || again->name != r->name || again->args != r->args) __builtin_trap();
  }
  if (auto s = manage::parse_status(text)) {
    auto again = manage::parse_status(manage::status_json(*s));
    if (!again || again->state != s->state || again->exit_code != s->exit_code) __builtin_trap();
  }
  return 0;
}
