// Store: the sqlite database of what operators change while Gyre runs
// (channel namespaces and named proxies), each item a JSON object of
// Centrifugo's options under its name. One file, WAL journal, a busy
// timeout; the schema version lives in PRAGMA user_version and the file is
// marked as Gyre's with PRAGMA application_id, so a foreign or newer file is
// refused instead of being changed. Migrations run in order, in one
// transaction, when the file is opened.
//
// Threads: a Store is used by one thread at a time (the CLI, or the node at
// startup). Lifetime: the database closes when the Store is destroyed.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

struct sqlite3;

namespace gyre {

class Store {
 public:
  enum class Kind { Namespace, Proxy };
  struct Item {
    Kind kind = Kind::Namespace;
    std::string name;
    std::string json;        // the options object, as given
    int64_t updated_at = 0;  // unix seconds
  };
  static constexpr int kSchemaVersion = 1;
  static constexpr int kApplicationId = 0x47795265;  // "GyRe"

  // Opens path (creating it when missing) and migrates it to
  // kSchemaVersion. nullptr and a message naming the file otherwise.
  static std::unique_ptr<Store> open(const std::string &path, std::string &error);
  ~Store();
  Store(const Store &) = delete;
  Store &operator=(const Store &) = delete;

  // Every call returns false with `error` set when sqlite fails.
  bool list(Kind kind, std::vector<Item> &out, std::string &error);
  bool get(Kind kind, const std::string &name, Item &out, bool &found, std::string &error);
  // Inserts or replaces.
  bool put(const Item &item, std::string &error);
  bool remove(Kind kind, const std::string &name, bool &found, std::string &error);
  // The first fill from the config file: all items and the mark that it
  // happened, or nothing. Seeded once: a store emptied later stays empty.
  bool seed(const std::vector<Item> &items, std::string &error);
  bool seeded(bool &was_seeded, std::string &error);

 private:
  explicit Store(sqlite3 *db) : db_(db) {}
  bool write(const Item *items, size_t n, bool seeding, std::string &error);
  bool exec(const char *sql, std::string &error);
  sqlite3 *db_;
};

const char *store_kind_name(Store::Kind kind);  // "namespace", "proxy"

}  // namespace gyre
