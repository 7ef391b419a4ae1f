// logi/plugin_framework/utilities.hpp: the seed's plugin utilities (ch. 7.2), over the C ABI of
// `logi_plugin.h`. Header-only, C++17.
#ifndef LOGI_PLUGIN_FRAMEWORK_UTILITIES_HPP
#define LOGI_PLUGIN_FRAMEWORK_UTILITIES_HPP

#include <string>

#include "logi/plugin_framework/error.hpp"
#include "logi_plugin.h"

namespace logi {
namespace plugin_framework {

// Opens `url` in the default browser (seed 7.2.1), without waiting. Only `http://` and
// `https://` URLs; anything else throws `error` with `LOGI_INVALID_ARG`.
inline void open_url(const std::string &url) { detail::check(logi_open_url(url.c_str()), "open_url"); }

// Saves a secret in the system's secret store (seed 7.2.2), replacing an earlier value. Throws
// `error` (`LOGI_NOT_READY`) when the system has no secret store.
inline void save_secret(const std::string &plugin_name, const std::string &name,
                        const std::string &value) {
  detail::check(logi_save_secret(plugin_name.c_str(), name.c_str(), value.c_str()), "save_secret");
}

// Loads a secret saved by `save_secret` (seed 7.2.3); empty when none is saved or the store
// cannot be read, as the seed says.
inline std::string load_secret(const std::string &plugin_name, const std::string &name) {
  logi_bytes value = {nullptr, 0};
  if (logi_load_secret(plugin_name.c_str(), name.c_str(), &value) != LOGI_SUCCESS) return {};
  return detail::take_bytes(value);
}

// Deletes a secret (seed 7.2.4); deleting one that is not there succeeds.
inline void delete_secret(const std::string &plugin_name, const std::string &name) {
  detail::check(logi_delete_secret(plugin_name.c_str(), name.c_str()), "delete_secret");
}

}  // namespace plugin_framework
}  // namespace logi

#endif  // LOGI_PLUGIN_FRAMEWORK_UTILITIES_HPP
