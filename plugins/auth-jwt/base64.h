// base64url (JWS segments, RFC 4648 §5, no padding) and standard base64
// (the b64info / b64data claims, padding optional).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace gyre::jwt {

// Decodes unpadded base64url; nullopt on any character outside the
// alphabet, on padding, or on a length no encoding produces.
std::optional<std::string> base64url_decode(std::string_view in);
std::string base64url_encode(std::string_view in);
// Decodes standard base64 ('+', '/'), with or without '=' padding.
std::optional<std::string> base64_decode(std::string_view in);

}  // namespace gyre::jwt
