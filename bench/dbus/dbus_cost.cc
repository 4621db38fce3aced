// What a D-Bus round trip to the bus costs through husk's own client
// (src/cgroup/dbus.h) and through sd-bus (libsystemd, dlopen'ed as the
// driver would have to from a static husk-oci): connect + authenticate +
// Hello, then one method call (GetNameOwner), each best of N, in microseconds.
// Usage: dbus_cost SOCKET [N]   (the bus at SOCKET; sd-bus gets it through
// DBUS_SYSTEM_BUS_ADDRESS). Built by bench/dbus/run; not part of the suite.
#include <dlfcn.h>
#include <time.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "cgroup/dbus.h"

namespace {

double now_us() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

using husk::cgroup::dbus::Connection;
using husk::cgroup::dbus::Message;
using husk::cgroup::dbus::Value;

Message get_name_owner() {
  return Message{.path = "/org/freedesktop/DBus",
                 .interface = "org.freedesktop.DBus",
                 .member = "GetNameOwner",
                 .destination = "org.freedesktop.DBus",
                 .body = {Value::string("org.freedesktop.DBus")}};
}

// The few sd-bus entry points used, as libsystemd exports them.
struct SdBus {
  int (*open_system)(void**);
  int (*call_method)(void*, const char*, const char*, const char*, const char*, void*, void**,
                     const char*, ...);
  void* (*message_unref)(void*);
  void* (*flush_close_unref)(void*);
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  std::string sock = argv[1];
  int n = argc > 2 ? std::atoi(argv[2]) : 200;
  setenv("DBUS_SYSTEM_BUS_ADDRESS", ("unix:path=" + sock).c_str(), 1);

  double best_connect = 1e9, best_call = 1e9;
  for (int i = 0; i < n; ++i) {
    double t0 = now_us();
    auto c = Connection::system();
    double t1 = now_us();
    if (!c) return std::fprintf(stderr, "husk: %s\n", c.error().what().c_str()), 1;
    auto r = c->call(get_name_owner());
    double t2 = now_us();
    if (!r) return 1;
    best_connect = std::min(best_connect, t1 - t0);
    best_call = std::min(best_call, t2 - t1);
  }
  std::printf("husk client: connect+auth+Hello %.0f us, call %.0f us\n", best_connect, best_call);

  double t0 = now_us();
  void* lib = dlopen("libsystemd.so.0", RTLD_NOW | RTLD_LOCAL);
  double t1 = now_us();
  if (lib == nullptr) return std::fprintf(stderr, "dlopen: %s\n", dlerror()), 1;
  SdBus sd{reinterpret_cast<int (*)(void**)>(dlsym(lib, "sd_bus_open_system")),
           reinterpret_cast<decltype(sd.call_method)>(dlsym(lib, "sd_bus_call_method")),
           reinterpret_cast<void* (*)(void*)>(dlsym(lib, "sd_bus_message_unref")),
           reinterpret_cast<void* (*)(void*)>(dlsym(lib, "sd_bus_flush_close_unref"))};
  std::printf("sd-bus: dlopen libsystemd.so.0 %.0f us\n", t1 - t0);
  best_connect = 1e9, best_call = 1e9;
  for (int i = 0; i < n; ++i) {
    void* bus = nullptr;
    void* reply = nullptr;
    double a = now_us();
    // sd_bus_open_system connects lazily: the first call pays auth + Hello.
    if (sd.open_system(&bus) < 0) return 1;
    int r =
        sd.call_method(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                       "GetNameOwner", nullptr, &reply, "s", "org.freedesktop.DBus");
    double c = now_us();
    if (r < 0) return std::fprintf(stderr, "sd_bus_call_method: %d\n", r), 1;
    sd.message_unref(reply);
    reply = nullptr;
    double d = now_us();
    r = sd.call_method(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                       "GetNameOwner", nullptr, &reply, "s", "org.freedesktop.DBus");
    double e = now_us();
    if (r < 0) return 1;
    sd.message_unref(reply);
    sd.flush_close_unref(bus);
    best_connect = std::min(best_connect, c - a);  // open + Hello + the first call
    best_call = std::min(best_call, e - d);
  }
  std::printf("sd-bus: connect+auth+Hello %.0f us, call %.0f us\n", best_connect - best_call,
              best_call);
  return 0;
}
