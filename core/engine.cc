#include "engine.h"

namespace gyre {

Engine::Engine(Plugin &plugin) : plugin_(plugin), ops_(plugin.engine()) {}

template <typename Hook, typename... Args>
void Engine::call(Hook hook, OpCallback &cb, Args... args) {
  if (!hook) {
    OpResult r;
    r.status = GYRE_ERR_UNAVAILABLE;
    r.message = "not implemented by the engine";
    cb(r);
    return;
  }
  auto *op = new gyre_op{std::move(cb)};
  gyre_status st;
  try {
    st = hook(plugin_.state(), args..., op);
  } catch (...) {
    st = GYRE_ERR_INTERNAL;
  }
  // GYRE_OK: the plugin owns op now (it may already be completed and freed).
  if (st == GYRE_OK) return;
  OpResult r;
  r.status = st == GYRE_PENDING || st == GYRE_DECLINED ? GYRE_ERR_INTERNAL : st;
  r.message = "engine refused the operation";
  OpCallback done = std::move(op->done);
  delete op;
  done(r);
}

void Engine::subscribe(std::string_view ch, OpCallback cb) {
  call(ops_->subscribe, cb, to_gstr(ch));
}
void Engine::unsubscribe(std::string_view ch, OpCallback cb) {
  call(ops_->unsubscribe, cb, to_gstr(ch));
}
void Engine::publish(std::string_view ch, const gyre_publication &pub,
                     const gyre_publish_options &opts, OpCallback cb) {
  call(ops_->publish, cb, to_gstr(ch), &pub, &opts);
}
void Engine::publish_join(std::string_view ch, const gyre_client_info &info, OpCallback cb) {
  call(ops_->publish_join, cb, to_gstr(ch), &info);
}
void Engine::publish_leave(std::string_view ch, const gyre_client_info &info, OpCallback cb) {
  call(ops_->publish_leave, cb, to_gstr(ch), &info);
}
void Engine::history(std::string_view ch, const gyre_history_filter &f, OpCallback cb) {
  call(ops_->history, cb, to_gstr(ch), &f);
}
void Engine::remove_history(std::string_view ch, OpCallback cb) {
  call(ops_->remove_history, cb, to_gstr(ch));
}
void Engine::presence_add(std::string_view ch, const gyre_client_info &info, uint32_t ttl_s,
                          OpCallback cb) {
  call(ops_->presence_add, cb, to_gstr(ch), &info, ttl_s);
}
void Engine::presence_remove(std::string_view ch, std::string_view client_id, std::string_view user,
                             OpCallback cb) {
  call(ops_->presence_remove, cb, to_gstr(ch), to_gstr(client_id), to_gstr(user));
}
void Engine::presence_get(std::string_view ch, OpCallback cb) {
  call(ops_->presence_get, cb, to_gstr(ch));
}
void Engine::presence_stats(std::string_view ch, OpCallback cb) {
  call(ops_->presence_stats, cb, to_gstr(ch));
}

}  // namespace gyre
