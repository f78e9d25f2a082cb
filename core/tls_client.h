// TlsClient: the client side of TLS for https:// backends, configured with
// Centrifugo's TLS object (spec server-api.md §3.1, a proxy's `http.tls`):
// which CAs to trust (the system's by default), a client certificate for
// mutual TLS, the name to check, or no check at all.
//
// Threads: built once (config parsing, on whatever thread parses), then
// immutable; new_ssl() may be called from any loop thread at once (OpenSSL's
// SSL_CTX is safe to share once configured). Lifetime: shared by every
// config snapshot that names the same material, and by the HttpClient pools
// using it.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "json.h"

typedef struct ssl_st SSL;
typedef struct ssl_ctx_st SSL_CTX;

namespace gyre {

struct TlsOptions {
  bool enabled = false;  // false: https:// still works, with the defaults
  // Each as configured: PEM text, base64 of PEM text, or a file path.
  std::string cert_pem, key_pem, server_ca_pem;
  bool insecure_skip_verify = false;
  std::string server_name;  // the name to send (SNI) and check instead of the URL's host
};

// The TLS object at `v`. An error naming the member, or "".
std::string parse_tls_options(const json::Value &v, TlsOptions &out,
                              std::vector<std::string> &warnings);

class TlsClient {
 public:
  // Reads the material (files too) and builds the context; nullptr and
  // `err` (naming the option) when something cannot be used.
  static std::shared_ptr<const TlsClient> make(const TlsOptions &o, std::string &err);
  ~TlsClient();
  TlsClient(const TlsClient &) = delete;
  TlsClient &operator=(const TlsClient &) = delete;

  // A new SSL for one connection to `host` (the URL's host): SNI and the
  // certificate name check set up. The caller owns it; nullptr on failure.
  SSL *new_ssl(const std::string &host) const;

  // Equal for two clients built from equal material: connection pools key on
  // it, so a config reload keeps its keep-alive connections.
  const std::string &id() const { return id_; }

 private:
  TlsClient() = default;
  SSL_CTX *ctx_ = nullptr;
  bool verify_ = true;
  std::string server_name_;
  std::string id_;
};

// An IPv4 or IPv6 address rather than a name: checked against the
// certificate's IP SANs and sent without SNI; HttpClient does not resolve it.
bool is_ip_literal(const std::string &host);

// The message of one OpenSSL error code, e.g. "certificate verify failed".
std::string tls_error_text(unsigned long code);

// Why a connection made by new_ssl() failed, from `codes` (what a
// bufferevent recorded, oldest first: SSL_get_error()'s result, then the
// error queue) and the certificate check's own reason, which survives
// SSL_clear(); e.g. "certificate verify failed (unable to get local issuer
// certificate)". Clears that reason. "" when they tell no more than that
// the connection was refused, reset or closed.
std::string tls_failure_text(SSL *ssl, const std::vector<unsigned long> &codes);

}  // namespace gyre
