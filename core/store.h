// Store: the sqlite database of what operators change while Gyre runs
// (channel namespaces, named proxies, RPC namespaces), each item a JSON object of
// Centrifugo's options under its name. One file, WAL journal, a busy
// timeout; the schema version lives in PRAGMA user_version and the file is
// marked as Gyre's with PRAGMA application_id, so a foreign or newer file is
// refused instead of being changed. Migrations run in order, in one
// transaction, when the file is opened.
//
// Threads: a Store is used by one thread at a time (the CLI, the node at
// startup, then the StoreService's thread). Other processes may use the
// same file meanwhile (sqlite's locks; data_version tells their commits).
// Lifetime: the database closes when the Store is destroyed.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

struct sqlite3;

namespace gyre {

class Store {
 public:
  enum class Kind { Namespace, Proxy, RpcNamespace };
  static constexpr size_t kKinds = 3;
  struct Item {
    Kind kind = Kind::Namespace;
    std::string name;
    std::string json;        // the options object, as given
    int64_t updated_at = 0;  // unix seconds
  };
  // Every item, by kind (index: static_cast<size_t>(Kind)), by name.
  using Items = std::array<std::vector<Item>, kKinds>;
  // One item set (to `json`) or removed.
  struct Change {
    Kind kind = Kind::Namespace;
    std::string name;
    bool remove = false;
    std::string json;  // set: the options object with the name inside
  };
  struct Outcome {
    bool existed = false;  // the item was there before
    bool changed = false;  // something was written
    std::string refused;   // check's verdict: nothing written
  };
  // Version 1: namespaces, proxies, meta (seeded_at). Version 2: RPC
  // namespaces, seeded on their own (rpc_seeded_at) so that a store made
  // by an older Gyre takes rpc.namespaces from the config file once.
  static constexpr int kSchemaVersion = 2;
  static constexpr int kApplicationId = 0x47795265;  // "GyRe"

  // Opens path (creating it when missing) and migrates it to
  // kSchemaVersion. nullptr and a message naming the file otherwise.
  static std::unique_ptr<Store> open(const std::string &path, std::string &error);
  ~Store();
  Store(const Store &) = delete;
  Store &operator=(const Store &) = delete;

  // Every call returns false with `error` set when sqlite fails.
  bool list(Kind kind, std::vector<Item> &out, std::string &error);
  bool list_all(Items &out, std::string &error);
  bool get(Kind kind, const std::string &name, Item &out, bool &found, std::string &error);
  // Inserts or replaces.
  bool put(const Item &item, std::string &error);
  bool remove(Kind kind, const std::string &name, bool &found, std::string &error);
  // In one write transaction: reads every item, applies `change` to that
  // list, asks check(list after the change) and writes the change only
  // when it returns "" (else out.refused). Setting an item to the JSON it
  // has writes nothing (out.changed false).
  bool update(const Change &change, const std::function<std::string(const Items &)> &check,
              Outcome &out, std::string &error);
  // The first fill from the config file: the items of `kinds` and the marks
  // that those kinds were seeded, or nothing. Seeded once: a store emptied
  // later stays empty.
  bool seed(const std::vector<Item> &items, const std::vector<Kind> &kinds, std::string &error);
  bool seeded(Kind kind, bool &was_seeded, std::string &error);
  // Changes when another connection (another process) committed; -1 on
  // error.
  int64_t data_version();

 private:
  explicit Store(sqlite3 *db) : db_(db) {}
  bool write(const Item *items, size_t n, const std::vector<Kind> &seeded_kinds,
             std::string &error);
  bool write_one(const Item &item, int64_t now, std::string &error);
  bool exec(const char *sql, std::string &error);
  sqlite3 *db_;
};

const char *store_kind_name(Store::Kind kind);  // "namespace", "proxy", "RPC namespace"
// "namespace", "proxy", "rpc_namespace": in control messages.
const char *store_kind_key(Store::Kind kind);
bool store_kind_from_key(std::string_view key, Store::Kind &out);

}  // namespace gyre
