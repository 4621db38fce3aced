// The systemd cgroup driver's pure part: unit and slice names from a
// "slice:prefix:name" cgroupsPath, OCI resources as unit properties, and the
// few systemd1.Manager calls the driver makes (over a dbus::Connection, so
// tests drive them against a fake bus).
//
// Where systemd has a property for a resource it gets it (so a daemon-reload
// or systemctl set-property keeps the container's limits); every resource is
// also written to the cgroup files by the cgroupfs writers, as runc does,
// because systemd rounds some (CPUQuotaPerSecUSec to 10 ms a second) and has
// no property for others (burst, hugetlb, rdma, most of unified).
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "cgroup/dbus.h"
#include "config/resources.h"

namespace husk::cgroup {

struct SystemdUnit {
  std::string slice;  // "system.slice"
  std::string unit;   // "docker-abc.scope"
};

// "slice:prefix:name" -> the slice and "prefix-name.scope" ("name.scope"
// when prefix is empty); an empty slice is system.slice. An empty
// cgroupsPath gives system.slice and husk-<id>.scope. Anything else is an
// error naming the form expected.
Result<SystemdUnit> parse_systemd_path(std::string_view cgroups_path, std::string_view id);

// A slice's cgroup path, its parents made explicit as systemd nests them:
// "a-b-c.slice" -> "/a.slice/a-b.slice/a-b-c.slice", "-.slice" -> "/".
Result<std::string> expand_slice(std::string_view slice);

// Names systemd would accept for a unit: [A-Za-z0-9:_.\\-], at most 255
// characters, no leading dot.
bool valid_unit_name(std::string_view name);

struct UnitProperty {
  std::string name;
  dbus::Value value;  // the variant's content
};

// The major numbers /proc/devices names: ("char", 136) -> "pts".
std::optional<std::string> device_group(std::string_view proc_devices, char type, int64_t major);

// linux.resources.devices as DevicePolicy/DeviceAllow, when systemd can say
// exactly the same: a deny-all first, then only allow rules, each of a whole
// type, one device, or a major /proc/devices names. nullopt otherwise (the
// cgroupfs driver's eBPF program then enforces them alone). No rules: {}.
std::optional<std::vector<UnitProperty>> device_properties(
    const std::vector<config::DeviceRule>& rules, std::string_view proc_devices);

// The properties for r (devices excluded; see above). Errors as the
// cgroupfs driver's conversions (swap below the limit, bad cpu lists).
Result<std::vector<UnitProperty>> resource_properties(const config::Resources& r);

// systemd1.Manager calls. start_transient_unit waits for the start job and
// fails with systemd's words (EEXIST: the unit exists already; it is not
// touched); a failed start is reset with ResetFailedUnit.
Result<void> start_transient_unit(dbus::Connection& bus, const SystemdUnit& u, pid_t pid,
                                  const std::string& description, std::vector<UnitProperty> props,
                                  int timeout_ms = 30000);
// Fails with EEXIST when systemd has a unit of that name loaded (active or failed).
Result<void> check_unit_absent(dbus::Connection& bus, const std::string& unit);
Result<void> set_unit_properties(dbus::Connection& bus, const std::string& unit,
                                 std::vector<UnitProperty> props);
// Stops the unit (waiting for the job) and resets it if it failed; a unit
// that is gone already is fine.
Result<void> stop_unit(dbus::Connection& bus, const std::string& unit, int timeout_ms = 30000);

}  // namespace husk::cgroup
