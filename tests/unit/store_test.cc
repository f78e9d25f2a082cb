// The sqlite store: creation, schema version and marks, items, refusal of
// foreign, corrupted and newer files (core/store.h).
#include "store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "config_store.h"

namespace {

using gyre::Store;

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/gyre_store_test_XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
  }
  void TearDown() override { std::system(("rm -rf " + dir_).c_str()); }
  std::string path(const char *name) const { return dir_ + "/" + name; }
  static int pragma(const std::string &file, const char *p) {
    sqlite3 *db = nullptr;
    sqlite3_open(file.c_str(), &db);
    sqlite3_stmt *s = nullptr;
    sqlite3_prepare_v2(db, (std::string("PRAGMA ") + p).c_str(), -1, &s, nullptr);
    int v = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int(s, 0) : -1;
    sqlite3_finalize(s);
    sqlite3_close(db);
    return v;
  }
  static void exec(const std::string &file, const char *sql) {
    sqlite3 *db = nullptr;
    sqlite3_open(file.c_str(), &db);
    sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
    sqlite3_close(db);
  }
  std::string dir_;
};

TEST_F(StoreTest, CreatesVersionedMarkedFile) {
  std::string err;
  auto s = Store::open(path("a.db"), err);
  ASSERT_TRUE(s) << err;
  bool seeded = true;
  ASSERT_TRUE(s->seeded(Store::Kind::Namespace, seeded, err));
  EXPECT_FALSE(seeded);
  ASSERT_TRUE(s->seed({}, {Store::Kind::Namespace, Store::Kind::Proxy}, err));
  ASSERT_TRUE(s->seeded(Store::Kind::Proxy, seeded, err));
  EXPECT_TRUE(seeded);  // even with nothing in it
  ASSERT_TRUE(s->seeded(Store::Kind::RpcNamespace, seeded, err));
  EXPECT_FALSE(seeded);  // marked on its own
  s.reset();
  EXPECT_EQ(pragma(path("a.db"), "user_version"), Store::kSchemaVersion);
  EXPECT_EQ(pragma(path("a.db"), "application_id"), Store::kApplicationId);
  // Opening again migrates nothing and keeps the items.
  s = Store::open(path("a.db"), err);
  ASSERT_TRUE(s) << err;
}

TEST_F(StoreTest, Items) {
  std::string err;
  auto s = Store::open(path("b.db"), err);
  ASSERT_TRUE(s) << err;
  ASSERT_TRUE(
      s->put({Store::Kind::Namespace, "chat", R"({"name":"chat","presence":true})", 0}, err));
  ASSERT_TRUE(
      s->put({Store::Kind::Proxy, "chat", R"({"name":"chat","endpoint":"http://h/"})", 0}, err));
  ASSERT_TRUE(s->put({Store::Kind::Namespace, "a", R"({"name":"a"})", 0}, err));
  std::vector<Store::Item> items;
  ASSERT_TRUE(s->list(Store::Kind::Namespace, items, err));
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0].name, "a");  // by name
  EXPECT_GT(items[1].updated_at, 1700000000);
  ASSERT_TRUE(s->put({Store::Kind::Namespace, "chat", R"({"name":"chat"})", 0}, err));
  Store::Item it;
  bool found = false;
  ASSERT_TRUE(s->get(Store::Kind::Namespace, "chat", it, found, err));
  EXPECT_TRUE(found);
  EXPECT_EQ(it.json, R"({"name":"chat"})");
  ASSERT_TRUE(s->remove(Store::Kind::Namespace, "chat", found, err));
  EXPECT_TRUE(found);
  ASSERT_TRUE(s->remove(Store::Kind::Namespace, "chat", found, err));
  EXPECT_FALSE(found);
  ASSERT_TRUE(s->get(Store::Kind::Proxy, "chat", it, found, err));
  EXPECT_TRUE(found);  // kinds are separate
}

TEST_F(StoreTest, RefusesForeignCorruptedAndNewerFiles) {
  std::string err;
  std::ofstream(path("garbage.db")) << "this is not sqlite, just some text in a file\n";
  EXPECT_FALSE(Store::open(path("garbage.db"), err));
  EXPECT_NE(err.find("garbage.db"), std::string::npos) << err;
  exec(path("other.db"), "CREATE TABLE t(x)");
  EXPECT_FALSE(Store::open(path("other.db"), err));
  EXPECT_NE(err.find("not a Gyre store"), std::string::npos) << err;
  {
    auto s = Store::open(path("new.db"), err);
    ASSERT_TRUE(s) << err;
  }
  exec(path("new.db"), "PRAGMA user_version=99");
  EXPECT_FALSE(Store::open(path("new.db"), err));
  EXPECT_NE(err.find("newer"), std::string::npos) << err;
  // The refused files are left as they were.
  EXPECT_EQ(pragma(path("other.db"), "application_id"), 0);
  EXPECT_EQ(pragma(path("new.db"), "user_version"), 99);
}

TEST_F(StoreTest, UpdateChecksTheWholeListInOneTransaction) {
  std::string err;
  auto s = Store::open(path("u.db"), err);
  ASSERT_TRUE(s) << err;
  ASSERT_TRUE(s->put({Store::Kind::Namespace, "b", R"({"name":"b"})", 0}, err));
  Store::Outcome out;
  std::vector<std::string> seen;
  auto names = [&](const Store::Items &items) {
    seen.clear();
    for (const auto &it : items[0]) seen.push_back(it.name);
    return std::string();
  };
  ASSERT_TRUE(s->update({Store::Kind::Namespace, "a", false, R"({"name":"a"})"}, names, out, err));
  EXPECT_TRUE(out.changed);
  EXPECT_FALSE(out.existed);
  EXPECT_EQ(seen, (std::vector<std::string>{"a", "b"}));  // the list after, by name
  // The same JSON again writes nothing and asks nothing.
  seen.clear();
  ASSERT_TRUE(s->update({Store::Kind::Namespace, "a", false, R"({"name":"a"})"}, names, out, err));
  EXPECT_FALSE(out.changed);
  EXPECT_TRUE(out.existed);
  EXPECT_TRUE(seen.empty());
  // A refusal leaves the file as it was.
  auto refuse = [](const Store::Items &) { return std::string("no"); };
  ASSERT_TRUE(s->update({Store::Kind::Namespace, "b", true, ""}, refuse, out, err));
  EXPECT_EQ(out.refused, "no");
  EXPECT_FALSE(out.changed);
  Store::Item it;
  bool found = false;
  ASSERT_TRUE(s->get(Store::Kind::Namespace, "b", it, found, err));
  EXPECT_TRUE(found);
  // Removing a missing item writes nothing.
  ASSERT_TRUE(s->update({Store::Kind::RpcNamespace, "x", true, ""}, names, out, err));
  EXPECT_FALSE(out.existed);
  EXPECT_FALSE(out.changed);
}

TEST_F(StoreTest, DataVersionMovesOnOtherConnectionsCommits) {
  std::string err;
  auto a = Store::open(path("v.db"), err);
  ASSERT_TRUE(a) << err;
  auto b = Store::open(path("v.db"), err);
  ASSERT_TRUE(b) << err;
  int64_t v0 = a->data_version();
  ASSERT_GE(v0, 0);
  ASSERT_TRUE(a->put({Store::Kind::Proxy, "p", R"({"name":"p"})", 0}, err));
  EXPECT_EQ(a->data_version(), v0);  // its own commit
  ASSERT_TRUE(b->put({Store::Kind::Proxy, "q", R"({"name":"q"})", 0}, err));
  EXPECT_NE(a->data_version(), v0);
}

TEST_F(StoreTest, WithName) {
  std::string out;
  EXPECT_EQ(gyre::with_name("chat", R"({"presence":true})", out), "");
  EXPECT_EQ(out, R"({"name":"chat","presence":true})");
  EXPECT_EQ(gyre::with_name("chat", "{ }", out), "");
  EXPECT_EQ(out, R"({"name":"chat"})");
  EXPECT_EQ(gyre::with_name("chat", R"({"name":"chat","x":1})", out), "");
  EXPECT_NE(gyre::with_name("chat", R"({"name":"other"})", out), "");
  EXPECT_NE(gyre::with_name("chat", "[1]", out), "");
  EXPECT_NE(gyre::with_name("chat", "{", out), "");
}

}  // namespace
