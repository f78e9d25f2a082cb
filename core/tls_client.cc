#include "tls_client.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <sstream>

#include "base64.h"
#include "config.h"

namespace gyre {

namespace {

constexpr size_t kMaxPemBytes = 1 << 20;

bool has_pem(const std::string &s) { return s.find("-----BEGIN ") != std::string::npos; }

// Centrifugo's rule for a PEM value: PEM text, base64 of PEM text, or a file
// path, tried in that order.
std::string load_pem(const std::string &value, std::string &out) {
  if (has_pem(value)) {
    out = value;
    return "";
  }
  std::string compact;
  for (char c : value)
    if (c != '\n' && c != '\r' && c != ' ' && c != '\t') compact += c;
  if (b64decode(compact, out) && has_pem(out)) return "";
  std::ifstream f(value, std::ios::binary);
  if (!f) return "not PEM, base64 PEM or a readable file (" + value + ": " + strerror(errno) + ")";
  std::ostringstream s;
  s << f.rdbuf();
  out = s.str();
  if (out.size() > kMaxPemBytes) return "file " + value + " is larger than 1 MiB";
  if (!has_pem(out)) return "file " + value + " holds no PEM block";
  return "";
}

struct BioFree {
  void operator()(BIO *b) const { BIO_free(b); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;

BioPtr mem_bio(const std::string &s) {
  return BioPtr(BIO_new_mem_buf(s.data(), static_cast<int>(s.size())));
}

std::string openssl_reason() {
  unsigned long code = ERR_peek_last_error();
  ERR_clear_error();
  return code ? tls_error_text(code) : "unknown OpenSSL error";
}

std::string add_cas(SSL_CTX *ctx, const std::string &pem) {
  BioPtr bio = mem_bio(pem);
  X509_STORE *store = SSL_CTX_get_cert_store(ctx);
  int n = 0;
  while (X509 *cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    int ok = X509_STORE_add_cert(store, cert);
    X509_free(cert);
    if (!ok) return "cannot add a certificate: " + openssl_reason();
    ++n;
  }
  ERR_clear_error();  // the end of the input reads as an error
  if (n == 0) return "no certificate in it";
  return "";
}

// Encrypted keys are refused (as Go's tls.X509KeyPair does) rather than
// asked for on the terminal.
int refuse_password(char *, int, int, void *) { return -1; }

std::string use_identity(SSL_CTX *ctx, const std::string &cert_pem, const std::string &key_pem) {
  BioPtr certs = mem_bio(cert_pem);
  X509 *leaf = PEM_read_bio_X509(certs.get(), nullptr, nullptr, nullptr);
  if (!leaf) return "cert_pem: no certificate in it";
  int ok = SSL_CTX_use_certificate(ctx, leaf);
  X509_free(leaf);
  if (!ok) return "cert_pem: " + openssl_reason();
  // The rest of the file is the chain the backend may need to reach its CA.
  while (X509 *extra = PEM_read_bio_X509(certs.get(), nullptr, nullptr, nullptr))
    if (!SSL_CTX_add_extra_chain_cert(ctx, extra)) X509_free(extra);  // ctx owns it on success
  ERR_clear_error();
  BioPtr keys = mem_bio(key_pem);
  EVP_PKEY *key = PEM_read_bio_PrivateKey(keys.get(), nullptr, refuse_password, nullptr);
  if (!key) return "key_pem: no unencrypted private key in it (" + openssl_reason() + ")";
  ok = SSL_CTX_use_PrivateKey(ctx, key);
  EVP_PKEY_free(key);
  if (!ok || !SSL_CTX_check_private_key(ctx))
    return "key_pem: does not match cert_pem (" + openssl_reason() + ")";
  return "";
}

std::string sha256_hex(const std::string &s) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(s.data(), s.size(), md, &n, EVP_sha256(), nullptr);
  static const char *hex = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < n; ++i) {
    out += hex[md[i] >> 4];
    out += hex[md[i] & 15];
  }
  return out;
}

// Where the verify callback leaves the first X509_V_ERR_* of a handshake:
// evhttp resets the SSL (SSL_clear drops the verify result) before it
// reports the failure, and ex_data is not reset.
int verify_error_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

int record_verify_error(int ok, X509_STORE_CTX *store) {
  if (!ok) {
    auto *ssl =
        static_cast<SSL *>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
    if (ssl && !SSL_get_ex_data(ssl, verify_error_index())) {
      intptr_t code = X509_STORE_CTX_get_error(store);
      SSL_set_ex_data(ssl, verify_error_index(), reinterpret_cast<void *>(code));
    }
  }
  return ok;
}

}  // namespace

bool is_ip_literal(const std::string &host) {
  unsigned char buf[sizeof(struct in6_addr)];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

std::string tls_error_text(unsigned long code) {
  const char *reason = ERR_reason_error_string(code);
  if (reason) return reason;
  char buf[256];
  ERR_error_string_n(code, buf, sizeof buf);
  return buf;
}

std::string tls_failure_text(SSL *ssl, const std::vector<unsigned long> &codes) {
  // The queue's errors have a library; the rest is SSL_get_error()'s
  // result, which (SSL_ERROR_SYSCALL: refused, reset, closed) says no more
  // than the caller's own text.
  std::string text;
  for (unsigned long code : codes) {
    if (ERR_GET_LIB(code) != 0) {
      text = tls_error_text(code);
      break;
    }
  }
  if (ssl) {
    auto verify = reinterpret_cast<intptr_t>(SSL_get_ex_data(ssl, verify_error_index()));
    if (verify) {
      SSL_set_ex_data(ssl, verify_error_index(), nullptr);
      std::string why = X509_verify_cert_error_string(static_cast<long>(verify));
      text = text.empty() ? why : text + " (" + why + ")";
    }
  }
  return text;
}

std::string parse_tls_options(const json::Value &v, TlsOptions &out,
                              std::vector<std::string> &warnings) {
  if (!v.is_object()) return "must be an object";
  for (auto m = v.first_child(); m; m = m.next_sibling()) {
    std::string k = m.key();
    std::string err;
    if (k == "enabled") {
      err = get_bool(m, out.enabled);
    } else if (k == "cert_pem") {
      err = get_string(m, out.cert_pem);
    } else if (k == "key_pem") {
      err = get_string(m, out.key_pem);
    } else if (k == "server_ca_pem") {
      err = get_string(m, out.server_ca_pem);
    } else if (k == "insecure_skip_verify") {
      err = get_bool(m, out.insecure_skip_verify);
    } else if (k == "server_name") {
      err = get_string(m, out.server_name);
    } else if (k == "client_ca_pem") {
      warnings.push_back("tls.client_ca_pem: a server's option, not used to call a backend");
    } else {
      warnings.push_back("unknown key tls." + k);
    }
    if (!err.empty()) return k + ": " + err;
  }
  return "";
}

std::shared_ptr<const TlsClient> TlsClient::make(const TlsOptions &o, std::string &err) {
  std::string ca, cert, key;
  bool custom = o.enabled;
  if (custom && !o.server_ca_pem.empty()) {
    if (std::string e = load_pem(o.server_ca_pem, ca); !e.empty()) {
      err = "server_ca_pem: " + e;
      return nullptr;
    }
  }
  if (custom && (!o.cert_pem.empty() || !o.key_pem.empty())) {
    if (o.cert_pem.empty() || o.key_pem.empty()) {
      err = o.cert_pem.empty() ? "key_pem: needs cert_pem" : "cert_pem: needs key_pem";
      return nullptr;
    }
    if (std::string e = load_pem(o.cert_pem, cert); !e.empty()) {
      err = "cert_pem: " + e;
      return nullptr;
    }
    if (std::string e = load_pem(o.key_pem, key); !e.empty()) {
      err = "key_pem: " + e;
      return nullptr;
    }
  }

  std::shared_ptr<TlsClient> c(new TlsClient());
  c->ctx_ = SSL_CTX_new(TLS_client_method());
  if (!c->ctx_) {
    err = "cannot create a TLS context: " + openssl_reason();
    return nullptr;
  }
  // Go's client minimum, which Centrifugo's backends already accept.
  SSL_CTX_set_min_proto_version(c->ctx_, TLS1_2_VERSION);
#ifdef SSL_OP_IGNORE_UNEXPECTED_EOF
  // A backend closing without close_notify is an EOF (as for Go's client),
  // not an error: libevent 2.1 knows only OpenSSL 1.1's way of saying so.
  SSL_CTX_set_options(c->ctx_, SSL_OP_IGNORE_UNEXPECTED_EOF);
#endif
  // An encrypted key would make OpenSSL prompt on the terminal.
  SSL_CTX_set_default_passwd_cb(c->ctx_, refuse_password);
  c->verify_ = !(custom && o.insecure_skip_verify);
  c->server_name_ = custom ? o.server_name : "";
  verify_error_index();  // allocated here, on one thread, before any loop uses it
  SSL_CTX_set_verify(c->ctx_, c->verify_ ? SSL_VERIFY_PEER : SSL_VERIFY_NONE,
                     c->verify_ ? record_verify_error : nullptr);
  std::string e = ca.empty() ? (SSL_CTX_set_default_verify_paths(c->ctx_) ? "" : openssl_reason())
                             : add_cas(c->ctx_, ca);
  if (!e.empty()) {
    err = "server_ca_pem: " + e;
    return nullptr;
  }
  if (!cert.empty()) {
    if (e = use_identity(c->ctx_, cert, key); !e.empty()) {
      err = e;
      return nullptr;
    }
  }
  c->id_ = sha256_hex(std::string(c->verify_ ? "verify" : "no-verify") + '\0' + c->server_name_ +
                      '\0' + ca + '\0' + cert + '\0' + key);
  return c;
}

TlsClient::~TlsClient() {
  if (ctx_) SSL_CTX_free(ctx_);
}

SSL *TlsClient::new_ssl(const std::string &host) const {
  SSL *ssl = SSL_new(ctx_);
  if (!ssl) return nullptr;
  const std::string &name = server_name_.empty() ? host : server_name_;
  bool ip = is_ip_literal(name);
  // SNI carries host names only (RFC 6066 §3).
  if (!ip) SSL_set_tlsext_host_name(ssl, name.c_str());
  if (verify_) {
    int ok = ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name.c_str())
                : SSL_set1_host(ssl, name.c_str());
    if (!ok) {
      SSL_free(ssl);
      return nullptr;
    }
  }
  return ssl;
}

}  // namespace gyre
