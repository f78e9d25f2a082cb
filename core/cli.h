// The `gyre` command line: serve (default), genconfig, checkconfig, version.
#pragma once

namespace gyre {
int run_cli(int argc, char **argv);
}
