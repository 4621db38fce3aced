// `husk-oci exec --process FILE`: a process.json on its own.
#include "fuzz_util.h"
#include "spec/config.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  husk::fuzz::quiet_logs();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace husk;
  auto p = spec::parse_process_json(fuzz::as_text(data, size));
  if (p) {
    if (p->args.empty()) fuzz::broken("a process without args passed validation");
    if (p->cwd.empty() || p->cwd.front() != '/') fuzz::broken("a relative cwd passed validation");
  } else if (!p.error().message.starts_with("process.json: ")) {
    fuzz::broken("a process.json error that does not name the document");
  }
  return 0;
}
