#include "store_service.h"

#include <chrono>

#include "config_store.h"
#include "json.h"
#include "log.h"
#include "node.h"

namespace gyre {

namespace {

std::string quoted(const std::string &s) {
  std::string out;
  json::append_quoted(out, s);
  return out;
}

}  // namespace

StoreService::StoreService(Node &node, ConfigRef current)
    : node_(node), path_(current->store_path), current_(std::move(current)) {}

StoreService::~StoreService() { stop(); }

bool StoreService::start(std::string &error) {
  store_ = Store::open(path_, error);
  if (!store_) return false;
  if (!store_->list_all(items_, error)) return false;
  data_version_ = store_->data_version();
  // From here on the connection belongs to the service's thread.
  thread_ = std::thread([this] { run(); });
  return true;
}

void StoreService::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
  store_.reset();
}

void StoreService::post(std::function<void()> job) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    jobs_.push_back(std::move(job));
  }
  cv_.notify_one();
}

void StoreService::run() {
  auto next_poll = std::chrono::steady_clock::now() + std::chrono::milliseconds(kPollMs);
  for (;;) {
    std::function<void()> job;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait_until(lock, next_poll, [this] { return stopping_ || !jobs_.empty(); });
      if (stopping_) return;
      if (!jobs_.empty()) {
        job = std::move(jobs_.front());
        jobs_.pop_front();
      }
    }
    if (job) {
      job();
      continue;
    }
    next_poll = std::chrono::steady_clock::now() + std::chrono::milliseconds(kPollMs);
    poll();
  }
}

void StoreService::finish(ConfigRef next, std::function<void()> fn) {
  Node *node = &node_;
  node_.loop().post([node, next = std::move(next), fn = std::move(fn)] {
    if (!next) return fn();
    node->install_config(next, fn);
  });
}

void StoreService::list(Store::Kind kind, Done done) {
  post([this, kind, done = std::move(done)] {
    Reply r;
    std::string err;
    std::vector<Store::Item> items;
    if (!store_->list(kind, items, err)) {
      r.message = "store: " + err;
    } else {
      r.ok = true;
      r.json = "{\"items\":[";
      for (size_t i = 0; i < items.size(); ++i) r.json += (i ? "," : "") + item_json(items[i]);
      r.json += "]}";
    }
    finish(nullptr, [done, r] { done(r); });
  });
}

void StoreService::get(Store::Kind kind, const std::string &name, Done done) {
  post([this, kind, name, done = std::move(done)] {
    Reply r;
    std::string err;
    Store::Item item;
    bool found = false;
    if (!store_->get(kind, name, item, found, err)) {
      r.message = "store: " + err;
    } else if (!found) {
      r.not_found = true;
      r.message = std::string("no ") + store_kind_name(kind) + " " + quoted(name);
    } else {
      r.ok = true;
      r.json = "{\"item\":" + item_json(item) + "}";
    }
    finish(nullptr, [done, r] { done(r); });
  });
}

StoreService::Reply StoreService::apply(const Store::Change &c, ConfigRef &next) {
  Reply r;
  std::string err;
  Store::Outcome out;
  auto built = std::make_shared<Config>();
  Store::Items after;
  bool ok = store_->update(
      c,
      [&](const Store::Items &items) {
        after = items;
        return config_with(*current_, items, *built);
      },
      out, err);
  if (!ok) {
    r.message = "store: " + err;
    return r;
  }
  if (!out.refused.empty()) {
    r.message = "refused, the store is unchanged: " + out.refused;
    return r;
  }
  if (c.remove && !out.existed) {
    r.not_found = true;
    r.message = std::string("no ") + store_kind_name(c.kind) + " " + quoted(c.name);
    return r;
  }
  r.ok = true;
  r.json = out.changed ? "{\"changed\":true}" : "{\"changed\":false}";
  if (out.changed) {
    current_ = built;
    items_ = std::move(after);
    next = current_;
  }
  // Our own commit does not move data_version; another process's since the
  // last poll is picked up by the next one.
  return r;
}

void StoreService::change(Store::Change c, Done done) {
  post([this, c = std::move(c), done = std::move(done)] {
    ConfigRef next;
    Reply r = apply(c, next);
    if (next) {
      LOG_INFO("store: %s %s %s", store_kind_name(c.kind), quoted(c.name).c_str(),
               c.remove ? "deleted" : "set");
    }
    auto send = broadcast;
    finish(next, [done, r, c, send, changed = next != nullptr] {
      if (changed && send) send(c);
      done(r);
    });
  });
}

void StoreService::apply_remote(Store::Change c) {
  post([this, c = std::move(c)] {
    ConfigRef next;
    Reply r;
    std::string named;
    if (!c.remove && !(r.message = with_name(c.name, c.json, named)).empty())
      r.message = "options: " + r.message;
    else
      r = apply(c, next);
    if (!r.ok && !r.not_found)
      LOG_ERROR("store: %s %s from another node not applied: %s", store_kind_name(c.kind),
                quoted(c.name).c_str(), r.message.c_str());
    else if (next)
      LOG_INFO("store: %s %s %s by another node", store_kind_name(c.kind), quoted(c.name).c_str(),
               c.remove ? "deleted" : "set");
    if (next) finish(next, [] {});
  });
}

void StoreService::poll() {
  int64_t v = store_->data_version();
  if (v < 0 || v == data_version_) return;
  data_version_ = v;
  std::string err;
  Store::Items items;
  if (!store_->list_all(items, err)) {
    LOG_WARN("store %s: %s", path_.c_str(), err.c_str());
    return;
  }
  auto same = [](const Store::Items &a, const Store::Items &b) {
    for (size_t k = 0; k < Store::kKinds; ++k) {
      if (a[k].size() != b[k].size()) return false;
      for (size_t i = 0; i < a[k].size(); ++i)
        if (a[k][i].name != b[k][i].name || a[k][i].json != b[k][i].json) return false;
    }
    return true;
  };
  if (same(items, items_)) return;
  auto built = std::make_shared<Config>();
  std::string e = config_with(*current_, items, *built);
  if (!e.empty()) {
    LOG_ERROR("store %s changed by another process but not applied: %s", path_.c_str(), e.c_str());
    items_ = std::move(items);  // said once, not every second
    return;
  }
  LOG_INFO("store %s changed by another process: applied", path_.c_str());
  current_ = built;
  items_ = std::move(items);
  finish(current_, [] {});
}

}  // namespace gyre
