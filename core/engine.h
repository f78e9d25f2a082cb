// Engine: the node's view of the loaded engine plugin (broker + presence
// manager), with C++ callbacks instead of gyre_op handles.
//
// The plugin lives on the node's loop thread (worker 0). Every method may be
// called from any worker's loop thread: a call from another worker is
// copied, posted to the node loop, and its result deep-copied and posted
// back, so the callback always runs on the caller's loop with an OpResult
// whose pointers are valid for the duration of the callback, exactly as for
// a call made on the node loop itself.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "gyre/plugin.h"
#include "plugin_host.h"

namespace gyre {

class Loop;

inline gyre_str to_gstr(std::string_view s) { return gyre_str{s.data(), s.size()}; }
inline std::string_view to_sv(gyre_str s) { return std::string_view(s.ptr ? s.ptr : "", s.len); }

class Engine {
 public:
  // `home` is the loop whose thread the plugin runs on.
  Engine(Plugin &plugin, Loop &home);
  const std::string &name() const { return plugin_.name(); }
  bool has_presence() const { return ops_->presence_get && ops_->presence_add; }
  // ABI 1.4: the engine connects nodes (publish_control). Any thread.
  bool has_control() const { return ops_->publish_control != nullptr; }

  void subscribe(std::string_view channel, OpCallback cb);
  void unsubscribe(std::string_view channel, OpCallback cb);
  void publish(std::string_view channel, const gyre_publication &pub,
               const gyre_publish_options &opts, OpCallback cb);
  void publish_join(std::string_view channel, const gyre_client_info &info, OpCallback cb);
  void publish_leave(std::string_view channel, const gyre_client_info &info, OpCallback cb);
  void history(std::string_view channel, const gyre_history_filter &filter, OpCallback cb);
  void remove_history(std::string_view channel, OpCallback cb);
  void presence_add(std::string_view channel, const gyre_client_info &info, uint32_t ttl_s,
                    OpCallback cb);
  void presence_remove(std::string_view channel, std::string_view client_id, std::string_view user,
                       OpCallback cb);
  void presence_get(std::string_view channel, OpCallback cb);
  void presence_stats(std::string_view channel, OpCallback cb);
  // Opaque bytes to the node `node` (empty: every node, this one included);
  // without the hook the callback gets GYRE_ERR_UNAVAILABLE.
  void publish_control(std::string_view node, std::string_view data, OpCallback cb);

 private:
  // Calls a hook with a fresh op; if the hook refuses the op (or is
  // missing), completes the callback with that status instead. Home loop
  // thread only.
  template <typename Hook, typename... Args>
  void call(Hook hook, OpCallback &cb, Args... args);
  // True on the home loop's thread (or before any loop runs).
  bool on_home() const;
  // From another loop: posts start(cb') to the home loop, where cb' copies
  // the result and posts cb back to the calling loop. `start` must own
  // copies of everything it passes to the plugin.
  template <typename Start>
  void relay(Start &start, OpCallback &cb);
  Plugin &plugin_;
  Loop &home_;
  const gyre_engine_ops *ops_;
};

}  // namespace gyre
