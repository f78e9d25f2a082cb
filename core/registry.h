// ClientRegistry: every connected client of the node, by id and by user,
// across all workers. The one structure workers share: guarded by a mutex,
// touched on connect and disconnect and by server API lookups, never on the
// fan-out path (a worker's Hub is its own).
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "hub.h"

namespace gyre {

class Client;
class Worker;

class ClientRegistry {
 public:
  // Any thread. Registers a client whose id and user are set (both must stay
  // unchanged until remove). False when its user already has user_limit
  // connections (0 = no limit; anonymous clients are not limited).
  bool add(Client *client, int64_t user_limit);
  // Any thread; a no-op for an unregistered client.
  void remove(Client *client);

  // The clients a server API request targets (by user, or by client id and
  // user), restricted to those living on `worker`. Call on that worker's
  // thread: only there are the returned pointers safe to use.
  std::vector<Client *> targets_on(const Worker &worker, std::string_view user,
                                   std::string_view client_id) const;
  std::vector<Client *> clients_on(const Worker &worker) const;
  // Emulation sessions (Client::emulation_session()). Any thread: the
  // worker that holds `session`, or nullptr.
  Worker *session_worker(std::string_view session) const;
  // On that worker's thread: its client, or nullptr (closed meanwhile).
  Client *session_client_on(const Worker &worker, std::string_view session) const;

  size_t num_clients() const;
  size_t num_users() const;

 private:
  struct Entry {
    Client *client;
    size_t user_index;  // position in users_[user]
  };
  using ClientMap = std::unordered_map<std::string_view, Entry, StringHash>;
  mutable std::mutex mu_;
  // Keyed by a view of Client::id(), which lives as long as the entry.
  ClientMap clients_;
  // Map nodes are stable: a user's list points at them, for O(1) removal
  // (every anonymous client shares one list).
  std::unordered_map<std::string, std::vector<ClientMap::value_type *>, StringHash, std::equal_to<>>
      users_;
  // Keyed by a view of the transport's session id (lives as the client).
  std::unordered_map<std::string_view, Client *, StringHash> sessions_;
};

}  // namespace gyre
