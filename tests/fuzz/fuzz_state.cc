// <root>/<id>/state.json: written by husk, read back by every later command
// (state, start, kill, delete, exec). A file that is not what save() wrote must
// be an error, never a crash.
#include "fuzz_util.h"
#include "runtime/state.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace husk;
  auto s = runtime::parse_state_json(fuzz::as_text(data, size));
  if (s) (void)runtime::hook_state_json(*s, "running");
  return 0;
}
