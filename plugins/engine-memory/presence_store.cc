#include "presence_store.h"

#include <utility>

namespace gyre::memory {

namespace {

bool expired(int64_t expire_ms, int64_t now_ms) { return expire_ms != 0 && now_ms >= expire_ms; }

}  // namespace

void PresenceStore::add(std::string_view channel, const gyre_client_info &info, uint32_t ttl_s,
                        int64_t now_ms) {
  const int64_t expire_ms = ttl_s > 0 ? now_ms + int64_t{ttl_s} * 1000 : 0;
  auto ch = channels_.find(channel);
  if (ch == channels_.end()) ch = channels_.emplace(std::string(channel), Clients{}).first;
  Clients &clients = ch->second;

  const std::string_view user = view(info.user);
  const std::string_view conn = view(info.conn_info);
  const std::string_view chan = view(info.chan_info);
  auto it = clients.find(view(info.client));
  if (it != clients.end() && it->second.user == user && it->second.conn_info == conn &&
      it->second.chan_info == chan) {
    // The periodic refresh: nothing but the deadline changes.
    it->second.expire_ms = expire_ms;
    return;
  }
  // Built aside and moved in, so a failed allocation leaves the old entry.
  Entry e{std::string(user), std::string(conn), std::string(chan), expire_ms};
  if (it != clients.end()) {
    it->second = std::move(e);
  } else {
    clients.emplace(std::string(view(info.client)), std::move(e));
  }
}

void PresenceStore::remove(std::string_view channel, std::string_view client_id) {
  auto ch = channels_.find(channel);
  if (ch == channels_.end()) return;
  auto it = ch->second.find(client_id);
  if (it != ch->second.end()) ch->second.erase(it);
  if (ch->second.empty()) channels_.erase(ch);
}

size_t PresenceStore::purge(Clients &clients, int64_t now_ms) {
  size_t removed = 0;
  for (auto it = clients.begin(); it != clients.end();) {
    if (expired(it->second.expire_ms, now_ms)) {
      it = clients.erase(it);
      ++removed;
    } else {
      ++it;
    }
  }
  return removed;
}

PresenceStore::Clients *PresenceStore::live(std::string_view channel, int64_t now_ms) {
  auto ch = channels_.find(channel);
  if (ch == channels_.end()) return nullptr;
  purge(ch->second, now_ms);
  if (!ch->second.empty()) return &ch->second;
  channels_.erase(ch);
  return nullptr;
}

void PresenceStore::get(std::string_view channel, int64_t now_ms,
                        std::vector<gyre_client_info> &recs,
                        std::vector<const gyre_client_info *> &out) {
  recs.clear();
  out.clear();
  Clients *clients = live(channel, now_ms);
  if (!clients) return;
  recs.reserve(clients->size());
  for (const auto &[client, e] : *clients) {
    recs.push_back(gyre_client_info{sizeof(gyre_client_info), to_gyre(e.user), to_gyre(client),
                                    to_gyre(e.conn_info), to_gyre(e.chan_info)});
  }
  // Pointers only after recs stopped growing.
  out.reserve(recs.size());
  for (const auto &r : recs) out.push_back(&r);
}

PresenceStore::Stats PresenceStore::stats(std::string_view channel, int64_t now_ms) {
  Stats st;
  Clients *clients = live(channel, now_ms);
  if (!clients) return st;
  users_.clear();
  for (const auto &[client, e] : *clients) users_.insert(e.user);
  st.num_clients = static_cast<uint32_t>(clients->size());
  st.num_users = static_cast<uint32_t>(users_.size());
  users_.clear();
  return st;
}

size_t PresenceStore::sweep(int64_t now_ms) {
  size_t removed = 0;
  for (auto ch = channels_.begin(); ch != channels_.end();) {
    removed += purge(ch->second, now_ms);
    if (ch->second.empty()) {
      ch = channels_.erase(ch);
    } else {
      ++ch;
    }
  }
  return removed;
}

}  // namespace gyre::memory
