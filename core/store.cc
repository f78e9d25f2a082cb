#include "store.h"

#include <sqlite3.h>

#include <algorithm>
#include <ctime>

namespace gyre {

namespace {

// Migration i takes the schema from version i to i + 1.
const char *const kMigrations[] = {
    "CREATE TABLE namespaces (name TEXT PRIMARY KEY, options TEXT NOT NULL,"
    " updated_at INTEGER NOT NULL);"
    "CREATE TABLE proxies (name TEXT PRIMARY KEY, options TEXT NOT NULL,"
    " updated_at INTEGER NOT NULL);"
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);",
    "CREATE TABLE rpc_namespaces (name TEXT PRIMARY KEY, options TEXT NOT NULL,"
    " updated_at INTEGER NOT NULL);",
};
static_assert(sizeof kMigrations / sizeof kMigrations[0] == Store::kSchemaVersion);

const char *table(Store::Kind kind) {
  switch (kind) {
    case Store::Kind::Namespace: return "namespaces";
    case Store::Kind::Proxy: return "proxies";
    case Store::Kind::RpcNamespace: return "rpc_namespaces";
  }
  return "?";
}

// The meta key that says a kind was seeded from the config file.
const char *seed_mark(Store::Kind kind) {
  return kind == Store::Kind::RpcNamespace ? "rpc_seeded_at" : "seeded_at";
}

// A prepared statement, finalized on every path.
class Stmt {
 public:
  Stmt(sqlite3 *db, const std::string &sql) {
    sqlite3_prepare_v2(db, sql.c_str(), -1, &s_, nullptr);
  }
  ~Stmt() { sqlite3_finalize(s_); }
  Stmt(const Stmt &) = delete;
  Stmt &operator=(const Stmt &) = delete;
  sqlite3_stmt *get() const { return s_; }
  explicit operator bool() const { return s_ != nullptr; }
  void text(int i, const std::string &v) {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  }

 private:
  sqlite3_stmt *s_ = nullptr;
};

std::string column_text(sqlite3_stmt *s, int i) {
  const unsigned char *t = sqlite3_column_text(s, i);
  return t ? std::string(reinterpret_cast<const char *>(t),
                         static_cast<size_t>(sqlite3_column_bytes(s, i)))
           : std::string();
}

int pragma_int(sqlite3 *db, const char *pragma) {
  Stmt s(db, std::string("PRAGMA ") + pragma);
  if (!s || sqlite3_step(s.get()) != SQLITE_ROW) return -1;
  return sqlite3_column_int(s.get(), 0);
}

}  // namespace

const char *store_kind_name(Store::Kind kind) {
  switch (kind) {
    case Store::Kind::Namespace: return "namespace";
    case Store::Kind::Proxy: return "proxy";
    case Store::Kind::RpcNamespace: return "RPC namespace";
  }
  return "?";
}

const char *store_kind_key(Store::Kind kind) {
  return kind == Store::Kind::RpcNamespace ? "rpc_namespace" : store_kind_name(kind);
}

bool store_kind_from_key(std::string_view key, Store::Kind &out) {
  for (size_t k = 0; k < Store::kKinds; ++k) {
    if (key != store_kind_key(static_cast<Store::Kind>(k))) continue;
    out = static_cast<Store::Kind>(k);
    return true;
  }
  return false;
}

std::unique_ptr<Store> Store::open(const std::string &path, std::string &error) {
  sqlite3 *db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  if (rc != SQLITE_OK) {
    error = "store " + path + ": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
    sqlite3_close(db);
    return nullptr;
  }
  std::unique_ptr<Store> store(new Store(db));
  sqlite3_busy_timeout(db, 5000);
  auto fail = [&](const std::string &why) {
    error = "store " + path + ": " + why;
    return nullptr;
  };
  // Reading the header first tells a corrupted or foreign file apart.
  int app = pragma_int(db, "application_id");
  int version = pragma_int(db, "user_version");
  if (app < 0 || version < 0) return fail(std::string(sqlite3_errmsg(db)) + " (not a database?)");
  int objects = -1;
  {
    // Finalized before anything else runs: an open statement holds a read
    // transaction (no journal mode change then).
    Stmt tables(db, "SELECT count(*) FROM sqlite_master");
    if (tables && sqlite3_step(tables.get()) == SQLITE_ROW)
      objects = sqlite3_column_int(tables.get(), 0);
  }
  if (objects < 0) return fail(std::string(sqlite3_errmsg(db)) + " (not a database?)");
  if (app != kApplicationId && (app != 0 || objects > 0))
    return fail("not a Gyre store (another program's database); give another store.path");
  if (version > kSchemaVersion)
    return fail("schema version " + std::to_string(version) + " is newer than this Gyre's (" +
                std::to_string(kSchemaVersion) + "); use a newer gyre");
  std::string err;
  if (!store->exec("PRAGMA journal_mode=WAL", err)) return fail(err);
  if (version < kSchemaVersion) {
    if (!store->exec("BEGIN IMMEDIATE", err)) return fail(err);
    std::string sql;
    for (int v = version; v < kSchemaVersion; ++v) sql += kMigrations[v];
    sql += "PRAGMA application_id=" + std::to_string(kApplicationId) + ";";
    sql += "PRAGMA user_version=" + std::to_string(kSchemaVersion) + ";";
    if (!store->exec(sql.c_str(), err)) {
      std::string ignored;
      store->exec("ROLLBACK", ignored);
      return fail("migration to version " + std::to_string(kSchemaVersion) + " failed: " + err);
    }
    if (!store->exec("COMMIT", err)) return fail(err);
  }
  return store;
}

Store::~Store() { sqlite3_close(db_); }

bool Store::exec(const char *sql, std::string &error) {
  char *msg = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &msg) == SQLITE_OK) return true;
  error = msg ? msg : sqlite3_errmsg(db_);
  sqlite3_free(msg);
  return false;
}

bool Store::list(Kind kind, std::vector<Item> &out, std::string &error) {
  out.clear();
  Stmt s(db_,
         std::string("SELECT name, options, updated_at FROM ") + table(kind) + " ORDER BY name");
  if (!s) return error = sqlite3_errmsg(db_), false;
  int rc;
  while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
    Item it;
    it.kind = kind;
    it.name = column_text(s.get(), 0);
    it.json = column_text(s.get(), 1);
    it.updated_at = sqlite3_column_int64(s.get(), 2);
    out.push_back(std::move(it));
  }
  if (rc != SQLITE_DONE) return error = sqlite3_errmsg(db_), false;
  return true;
}

bool Store::get(Kind kind, const std::string &name, Item &out, bool &found, std::string &error) {
  found = false;
  Stmt s(db_, std::string("SELECT options, updated_at FROM ") + table(kind) + " WHERE name = ?");
  if (!s) return error = sqlite3_errmsg(db_), false;
  s.text(1, name);
  int rc = sqlite3_step(s.get());
  if (rc == SQLITE_ROW) {
    found = true;
    out.kind = kind;
    out.name = name;
    out.json = column_text(s.get(), 0);
    out.updated_at = sqlite3_column_int64(s.get(), 1);
    return true;
  }
  if (rc != SQLITE_DONE) return error = sqlite3_errmsg(db_), false;
  return true;
}

bool Store::list_all(Items &out, std::string &error) {
  for (size_t k = 0; k < kKinds; ++k)
    if (!list(static_cast<Kind>(k), out[k], error)) return false;
  return true;
}

bool Store::put(const Item &item, std::string &error) { return write(&item, 1, {}, error); }

bool Store::seed(const std::vector<Item> &items, const std::vector<Kind> &kinds,
                 std::string &error) {
  return write(items.data(), items.size(), kinds, error);
}

bool Store::write_one(const Item &item, int64_t now, std::string &error) {
  Stmt s(db_, std::string("INSERT OR REPLACE INTO ") + table(item.kind) +
                  " (name, options, updated_at) VALUES (?, ?, ?)");
  bool ok = static_cast<bool>(s);
  if (ok) {
    s.text(1, item.name);
    s.text(2, item.json);
    sqlite3_bind_int64(s.get(), 3, item.updated_at ? item.updated_at : now);
    ok = sqlite3_step(s.get()) == SQLITE_DONE;
  }
  if (!ok) error = sqlite3_errmsg(db_);
  return ok;
}

bool Store::write(const Item *items, size_t n, const std::vector<Kind> &seeded_kinds,
                  std::string &error) {
  if (!exec("BEGIN IMMEDIATE", error)) return false;
  int64_t now = static_cast<int64_t>(std::time(nullptr));
  auto rollback = [this] {
    std::string ignored;
    exec("ROLLBACK", ignored);
    return false;
  };
  for (Kind k : seeded_kinds) {
    std::string sql = std::string("INSERT OR REPLACE INTO meta (key, value) VALUES ('") +
                      seed_mark(k) + "', '" + std::to_string(now) + "')";
    if (!exec(sql.c_str(), error)) return rollback();
  }
  for (size_t i = 0; i < n; ++i)
    if (!write_one(items[i], now, error)) return rollback();
  return exec("COMMIT", error);
}

bool Store::update(const Change &change, const std::function<std::string(const Items &)> &check,
                   Outcome &out, std::string &error) {
  out = Outcome{};
  if (!exec("BEGIN IMMEDIATE", error)) return false;
  auto rollback = [this] {
    std::string ignored;
    exec("ROLLBACK", ignored);
  };
  Items items;
  if (!list_all(items, error)) return rollback(), false;
  auto &list = items[static_cast<size_t>(change.kind)];
  auto it = list.begin();
  while (it != list.end() && it->name != change.name) ++it;
  out.existed = it != list.end();
  if (change.remove ? !out.existed : out.existed && it->json == change.json) {
    rollback();  // nothing to write
    return true;
  }
  int64_t now = static_cast<int64_t>(std::time(nullptr));
  if (change.remove) {
    list.erase(it);
  } else {
    Item item{change.kind, change.name, change.json, now};
    if (out.existed)
      *it = item;
    else
      list.push_back(item);
  }
  std::sort(list.begin(), list.end(), [](const Item &a, const Item &b) { return a.name < b.name; });
  out.refused = check(items);
  if (!out.refused.empty()) return rollback(), true;
  bool ok;
  if (change.remove) {
    Stmt s(db_, std::string("DELETE FROM ") + table(change.kind) + " WHERE name = ?");
    ok = static_cast<bool>(s);
    if (ok) {
      s.text(1, change.name);
      ok = sqlite3_step(s.get()) == SQLITE_DONE;
    }
    if (!ok) error = sqlite3_errmsg(db_);
  } else {
    ok = write_one(Item{change.kind, change.name, change.json, now}, now, error);
  }
  if (!ok || !exec("COMMIT", error)) return rollback(), false;
  out.changed = true;
  return true;
}

int64_t Store::data_version() {
  Stmt s(db_, "PRAGMA data_version");
  if (!s || sqlite3_step(s.get()) != SQLITE_ROW) return -1;
  return sqlite3_column_int64(s.get(), 0);
}

bool Store::remove(Kind kind, const std::string &name, bool &found, std::string &error) {
  found = false;
  Stmt s(db_, std::string("DELETE FROM ") + table(kind) + " WHERE name = ?");
  if (!s) return error = sqlite3_errmsg(db_), false;
  s.text(1, name);
  if (sqlite3_step(s.get()) != SQLITE_DONE) return error = sqlite3_errmsg(db_), false;
  found = sqlite3_changes(db_) > 0;
  return true;
}

bool Store::seeded(Kind kind, bool &was_seeded, std::string &error) {
  Stmt s(db_, std::string("SELECT count(*) FROM meta WHERE key = '") + seed_mark(kind) + "'");
  if (!s || sqlite3_step(s.get()) != SQLITE_ROW) return error = sqlite3_errmsg(db_), false;
  was_seeded = sqlite3_column_int64(s.get(), 0) > 0;
  return true;
}

}  // namespace gyre
