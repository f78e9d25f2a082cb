// The host side of the C ABI: the definitions of the opaque handles a
// plugin holds (gyre_host, gyre_timer, gyre_watch) and the one gyre_host_api
// table (PluginHost::api()). Each thunk is a barrier: nothing throws across.
// Auth answers live in auth.cc, stream calls in plugin_stream.cc.
#pragma once

#include <event2/event.h>

#include "gyre/plugin.h"

namespace gyre {
class Plugin;
}

struct gyre_host {
  gyre::Plugin *plugin;
};
struct gyre_timer {
  gyre::Plugin *owner = nullptr;
  event *ev = nullptr;
  gyre_callback_fn cb = nullptr;
  void *arg = nullptr;
  bool repeat = false;
  bool firing = false;
  bool stopped = false;
};
struct gyre_watch {
  gyre::Plugin *owner = nullptr;
  event *ev = nullptr;
  gyre_watch_fn cb = nullptr;
  void *arg = nullptr;
  int fd = -1;
};
