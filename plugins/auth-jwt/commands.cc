#include "commands.h"

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>
#include <vector>

#include "auth_state.h"
#include "base64.h"
#include "claims.h"
#include "http_get.h"
#include "json_value.h"
#include "jwks.h"
#include "token.h"

namespace gyre::jwt {

namespace {

constexpr long long kDefaultTtl = 604800;  // a week, as Centrifugo

// 168h0m0s, as Go prints a duration.
std::string go_duration(long long s) {
  if (s < 60) return std::to_string(s) + "s";
  if (s < 3600) return std::to_string(s / 60) + "m" + std::to_string(s % 60) + "s";
  return std::to_string(s / 3600) + "h" + std::to_string(s % 3600 / 60) + "m" +
         std::to_string(s % 60) + "s";
}

struct MintArgs {
  std::string user, info, channel;
  bool has_user = false;
  long long ttl = kDefaultTtl;
  bool quiet = false;
};

const char kGentokenUsage[] =
    "Usage: gyre gentoken -u USER [-t TTL] [--info JSON] [-s CHANNEL] [-q] [-c FILE]\n"
    "Prints an HS256 connection token for USER signed with client.token.hmac_secret_key\n"
    "(with -s, a subscription token for CHANNEL, as gensubtoken). TTL in seconds\n"
    "(default 604800, a week; 0 or less: no exp). --info: the info claim (JSON).\n"
    "-q: the token only. The server with this config accepts it.\n";
const char kGensubtokenUsage[] =
    "Usage: gyre gensubtoken -u USER -s CHANNEL [-t TTL] [--info JSON] [-q] [-c FILE]\n"
    "Prints an HS256 subscription token for USER and CHANNEL, signed with\n"
    "client.subscription_token.hmac_secret_key when that section is enabled, else\n"
    "with client.token.hmac_secret_key.\n";
const char kChecktokenUsage[] =
    "Usage: gyre checktoken TOKEN [-c FILE]\n"
    "Verifies a connection token as the server would (keys, aud, iss, exp) and prints\n"
    "its user and claims, or why it is refused (exit 1).\n";
const char kChecksubtokenUsage[] =
    "Usage: gyre checksubtoken TOKEN [-c FILE]\n"
    "The same for a subscription token.\n";

// 0 when parsed, else the exit status (2: bad usage).
int parse_mint(int argc, const char *const *argv, MintArgs &m, const char *usage) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](std::string &out) {
      if (i + 1 >= argc) return false;
      out = argv[++i];
      return true;
    };
    std::string v;
    if (a == "-u" || a == "--user") {
      if (!value(m.user)) return 2;
      m.has_user = true;
    } else if (a == "-t" || a == "--ttl") {
      if (!value(v)) return 2;
      char *end = nullptr;
      m.ttl = std::strtoll(v.c_str(), &end, 10);
      if (v.empty() || *end) {
        fprintf(stderr, "gentoken: --ttl must be a number of seconds\n");
        return 2;
      }
    } else if (a == "-s" || a == "--channel") {
      if (!value(m.channel)) return 2;
    } else if (a == "--info") {
      if (!value(m.info)) return 2;
      JsonValue j;
      std::string err;
      if (!parse_json(m.info, j, err)) {
        fprintf(stderr, "gentoken: --info is not JSON (%s)\n", err.c_str());
        return 2;
      }
    } else if (a == "-q" || a == "--quiet") {
      m.quiet = true;
    } else {
      fprintf(stderr, "unknown argument %s\n%s", a.c_str(), usage);
      return 2;
    }
  }
  if (!m.has_user) {
    fprintf(stderr, "-u USER is required\n%s", usage);
    return 2;
  }
  return 0;
}

int mint(JwtAuth &a, const MintArgs &m, bool subscription) {
  TokenSettings &ts = subscription ? a.subscription_settings() : a.conn;
  if (!ts.hmac) {
    fprintf(stderr, "error: minting needs client.%s.hmac_secret_key in the config\n",
            subscription && a.sub_enabled ? "subscription_token" : "token");
    return 1;
  }
  long long now = static_cast<long long>(std::time(nullptr));
  std::string claims = "{" + json_quote(ts.user_claim) + ":" + json_quote(m.user);
  if (subscription) claims += ",\"channel\":" + json_quote(m.channel);
  claims += ",\"iat\":" + std::to_string(now);
  if (m.ttl > 0) claims += ",\"exp\":" + std::to_string(now + m.ttl);
  if (!m.info.empty()) claims += ",\"info\":" + m.info;
  claims += "}";
  std::string input =
      base64url_encode(R"({"alg":"HS256","typ":"JWT"})") + "." + base64url_encode(claims);
  std::string token = input + "." + base64url_encode(ts.hmac->sign_hmac(Alg::HS256, input));
  if (!m.quiet) {
    std::string ttl =
        m.ttl > 0 ? "with expiration TTL " + go_duration(m.ttl) : "without expiration";
    if (subscription)
      printf("HMAC SHA-256 JWT for user \"%s\" and channel \"%s\" %s:\n", m.user.c_str(),
             m.channel.c_str(), ttl.c_str());
    else
      printf("HMAC SHA-256 JWT for user \"%s\" %s:\n", m.user.c_str(), ttl.c_str());
  }
  printf("%s\n", token.c_str());
  return 0;
}

int gentoken(void *state, int argc, const char *const *argv) {
  MintArgs m;
  if (int rc = parse_mint(argc, argv, m, kGentokenUsage)) return rc;
  return mint(*static_cast<JwtAuth *>(state), m, !m.channel.empty());
}

int gensubtoken(void *state, int argc, const char *const *argv) {
  MintArgs m;
  if (int rc = parse_mint(argc, argv, m, kGensubtokenUsage)) return rc;
  if (m.channel.empty()) {
    fprintf(stderr, "-s CHANNEL is required\n%s", kGensubtokenUsage);
    return 2;
  }
  return mint(*static_cast<JwtAuth *>(state), m, true);
}

int check(void *state, int argc, const char *const *argv, bool subscription, const char *usage) {
  if (argc != 2) {
    fputs(usage, stderr);
    return 2;
  }
  JwtAuth &a = *static_cast<JwtAuth *>(state);
  TokenSettings &ts = subscription ? a.subscription_settings() : a.conn;
  if (!ts.configured()) {
    fprintf(stderr, "error: no key in client.%s.* to check tokens with\n",
            subscription && a.sub_enabled ? "subscription_token" : "token");
    return 1;
  }
  Token t;
  std::string why;
  if (!decode_token(argv[1], t, why)) {
    fprintf(stderr, "token is invalid: %s\n", why.c_str());
    return 1;
  }
  // No loop runs here: the JWKS is fetched right now.
  KeyRing ring;
  const KeyRing *use = nullptr;
  if (!ts.jwks_url.empty()) {
    HttpResult h = http_get(ts.jwks_url, JwksSource::kFetchTimeoutMs * JwksSource::kAttempts,
                            JwksSource::kMaxBody);
    if (h.status != 200) why = h.status ? "HTTP status " + std::to_string(h.status) : h.error;
    if (h.status != 200 || !parse_jwks(h.body, ring, why)) {
      fprintf(stderr, "error: JWKS %s: %s\n", ts.jwks_url.c_str(), why.c_str());
      return 1;
    }
    use = &ring;
  }
  int64_t now = static_cast<int64_t>(std::time(nullptr));
  switch (ts.verifier->check(t, now, use, why)) {
    case Verdict::Ok: break;
    case Verdict::Expired: fprintf(stderr, "token is expired: %s\n", why.c_str()); return 1;
    default: fprintf(stderr, "token is invalid: %s\n", why.c_str()); return 1;
  }
  std::string user;
  if (subscription) {
    SubscribeClaims c;
    if (!read_subscribe_claims(t.claims, ts.user_claim, now, c, why)) {
      fprintf(stderr, "token is invalid: %s\n", why.c_str());
      return 1;
    }
    printf("valid subscription token for user \"%s\" and channel \"%s\"\n", c.user.c_str(),
           c.channel.c_str());
  } else {
    ConnectClaims c;
    if (!read_connect_claims(t.claims, ts.user_claim, now, c, why)) {
      fprintf(stderr, "token is invalid: %s\n", why.c_str());
      return 1;
    }
    printf("valid token for user \"%s\"\n", c.user.c_str());
  }
  printf("payload: %s\n", t.payload->c_str());
  return 0;
}

int checktoken(void *state, int argc, const char *const *argv) {
  return check(state, argc, argv, false, kChecktokenUsage);
}

int checksubtoken(void *state, int argc, const char *const *argv) {
  return check(state, argc, argv, true, kChecksubtokenUsage);
}

}  // namespace

const gyre_command kCommands[] = {
    {"gentoken", "print an HS256 connection token the config accepts", kGentokenUsage, gentoken},
    {"gensubtoken", "print an HS256 subscription token", kGensubtokenUsage, gensubtoken},
    {"checktoken", "verify a connection token and print its claims", kChecktokenUsage, checktoken},
    {"checksubtoken", "verify a subscription token and print its claims", kChecksubtokenUsage,
     checksubtoken},
    {nullptr, nullptr, nullptr, nullptr},
};

}  // namespace gyre::jwt
