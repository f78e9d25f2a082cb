// Standard base64 with padding (RFC 4648 §4), on OpenSSL's EVP block codec:
// the server API's b64data fields and the control messages' binary fields.
#pragma once

#include <string>
#include <string_view>

namespace gyre {

std::string b64encode(std::string_view in);
// False (out unspecified) unless `in` is padded base64 of the standard alphabet.
bool b64decode(std::string_view in, std::string &out);

}  // namespace gyre
