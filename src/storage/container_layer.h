// The container's own layer: the directories an overlayfs root needs
// (config::RootOverlay), made before the container is created and removed
// once it is gone, as net::Attachment does for the network.
//
//   <root>/<id>/owner    "PID START_TIME": the process the layer belongs to,
//                        husk first, then (hand_to) the container's init
//   <root>/<id>/upper    the container's writes (absent for a read-only root)
//   <root>/<id>/work     overlayfs' work directory, on the same filesystem
//   <root>/<id>/merged   the empty directory the overlay is mounted on, in the
//                        container's mount namespace only (linux/overlay_root.h)
//
// <root> and <root>/<id> are 0700: the upper holds the container's files,
// setuid ones included, which no other host user may reach. After a kill -9
// of husk the layer stays until its owner is gone (the container may still
// run); then reclaim_stale(), called by the next `husk run`, removes it.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "base/error.h"

namespace husk::storage {

// Throwaway layers (husk run --rootfs DIR:O): a reboot makes them meaningless.
inline constexpr const char* kRunLayerRoot = "/run/husk-storage";

struct LayerPaths {
  std::string dir, upper, work, merged;
};
LayerPaths layer_paths(const std::string& root, const std::string& id);

// Checks that path can be a lower layer (exists, a directory); returns it
// made absolute and normal. Errors: `"/x": No such file or directory`.
Result<std::string> check_lower(const std::string& path);

struct LayerOptions {
  std::string root = kRunLayerRoot;
  std::string id;          // the container id (a file name: checked)
  std::string lower_root;  // the top lower layer: the upper's root takes its mode and owner
  bool writable = true;    // false: no upper or work (a read-only overlay)
  // A container started again (husk start, a restart): a dead owner's layer
  // is kept as it is, writes and all, instead of replaced.
  bool reuse = false;
};

class ContainerLayer {
 public:
  // Makes the directories, owned by this process. A layer of the same id
  // left by a dead owner is replaced; a live one is an error (EBUSY).
  static Result<ContainerLayer> prepare(const LayerOptions& o);
  ContainerLayer(ContainerLayer&& o) noexcept;
  ContainerLayer& operator=(ContainerLayer&&) = delete;
  ~ContainerLayer();  // remove() unless released

  const LayerPaths& paths() const { return paths_; }
  // The layer now belongs to pid (the container's init, once it waits in its
  // namespaces): a kill -9 of husk leaves it to the container while it runs.
  Result<void> hand_to(pid_t pid);
  // Removes the whole layer; idempotent. Call once the container is gone.
  Result<void> remove();
  // Keeps the directories (for a layer that outlives this process).
  void release() { armed_ = false; }

 private:
  ContainerLayer() = default;
  LayerPaths paths_;
  bool armed_ = false;
};

// Whether the layer at dir belongs to a live process. A layer without a
// readable owner record counts as live for a minute (it may be being made).
bool layer_is_live(const std::string& dir);

// Removes every layer under root whose owner is gone; returns their ids.
// Errors of single layers are logged and skipped.
std::vector<std::string> reclaim_stale(const std::string& root);

}  // namespace husk::storage
