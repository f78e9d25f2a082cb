#include "origin.h"

#include <cctype>

namespace gyre {

bool glob_match_icase(std::string_view p, std::string_view t) {
  size_t pi = 0, ti = 0, star = std::string_view::npos, mark = 0;
  while (ti < t.size()) {
    if (pi < p.size() && p[pi] == '*') {
      star = pi++;
      mark = ti;
    } else if (pi < p.size() && tolower(static_cast<unsigned char>(p[pi])) ==
                                    tolower(static_cast<unsigned char>(t[ti]))) {
      ++pi;
      ++ti;
    } else if (star != std::string_view::npos) {
      pi = star + 1;
      ti = ++mark;
    } else {
      return false;
    }
  }
  while (pi < p.size() && p[pi] == '*') ++pi;
  return pi == p.size();
}

bool check_origin(const std::vector<std::string> &allowed, std::string_view origin,
                  std::string_view) {
  if (origin.empty()) return true;
  for (const auto &pattern : allowed)
    if (glob_match_icase(pattern, origin)) return true;
  return false;
}

}  // namespace gyre
