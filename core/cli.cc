#include "cli.h"

#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "cli_store.h"
#include "config.h"
#include "config_store.h"
#include "json.h"
#include "log.h"
#include "node.h"
#include "version.h"

namespace gyre {

namespace {

const char kMainHelp[] =
    "gyre - a real-time messaging server speaking Centrifugo's protocols\n"
    "\n"
    "Usage:\n"
    "  gyre [serve] [flags]        run the server (default command)\n"
    "  gyre genconfig [-c FILE]    write a minimal config with a random API key\n"
    "  gyre checkconfig [-c] FILE  validate a config file (exit 1 on error)\n"
    "  gyre plugins [-c FILE]      load and list the plugins a config asks for\n"
    "  gyre ns|proxy|rpc list|get|set|delete ...  namespaces, proxies, RPC\n"
    "                              namespaces in the store: through the running\n"
    "                              server's API, else in store.path; gyre ns --help\n"
    "  gyre version                print the version\n"
    "  gyre COMMAND [-c FILE] ...  a command of a plugin the config loads (auth-jwt,\n"
    "                              loaded by client.token.*: gentoken, gensubtoken,\n"
    "                              checktoken, checksubtoken); gyre COMMAND --help\n"
    "\n"
    "Serve flags (flags > GYRE_* environment > config file > defaults):\n"
    "  -c, --config FILE              config file (default config.json; may be absent)\n"
    "  -p, --http_server.port PORT    listen port (default 8000)\n"
    "  -a, --http_server.address ADDR listen address (default all interfaces)\n"
    "      --log.level LEVEL          debug, info, warn, error, none\n"
    "      --engine.type TYPE         memory (default) or redis\n"
    "      --client.insecure          allow every connection and channel (development)\n"
    "      --http_api.insecure        serve the HTTP API without a key (development)\n"
    "      --health.enabled           serve GET /health\n"
    "      --sse.enabled              SSE emulation at /connection/sse (+ /emulation)\n"
    "      --http_stream.enabled      HTTP-streaming emulation at /connection/http_stream\n"
    "      --uni_sse.enabled          unidirectional SSE at /connection/uni_sse\n"
    "      --uni_http_stream.enabled  unidirectional HTTP stream at\n"
    "                                 /connection/uni_http_stream\n"
    "      --uni_websocket.enabled    unidirectional WebSocket at\n"
    "                                 /connection/uni_websocket\n"
    "                                 (these five load the transport-sse plugin)\n"
    "  -h, --help                     this help\n"
    "\n"
    "Environment: GYRE_ + the option path upper-cased with '.' as '_',\n"
    "e.g. GYRE_HTTP_API_KEY, GYRE_CLIENT_ALLOWED_ORIGINS (space-separated),\n"
    "GYRE_CHANNEL_NAMESPACES (a JSON array). See docs/configuration.md.\n";

const char kGenconfigHelp[] =
    "Usage: gyre genconfig [-c FILE] [--dev]\n"
    "Writes a minimal config (default config.json) with a random http_api.key and\n"
    "client.token.hmac_secret_key. Refuses to overwrite an existing file.\n"
    "--dev also lets anonymous connections (no token) subscribe to channels\n"
    "without namespace, with presence, join/leave, history and recovery, and\n"
    "keeps namespaces and proxies in the store gyre.db (store.path): for local\n"
    "development only.\n";

const char kCheckconfigHelp[] =
    "Usage: gyre checkconfig [-c] FILE [--strict]\n"
    "Loads and validates FILE, and the plugins it asks for (their config\n"
    "sections; their init runs, the server does not start). Prints nothing and\n"
    "exits 0 when valid; prints the problem (naming the key) and exits 1\n"
    "otherwise. --strict also fails on unknown keys.\n";

const char kPluginsHelp[] =
    "Usage: gyre plugins [-c FILE]\n"
    "Loads the plugins the config asks for (the engine of engine.type, auth-jwt\n"
    "for client.token.*, transport-sse for sse/http_stream/uni_*, then\n"
    "plugins.load; same config sources as serve), checks their ABI and their\n"
    "config sections, runs their init and destroy, and lists each: name,\n"
    "version, kinds, ABI version, file. Exits 1 with the reason when one fails.\n"
    "The server is not started.\n";

const char kVersionHelp[] = "Usage: gyre version\nPrints the version.\n";

std::string random_token(size_t n) {
  static const char alphabet[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  std::vector<unsigned char> b(n);
  if (getrandom(b.data(), n, 0) != static_cast<ssize_t>(n)) return {};
  std::string s;
  for (unsigned char c : b) s += alphabet[c % 62];
  return s;
}

bool wants_help(int argc, char **argv, int from) {
  for (int i = from; i < argc; ++i)
    if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) return true;
  return false;
}

int cmd_version(int argc, char **argv) {
  if (wants_help(argc, argv, 2)) {
    fputs(kVersionHelp, stdout);
    return 0;
  }
  printf("Gyre v%s\n", kGyreVersion);
  return 0;
}

int cmd_genconfig(int argc, char **argv) {
  if (wants_help(argc, argv, 2)) {
    fputs(kGenconfigHelp, stdout);
    return 0;
  }
  std::string path = "config.json";
  bool dev = false;
  for (int i = 2; i < argc; ++i) {
    if ((!strcmp(argv[i], "-c") || !strcmp(argv[i], "--config")) && i + 1 < argc)
      path = argv[++i];
    else if (!strcmp(argv[i], "--dev"))
      dev = true;
    else {
      fprintf(stderr, "genconfig: unknown argument %s\n%s", argv[i], kGenconfigHelp);
      return 2;
    }
  }
  struct stat st;
  if (stat(path.c_str(), &st) == 0) {
    fprintf(stderr, "genconfig: %s already exists, not overwriting\n", path.c_str());
    return 1;
  }
  std::string key = random_token(64), secret = random_token(64);
  if (key.empty() || secret.empty()) {
    fprintf(stderr, "genconfig: no randomness available\n");
    return 1;
  }
  // Secrets are [A-Za-z0-9], so they need no escaping.
  std::string out = "{\n  \"client\": {\n    \"token\": {\"hmac_secret_key\": \"" + secret +
                    "\"},\n    \"allowed_origins\": []";
  if (dev) out += ",\n    \"allow_anonymous_connect_without_token\": true";
  out += "\n  },\n  \"http_api\": {\"key\": \"" + key + "\"}";
  if (dev)
    out +=
        ",\n  \"health\": {\"enabled\": true},\n  \"channel\": {\n    \"without_namespace\": {\n"
        "      \"allow_subscribe_for_client\": true, \"allow_subscribe_for_anonymous\": true,\n"
        "      \"allow_publish_for_subscriber\": true, \"allow_publish_for_anonymous\": true,\n"
        "      \"presence\": true, \"allow_presence_for_subscriber\": true,\n"
        "      \"allow_presence_for_anonymous\": true, \"join_leave\": true,\n"
        "      \"history_size\": 100, \"history_ttl\": \"300s\", \"force_recovery\": true,\n"
        "      \"allow_history_for_subscriber\": true, \"allow_history_for_anonymous\": true\n"
        "    }\n  },\n  \"store\": {\"path\": \"gyre.db\"}";
  out += "\n}\n";
  std::ofstream f(path);
  if (!f) {
    fprintf(stderr, "genconfig: cannot write %s\n", path.c_str());
    return 1;
  }
  f << out;
  f.close();
  Config cfg;
  ConfigResult r = load_config_file(path, cfg);
  if (!r.ok) {
    remove(path.c_str());
    fprintf(stderr, "genconfig: generated config is invalid: %s\n", r.error.c_str());
    return 1;
  }
  printf("%s created\n", path.c_str());
  return 0;
}

// Loads every plugin `cfg` asks for into `host`, in plan order, calling
// each(plugin, load) after each one. False with `error` at the first that
// fails (or cannot be the engine).
bool load_planned(PluginHost &host, const Config &cfg, std::string &error,
                  const std::function<void(Plugin &, const PluginLoad &)> &each = {}) {
  host.set_config(cfg);
  for (const auto &load : PluginHost::plan(cfg)) {
    Plugin *p = host.load(load, error);
    if (p && load.engine) error = engine_unfit(*p);
    if (!p || !error.empty()) return false;
    if (each) each(*p, load);
  }
  return true;
}

int cmd_checkconfig(int argc, char **argv) {
  if (wants_help(argc, argv, 2)) {
    fputs(kCheckconfigHelp, stdout);
    return 0;
  }
  std::string path;
  bool strict = false;
  for (int i = 2; i < argc; ++i) {
    if ((!strcmp(argv[i], "-c") || !strcmp(argv[i], "--config")) && i + 1 < argc)
      path = argv[++i];
    else if (!strcmp(argv[i], "--strict"))
      strict = true;
    else if (argv[i][0] != '-' && path.empty())
      path = argv[i];
    else {
      fprintf(stderr, "checkconfig: unknown argument %s\n%s", argv[i], kCheckconfigHelp);
      return 2;
    }
  }
  if (path.empty()) path = "config.json";
  Config cfg;
  ConfigResult r = load_config_file(path, cfg);
  if (!r.ok) {
    for (const auto &wmsg : r.warnings) fprintf(stderr, "warning: %s\n", wmsg.c_str());
    fprintf(stderr, "error: %s\n", r.error.c_str());
    return 1;
  }
  // The plugins the config asks for check their own sections, and the keys
  // they claim are no warning.
  set_log_level(LogLevel::Warn);
  Loop loop;
  NoEngineEvents events;
  PluginHost host(loop, events);
  std::string error;
  bool loaded = load_planned(host, cfg, error);
  std::vector<std::string> warnings =
      unclaimed_warnings(r.warnings, host.claimed_keys(), cfg.file_json);
  host.shutdown();
  for (const auto &wmsg : warnings) fprintf(stderr, "warning: %s\n", wmsg.c_str());
  if (!loaded) {
    fprintf(stderr, "error: %s\n", error.c_str());
    return 1;
  }
  if (strict && !warnings.empty()) {
    fprintf(stderr, "error: --strict: unknown or unsupported keys (see warnings above)\n");
    return 1;
  }
  return 0;
}

std::string kinds_text(uint32_t kinds) {
  std::string out;
  auto add = [&out](const char *k) { out += (out.empty() ? "" : ",") + std::string(k); };
  if (kinds & GYRE_PLUGIN_ENGINE) add("engine");
  if (kinds & GYRE_PLUGIN_AUTH) add("auth");
  if (kinds & GYRE_PLUGIN_TRANSPORT) add("transport");
  uint32_t unknown =
      kinds & ~static_cast<uint32_t>(GYRE_PLUGIN_ENGINE | GYRE_PLUGIN_AUTH | GYRE_PLUGIN_TRANSPORT);
  if (unknown) {
    char hex[16];
    snprintf(hex, sizeof hex, "0x%x", unknown);
    add(hex);
  }
  return out.empty() ? "-" : out;
}

int cmd_plugins(int argc, char **argv) {
  if (wants_help(argc, argv, 2)) {
    fputs(kPluginsHelp, stdout);
    return 0;
  }
  ConfigFlags flags;
  bool explicit_path = false;
  for (int i = 2; i < argc; ++i) {
    if ((!strcmp(argv[i], "-c") || !strcmp(argv[i], "--config")) && i + 1 < argc) {
      flags.config_path = argv[++i];
      explicit_path = true;
    } else {
      fprintf(stderr, "plugins: unknown argument %s\n%s", argv[i], kPluginsHelp);
      return 2;
    }
  }
  Config cfg;
  ConfigResult r = load_config(flags, explicit_path, cfg);
  if (!r.ok) {
    for (const auto &wmsg : r.warnings) fprintf(stderr, "warning: %s\n", wmsg.c_str());
    fprintf(stderr, "error: %s\n", r.error.c_str());
    return 1;
  }
  set_log_level(LogLevel::Warn);  // plugin init lines would interleave with the list
  Loop loop;
  NoEngineEvents events;
  PluginHost host(loop, events);
  std::string error;
  int status = 0;
  auto list = [](Plugin &plugin, const PluginLoad &load) {
    Plugin *p = &plugin;
    const gyre_plugin_descriptor &d = p->descriptor();
    printf("%s %s  kinds: %s  ABI %u.%u  %s\n", p->name().c_str(), d.version ? d.version : "?",
           kinds_text(d.kinds).c_str(), d.abi_major, d.abi_minor, load.path.c_str());
    if (d.description && *d.description) printf("    %s\n", d.description);
    if (d.abi_minor >= 1 && d.config_section)
      printf("    settings: config section \"%s\"\n", d.config_section);
    for (const auto &route : p->routes()) printf("    route: %s\n", route.c_str());
    std::string commands;
    for (const gyre_command *c = d.abi_minor >= 2 ? d.commands : nullptr; c && c->name; ++c)
      commands += (commands.empty() ? "" : ", ") + std::string(c->name);
    if (!commands.empty()) printf("    commands: %s\n", commands.c_str());
  };
  if (!load_planned(host, cfg, error, list)) {
    fprintf(stderr, "error: %s\n", error.c_str());
    status = 1;
  }
  // Warnings last: keys the plugins' bound sections claim are no warning.
  for (const auto &wmsg : unclaimed_warnings(r.warnings, host.claimed_keys(), cfg.file_json))
    fprintf(stderr, "warning: %s\n", wmsg.c_str());
  host.shutdown();
  if (status == 0) printf("host ABI %d.%d: every plugin loads\n", GYRE_ABI_MAJOR, GYRE_ABI_MINOR);
  return status;
}

// `gyre <name> ...` for a command a plugin offers (gyre_command, ABI 1.2):
// the plugins the config asks for are loaded and initialized, the server
// does not start.
int cmd_plugin(int argc, char **argv) {
  std::string name = argv[1];
  ConfigFlags flags;
  bool explicit_path = false;
  bool help = false;
  std::vector<std::string> args{name};
  for (int i = 2; i < argc; ++i) {
    std::string a = argv[i];
    if ((a == "-c" || a == "--config") && i + 1 < argc) {
      flags.config_path = argv[++i];
      explicit_path = true;
      continue;
    }
    if (a == "-h" || a == "--help") help = true;
    args.push_back(std::move(a));
  }
  Config cfg;
  ConfigResult r = load_config(flags, explicit_path, cfg);
  if (!r.ok) {
    fprintf(stderr, "error: %s\n", r.error.c_str());
    return 1;
  }
  set_log_level(LogLevel::Warn);
  Loop loop;
  NoEngineEvents events;
  PluginHost host(loop, events);
  host.set_config(cfg);
  const gyre_command *command = nullptr;
  Plugin *owner = nullptr;
  for (const auto &load : PluginHost::plan(cfg)) {
    std::string error;
    Plugin *p = host.load(load, error);
    if (!p) {
      fprintf(stderr, "error: %s\n", error.c_str());
      return 1;
    }
    if (!command && (command = p->command(name))) owner = p;
  }
  if (!command) {
    fprintf(stderr,
            "gyre: unknown command %s (no plugin this config loads offers it; see gyre --help)\n",
            name.c_str());
    return 2;
  }
  if (help) {
    fputs(command->usage ? command->usage : command->summary ? command->summary : "", stdout);
    return 0;
  }
  std::vector<const char *> argv_out;
  for (const auto &a : args) argv_out.push_back(a.c_str());
  argv_out.push_back(nullptr);
  int status = 1;
  try {
    status = command->run(owner->state(), static_cast<int>(args.size()), argv_out.data());
  } catch (...) {
    fprintf(stderr, "error: %s: the command failed\n", name.c_str());
  }
  fflush(stdout);
  host.shutdown();
  return status;
}

int cmd_serve(int argc, char **argv, int from) {
  if (wants_help(argc, argv, from)) {
    fputs(kMainHelp, stdout);
    return 0;
  }
  ConfigFlags flags;
  bool explicit_path = false;
  static const char *kBoolFlags[] = {"client.insecure",         "http_api.insecure",
                                     "health.enabled",          "sse.enabled",
                                     "http_stream.enabled",     "uni_sse.enabled",
                                     "uni_http_stream.enabled", "uni_websocket.enabled"};
  static const char *kValueFlags[] = {"http_server.port", "http_server.address", "log.level",
                                      "engine.type"};
  for (int i = from; i < argc; ++i) {
    std::string a = argv[i];
    std::string value;
    bool has_value = false;
    if (a.starts_with("--") && a.find('=') != std::string::npos) {
      value = a.substr(a.find('=') + 1);
      a = a.substr(0, a.find('='));
      has_value = true;
    }
    auto next = [&](std::string &out) {
      if (has_value) {
        out = value;
        return true;
      }
      if (i + 1 >= argc) return false;
      out = argv[++i];
      return true;
    };
    std::string v;
    if (a == "-c" || a == "--config") {
      if (!next(flags.config_path)) goto missing;
      explicit_path = true;
      continue;
    }
    if (a == "-p") a = "--http_server.port";
    if (a == "-a") a = "--http_server.address";
    {
      bool done = false;
      for (const char *f : kValueFlags) {
        if (a == std::string("--") + f) {
          if (!next(v)) goto missing;
          flags.values[f] = v;
          done = true;
        }
      }
      for (const char *f : kBoolFlags) {
        if (a == std::string("--") + f) {
          flags.values[f] = has_value ? value : "true";
          done = true;
        }
      }
      if (done) continue;
    }
    fprintf(stderr, "gyre: unknown flag %s (see gyre --help)\n", argv[i]);
    return 2;
  missing:
    fprintf(stderr, "gyre: flag %s needs a value\n", argv[i]);
    return 2;
  }
  Config cfg;
  ConfigResult r = load_config(flags, explicit_path, cfg);
  if (!r.ok) {
    for (const auto &wmsg : r.warnings) LOG_WARN("config: %s", wmsg.c_str());
    LOG_ERROR("config: %s", r.error.c_str());
    return 1;
  }
  std::string store_note;
  if (std::string e = apply_store(cfg, r.warnings, store_note); !e.empty()) {
    LOG_ERROR("%s (the config file is not changed)", e.c_str());
    return 1;
  }
  if (!store_note.empty()) LOG_INFO("%s", store_note.c_str());
  set_log_level(cfg.log_level);
  // Every connection is a descriptor: allow as many as the hard limit.
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  try {
    Node node(std::move(cfg));
    if (!node.start(r.warnings)) return 1;
    node.run();
    LOG_INFO("stopped");
  } catch (const std::exception &e) {
    LOG_ERROR("fatal: %s", e.what());
    return 1;
  }
  return 0;
}

}  // namespace

int run_cli(int argc, char **argv) {
  if (argc >= 2) {
    std::string cmd = argv[1];
    if (cmd == "version") return cmd_version(argc, argv);
    if (cmd == "genconfig") return cmd_genconfig(argc, argv);
    if (cmd == "checkconfig") return cmd_checkconfig(argc, argv);
    if (cmd == "plugins") return cmd_plugins(argc, argv);
    if (cmd == "ns") return cmd_store(Store::Kind::Namespace, argc, argv);
    if (cmd == "proxy") return cmd_store(Store::Kind::Proxy, argc, argv);
    if (cmd == "rpc") return cmd_store(Store::Kind::RpcNamespace, argc, argv);
    if (cmd == "serve") return cmd_serve(argc, argv, 2);
    if (cmd == "help") {
      fputs(kMainHelp, stdout);
      return 0;
    }
    if (cmd[0] != '-') return cmd_plugin(argc, argv);
  }
  return cmd_serve(argc, argv, 1);
}

}  // namespace gyre
