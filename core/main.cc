#include "cli.h"

int main(int argc, char **argv) { return gyre::run_cli(argc, argv); }
