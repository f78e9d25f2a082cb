#include "registry.h"

#include "client.h"

namespace gyre {

bool ClientRegistry::add(Client *client, int64_t user_limit) {
  std::lock_guard<std::mutex> lock(mu_);
  auto u = users_.find(client->user());
  if (user_limit > 0 && !client->user().empty() && u != users_.end() &&
      static_cast<int64_t>(u->second.size()) >= user_limit)
    return false;
  auto [it, inserted] = clients_.emplace(client->id(), Entry{client, 0});
  if (!inserted) return false;  // ids are random UUIDs: never in practice
  if (u == users_.end())
    u = users_.emplace(client->user(), std::vector<ClientMap::value_type *>{}).first;
  it->second.user_index = u->second.size();
  u->second.push_back(&*it);
  if (!client->emulation_session().empty()) sessions_[client->emulation_session()] = client;
  return true;
}

void ClientRegistry::remove(Client *client) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = clients_.find(client->id());
  if (it == clients_.end() || it->second.client != client) return;
  auto u = users_.find(client->user());
  if (u != users_.end()) {
    auto &v = u->second;
    size_t i = it->second.user_index;
    if (i < v.size() && v[i] == &*it) {
      v[i] = v.back();
      v[i]->second.user_index = i;
      v.pop_back();
    }
    if (v.empty()) users_.erase(u);
  }
  if (!client->emulation_session().empty()) {
    auto sit = sessions_.find(client->emulation_session());
    if (sit != sessions_.end() && sit->second == client) sessions_.erase(sit);
  }
  clients_.erase(it);
}

Worker *ClientRegistry::session_worker(std::string_view session) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = sessions_.find(session);
  // worker() never changes after registration.
  return it == sessions_.end() ? nullptr : &it->second->worker();
}

Client *ClientRegistry::session_client_on(const Worker &worker, std::string_view session) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = sessions_.find(session);
  if (it == sessions_.end() || &it->second->worker() != &worker) return nullptr;
  return it->second;
}

std::vector<Client *> ClientRegistry::targets_on(const Worker &worker, std::string_view user,
                                                 std::string_view client_id) const {
  std::vector<Client *> out;
  std::lock_guard<std::mutex> lock(mu_);
  if (!client_id.empty()) {
    auto it = clients_.find(client_id);
    if (it != clients_.end()) {
      Client *c = it->second.client;
      // worker() and user() never change after registration.
      if (&c->worker() == &worker && c->user() == user) out.push_back(c);
    }
    return out;
  }
  auto u = users_.find(user);
  if (u == users_.end()) return out;
  for (const auto *e : u->second)
    if (&e->second.client->worker() == &worker) out.push_back(e->second.client);
  return out;
}

std::vector<Client *> ClientRegistry::clients_on(const Worker &worker) const {
  std::vector<Client *> out;
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto &[id, e] : clients_)
    if (&e.client->worker() == &worker) out.push_back(e.client);
  return out;
}

size_t ClientRegistry::num_clients() const {
  std::lock_guard<std::mutex> lock(mu_);
  return clients_.size();
}

size_t ClientRegistry::num_users() const {
  std::lock_guard<std::mutex> lock(mu_);
  return users_.size();
}

}  // namespace gyre
