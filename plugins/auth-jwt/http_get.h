// A blocking HTTP(S) GET with deadlines, for the JWKS fetcher's own thread
// (never the loop's). HTTPS verifies the server's certificate against the
// system's trust store (OpenSSL's default paths, SSL_CERT_FILE included)
// and its host name.
#pragma once

#include <cstdint>
#include <string>

namespace gyre::jwt {

struct HttpResult {
  int status = 0;     // 0: no answer (see error)
  std::string body;   // at most max_body bytes
  std::string error;  // why there is no answer
};

// url: http://host[:port]/path or https://... timeout_ms bounds the whole
// exchange (resolve, connect, TLS, request, response).
HttpResult http_get(const std::string &url, int64_t timeout_ms, size_t max_body);

}  // namespace gyre::jwt
