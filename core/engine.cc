#include "engine.h"

#include <memory>

#include "loop.h"

namespace gyre {

namespace {

// Owned copies of the records an OpResult points into, so that a result can
// cross to another thread and outlive the plugin's callback.
struct OwnedClientInfo {
  std::string user, client, conn_info, chan_info;
  gyre_client_info view{};
  explicit OwnedClientInfo(const gyre_client_info &i)
      : user(to_sv(i.user)),
        client(to_sv(i.client)),
        conn_info(to_sv(i.conn_info)),
        chan_info(to_sv(i.chan_info)) {}
  OwnedClientInfo(const OwnedClientInfo &) = delete;
  const gyre_client_info *bind() {
    view = gyre_client_info{sizeof view, to_gstr(user), to_gstr(client), to_gstr(conn_info),
                            to_gstr(chan_info)};
    return &view;
  }
};

struct OwnedPublication {
  std::string data;
  std::unique_ptr<OwnedClientInfo> info;
  std::vector<std::pair<std::string, std::string>> tags;
  std::vector<gyre_tag> tag_views;
  gyre_publication view{};
  explicit OwnedPublication(const gyre_publication &p) : data(to_sv(p.data)) {
    view = p;
    if (p.info) info = std::make_unique<OwnedClientInfo>(*p.info);
    for (size_t i = 0; i < p.num_tags; ++i)
      tags.emplace_back(to_sv(p.tags[i].key), to_sv(p.tags[i].value));
  }
  OwnedPublication(const OwnedPublication &) = delete;
  const gyre_publication *bind() {
    view.size = sizeof view;
    view.data = to_gstr(data);
    view.info = info ? info->bind() : nullptr;
    tag_views.clear();
    for (const auto &[k, v] : tags) tag_views.push_back(gyre_tag{to_gstr(k), to_gstr(v)});
    view.tags = tag_views.data();
    view.num_tags = tag_views.size();
    return &view;
  }
};

struct OwnedOpResult {
  OpResult r;
  std::string message;
  std::string epoch;  // of publish->position or top
  gyre_publish_result publish{};
  gyre_stream_position top{};
  std::vector<std::unique_ptr<OwnedPublication>> pubs;
  std::vector<const gyre_publication *> pub_ptrs;
  std::vector<std::unique_ptr<OwnedClientInfo>> infos;
  std::vector<const gyre_client_info *> info_ptrs;

  explicit OwnedOpResult(const OpResult &src) : message(src.message) {
    r.status = src.status;
    r.num_clients = src.num_clients;
    r.num_users = src.num_users;
    if (src.publish) {
      publish = *src.publish;
      epoch = to_sv(src.publish->position.epoch);
    }
    if (src.top) {
      top = *src.top;
      epoch = to_sv(src.top->epoch);
    }
    for (size_t i = 0; i < src.num_pubs; ++i)
      pubs.push_back(std::make_unique<OwnedPublication>(*src.pubs[i]));
    for (size_t i = 0; i < src.num_infos; ++i)
      infos.push_back(std::make_unique<OwnedClientInfo>(*src.infos[i]));
    has_publish = src.publish != nullptr;
    has_top = src.top != nullptr;
  }
  bool has_publish = false;
  bool has_top = false;

  // Points the view into this object (on the thread that reads it).
  const OpResult &view() {
    r.message = message;
    if (has_publish) {
      publish.position.epoch = to_gstr(epoch);
      r.publish = &publish;
    }
    if (has_top) {
      top.epoch = to_gstr(epoch);
      r.top = &top;
    }
    pub_ptrs.clear();
    for (auto &p : pubs) pub_ptrs.push_back(p->bind());
    r.pubs = pub_ptrs.data();
    r.num_pubs = pub_ptrs.size();
    info_ptrs.clear();
    for (auto &i : infos) info_ptrs.push_back(i->bind());
    r.infos = info_ptrs.data();
    r.num_infos = info_ptrs.size();
    return r;
  }
};

}  // namespace

Engine::Engine(Plugin &plugin, Loop &home) : plugin_(plugin), home_(home), ops_(plugin.engine()) {}

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

bool Engine::on_home() const {
  Loop *cur = Loop::current();
  return !cur || cur == &home_;
}

template <typename Start>
void Engine::relay(Start &start, OpCallback &cb) {
  Loop *caller = Loop::current();
  home_.post([start = std::move(start), caller, cb = std::move(cb)]() mutable {
    start([caller, cb = std::move(cb)](const OpResult &r) mutable {
      auto owned = std::make_shared<OwnedOpResult>(r);
      caller->post([cb = std::move(cb), owned] { cb(owned->view()); });
    });
  });
}

void Engine::subscribe(std::string_view ch, OpCallback cb) {
  if (on_home()) return call(ops_->subscribe, cb, to_gstr(ch));
  auto start = [this, c = std::string(ch)](OpCallback done) {
    call(ops_->subscribe, done, to_gstr(c));
  };
  relay(start, cb);
}

void Engine::unsubscribe(std::string_view ch, OpCallback cb) {
  if (on_home()) return call(ops_->unsubscribe, cb, to_gstr(ch));
  auto start = [this, c = std::string(ch)](OpCallback done) {
    call(ops_->unsubscribe, done, to_gstr(c));
  };
  relay(start, cb);
}

void Engine::publish(std::string_view ch, const gyre_publication &pub,
                     const gyre_publish_options &opts, OpCallback cb) {
  if (on_home()) return call(ops_->publish, cb, to_gstr(ch), &pub, &opts);
  auto owned = std::make_shared<OwnedPublication>(pub);
  auto start = [this, c = std::string(ch), owned, o = opts,
                key = std::string(to_sv(opts.idempotency_key)),
                vep = std::string(to_sv(opts.version_epoch))](OpCallback done) mutable {
    o.idempotency_key = to_gstr(key);
    o.version_epoch = to_gstr(vep);
    call(ops_->publish, done, to_gstr(c), owned->bind(), &o);
  };
  relay(start, cb);
}

namespace {
template <typename Fn>
auto with_info(const gyre_client_info &info, Fn fn) {
  return [owned = std::make_shared<OwnedClientInfo>(info), fn](OpCallback done) mutable {
    fn(*owned->bind(), done);
  };
}
}  // namespace

void Engine::publish_join(std::string_view ch, const gyre_client_info &info, OpCallback cb) {
  if (on_home()) return call(ops_->publish_join, cb, to_gstr(ch), &info);
  auto start =
      with_info(info, [this, c = std::string(ch)](const gyre_client_info &i, OpCallback &done) {
        call(ops_->publish_join, done, to_gstr(c), &i);
      });
  relay(start, cb);
}

void Engine::publish_leave(std::string_view ch, const gyre_client_info &info, OpCallback cb) {
  if (on_home()) return call(ops_->publish_leave, cb, to_gstr(ch), &info);
  auto start =
      with_info(info, [this, c = std::string(ch)](const gyre_client_info &i, OpCallback &done) {
        call(ops_->publish_leave, done, to_gstr(c), &i);
      });
  relay(start, cb);
}

void Engine::history(std::string_view ch, const gyre_history_filter &f, OpCallback cb) {
  if (on_home()) return call(ops_->history, cb, to_gstr(ch), &f);
  auto start = [this, c = std::string(ch), f](OpCallback done) {
    call(ops_->history, done, to_gstr(c), &f);
  };
  relay(start, cb);
}

void Engine::remove_history(std::string_view ch, OpCallback cb) {
  if (on_home()) return call(ops_->remove_history, cb, to_gstr(ch));
  auto start = [this, c = std::string(ch)](OpCallback done) {
    call(ops_->remove_history, done, to_gstr(c));
  };
  relay(start, cb);
}

void Engine::presence_add(std::string_view ch, const gyre_client_info &info, uint32_t ttl_s,
                          OpCallback cb) {
  if (on_home()) return call(ops_->presence_add, cb, to_gstr(ch), &info, ttl_s);
  auto start = with_info(
      info, [this, c = std::string(ch), ttl_s](const gyre_client_info &i, OpCallback &done) {
        call(ops_->presence_add, done, to_gstr(c), &i, ttl_s);
      });
  relay(start, cb);
}

void Engine::presence_remove(std::string_view ch, std::string_view client_id, std::string_view user,
                             OpCallback cb) {
  if (on_home())
    return call(ops_->presence_remove, cb, to_gstr(ch), to_gstr(client_id), to_gstr(user));
  auto start = [this, c = std::string(ch), id = std::string(client_id),
                u = std::string(user)](OpCallback done) {
    call(ops_->presence_remove, done, to_gstr(c), to_gstr(id), to_gstr(u));
  };
  relay(start, cb);
}

void Engine::presence_get(std::string_view ch, OpCallback cb) {
  if (on_home()) return call(ops_->presence_get, cb, to_gstr(ch));
  auto start = [this, c = std::string(ch)](OpCallback done) {
    call(ops_->presence_get, done, to_gstr(c));
  };
  relay(start, cb);
}

void Engine::presence_stats(std::string_view ch, OpCallback cb) {
  if (on_home()) return call(ops_->presence_stats, cb, to_gstr(ch));
  auto start = [this, c = std::string(ch)](OpCallback done) {
    call(ops_->presence_stats, done, to_gstr(c));
  };
  relay(start, cb);
}

void Engine::publish_control(std::string_view node, std::string_view data, OpCallback cb) {
  if (on_home()) return call(ops_->publish_control, cb, to_gstr(node), to_gstr(data));
  auto start = [this, n = std::string(node), d = std::string(data)](OpCallback done) {
    call(ops_->publish_control, done, to_gstr(n), to_gstr(d));
  };
  relay(start, cb);
}

}  // namespace gyre
