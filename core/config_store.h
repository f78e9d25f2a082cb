// The store at startup (store.path): the first run seeds it from the
// config file's channel.namespaces, proxies[] and rpc.namespaces[]; from
// then on the store's items replace those three sections (the rest of the
// config file still applies). Also the item conversions the CLI and the
// StoreService share.
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
RuntimeItems runtime_items(const Store::Items &items);

// Validates the store's items with the rest of `base` (the config file's
// other sections); "" and `out` set to the config they make, or the reason.
std::string config_with(const Config &base, const Store::Items &items, Config &out);

// {"name":..,"options":..,"updated_at":..} of one item.
std::string item_json(const Store::Item &item);

// A namespace's / proxy's options object with its name put inside:
// {"name":NAME,...}. Error when text is not an object or names another.
std::string with_name(const std::string &name, const std::string &text, std::string &out);

}  // namespace gyre
