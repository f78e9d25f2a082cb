// Origin checks for browser connections (client.allowed_origins).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace gyre {

// Centrifugo's rule: an empty list rejects every request that carries an
// Origin header; otherwise the Origin must match one of the glob patterns
// ("*", "https://*.example.com"), ASCII case-insensitively.
bool check_origin(const std::vector<std::string> &allowed, std::string_view origin,
                  std::string_view host);

// Glob match with '*' (any run of characters), case-insensitive.
bool glob_match_icase(std::string_view pattern, std::string_view text);

}  // namespace gyre
