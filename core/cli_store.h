// The store subcommands of the gyre CLI (cli_store.cc).
#pragma once

#include "store.h"

namespace gyre {

// argv[1] is "ns" or "proxy". Exit status: 0, 1 (refused or failed), 2 (usage).
int cmd_store(Store::Kind kind, int argc, char **argv);

}  // namespace gyre
