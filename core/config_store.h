// The store at startup (store.path): the first run seeds it from the
// config file's channel.namespaces and proxies[]; from then on the store's
// items replace those two sections (the rest of the config file still
// applies). Also the item conversions the CLI shares.
#pragma once

#include <string>
#include <vector>

#include "config.h"
#include "store.h"

namespace gyre {

// Opens c.store_path (nothing when empty) and applies it to c. `note` says
// what happened (seeded, loaded); an error names the file or the item.
std::string apply_store(Config &c, std::vector<std::string> &warnings, std::string &note);

// Store items as replace_runtime_items takes them.
std::vector<NamedJson> named_json(const std::vector<Store::Item> &items);

// A namespace's / proxy's options object with its name put inside:
// {"name":NAME,...}. Error when text is not an object or names another.
std::string with_name(const std::string &name, const std::string &text, std::string &out);

}  // namespace gyre
