#include "channel_options.h"

#include "json.h"

namespace gyre {

namespace {
std::string_view strip_private(const ChannelRules &r, std::string_view ch) {
  if (!r.private_prefix.empty() && ch.starts_with(r.private_prefix))
    return ch.substr(r.private_prefix.size());
  return ch;
}
}  // namespace

const ChannelOptions *ChannelRules::resolve(std::string_view channel) const {
  std::string_view rest = strip_private(*this, channel);
  if (namespace_boundary.empty()) return &without_namespace;
  size_t pos = rest.find(namespace_boundary);
  if (pos == std::string_view::npos) return &without_namespace;
  std::string_view ns = rest.substr(0, pos);
  if (ns.empty()) return &without_namespace;  // ":x" has no namespace
  for (const auto &n : namespaces)
    if (n.name == ns) return &n.options;
  return nullptr;
}

std::string_view ChannelRules::namespace_of(std::string_view channel) const {
  std::string_view rest = strip_private(*this, channel);
  if (namespace_boundary.empty()) return {};
  size_t pos = rest.find(namespace_boundary);
  if (pos == std::string_view::npos) return {};
  return rest.substr(0, pos);
}

bool ChannelRules::is_private(std::string_view channel) const {
  return !private_prefix.empty() && channel.starts_with(private_prefix);
}

bool ChannelRules::name_valid(std::string_view channel, const ChannelOptions &opts) const {
  if (opts.compiled_regex) {
    // As Centrifugo: the part after "ns:" (the whole name when there is no
    // namespace), searched like Go's MatchString (unanchored).
    std::string_view rest = strip_private(*this, channel);
    std::string_view tail = channel;
    size_t pos =
        namespace_boundary.empty() ? std::string_view::npos : rest.find(namespace_boundary);
    if (pos != std::string_view::npos) tail = rest.substr(pos + namespace_boundary.size());
    return std::regex_search(tail.begin(), tail.end(), *opts.compiled_regex);
  }
  for (char c : channel)
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  return true;
}

bool ChannelRules::is_user_limited(std::string_view channel) const {
  return !user_boundary.empty() && channel.find(user_boundary) != std::string_view::npos;
}

bool ChannelRules::user_allowed(std::string_view channel, std::string_view user) const {
  size_t pos = channel.rfind(user_boundary);
  if (pos == std::string_view::npos || user.empty()) return false;
  std::string_view list = channel.substr(pos + user_boundary.size());
  while (true) {
    size_t sep = user_separator.empty() ? std::string_view::npos : list.find(user_separator);
    std::string_view item = list.substr(0, sep);
    if (item == user) return true;
    if (sep == std::string_view::npos) return false;
    list = list.substr(sep + user_separator.size());
  }
}

bool ChannelRules::data_format_ok(const ChannelOptions &opts, std::string_view data) const {
  const std::string &fmt =
      opts.publication_data_format.empty() ? publication_data_format : opts.publication_data_format;
  if (fmt == "binary") return true;
  if (data.empty()) return false;
  if (fmt == "json") return json::is_valid(data);
  if (fmt == "json_object") {
    json::Document d;
    return d.parse(data) && d.root().is_object();
  }
  return true;
}

}  // namespace gyre
