#include "cli/husk/volume_run.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <utility>

namespace husk::cli {

Result<std::vector<VolumeMount>> check_volume_flags(const VolumeFlags& f) {
  HUSK_TRY_ASSIGN(auto mounts, parse_volume_flags(f));
  for (const auto& m : mounts) {
    if (m.kind != VolumeMount::Kind::kBind) continue;
    struct stat st {};
    if (::stat(m.source.c_str(), &st) < 0)
      return fail_errno("{}: bind source path {:?}", m.flag, m.source);
  }
  return mounts;
}

Result<RunVolumes> RunVolumes::prepare(std::vector<VolumeMount> mounts,
                                       const std::string& store_root, const std::string& id,
                                       const std::map<std::string, std::string>& known) {
  RunVolumes r;
  r.specs_ = std::move(mounts);
  for (const auto& m : r.specs_) {
    if (m.kind != VolumeMount::Kind::kVolume) {
      r.names_.emplace_back();
      r.config_mounts_.push_back(to_config_mount(m, m.source));
      continue;
    }
    if (!r.store_) r.store_.emplace(store_root);
    bool anonymous = m.source.empty();
    // An earlier start's volume is mounted again (made again, empty, if
    // someone removed it meanwhile: create is idempotent by name).
    auto earlier = anonymous ? known.find(m.target) : known.end();
    std::string name = earlier != known.end() ? earlier->second : m.source;
    bool existed = !name.empty() && r.store_->get(name).has_value();
    HUSK_TRY_ASSIGN(storage::Volume v,
                    r.store_->create(name, {}, anonymous).context("{}", m.flag));
    if (anonymous) {
      r.anonymous_[m.target] = v.name;
      if (!existed) r.made_.push_back(v.name);
    }
    HUSK_TRY_ASSIGN(storage::VolumeUse use, r.store_->use(v.name, id).context("{}", m.flag));
    r.uses_.push_back(std::move(use));
    r.names_.push_back(v.name);
    r.config_mounts_.push_back(to_config_mount(m, v.mountpoint));
  }
  return r;
}

RunVolumes::RunVolumes(RunVolumes&& o) noexcept
    : store_(std::move(o.store_)),
      specs_(std::move(o.specs_)),
      names_(std::move(o.names_)),
      config_mounts_(std::move(o.config_mounts_)),
      uses_(std::move(o.uses_)),
      anonymous_(std::move(o.anonymous_)),
      made_(std::move(o.made_)),
      finished_(std::exchange(o.finished_, true)) {}

RunVolumes::~RunVolumes() { abandon(); }

Result<void> RunVolumes::fill(const std::vector<std::string>& lowers) {
  for (size_t i = 0; i < specs_.size(); ++i) {
    const auto& m = specs_[i];
    if (m.kind != VolumeMount::Kind::kVolume || m.nocopy) continue;
    HUSK_TRY(store_->fill(names_[i], lowers, m.target).context("{}", m.flag));
  }
  return ok();
}

Result<void> RunVolumes::hand_to(pid_t pid) {
  for (auto& u : uses_) HUSK_TRY(u.hand_to(pid));
  return ok();
}

void RunVolumes::release() {
  finished_ = true;
  for (auto& u : uses_) u.release();
}

void RunVolumes::finish() {
  std::vector<std::string> all;
  for (const auto& [target, name] : anonymous_) all.push_back(name);
  end_uses_and_remove(all);
}

void RunVolumes::abandon() { end_uses_and_remove(made_); }

void RunVolumes::end_uses_and_remove(const std::vector<std::string>& names) {
  if (finished_ || !store_) return;
  finished_ = true;
  for (auto& u : uses_) u.end();
  for (const auto& name : names) {
    if (auto r = store_->remove(name); !r && r.error().code != ENOENT)
      std::fprintf(stderr, "husk: %s\n", r.error().what().c_str());
  }
}

}  // namespace husk::cli
