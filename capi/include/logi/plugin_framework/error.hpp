// logi/plugin_framework/error.hpp: how the C++ faces report a failed call of the C ABI.
//
// Every wrapper method that calls into `logi_plugin.h` checks the result: `LOGI_SUCCESS`
// returns normally, any other code throws `logi::plugin_framework::error`, carrying the
// seed's code (`LOGI_INVALID_ARG` ...) and the library's message (`logi_last_error()`), which
// names the argument and the value. Header-only, C++17.
#ifndef LOGI_PLUGIN_FRAMEWORK_ERROR_HPP
#define LOGI_PLUGIN_FRAMEWORK_ERROR_HPP

#include <cstdint>
#include <stdexcept>
#include <string>

#include "logi_plugin.h"

namespace logi {
namespace plugin_framework {

// A call of the C ABI failed: `code()` is the seed's code, `what()` the library's message.
class error : public std::runtime_error {
 public:
  error(int32_t code, const std::string &message) : std::runtime_error(message), code_(code) {}

  // The seed's result code (negative; `LOGI_NOT_READY`, `LOGI_CANCELLED` ...).
  int32_t code() const noexcept { return code_; }

 private:
  int32_t code_;
};

namespace detail {

// Throws `error` unless `code` is `LOGI_SUCCESS`; `what` names the call, for the message.
inline void check(int32_t code, const char *what) {
  if (code == LOGI_SUCCESS) return;
  throw error(code, std::string(what) + ": " + logi_last_error());
}

// Takes ownership of bytes the library returned, as a string (protobuf's byte container).
inline std::string take_bytes(logi_bytes bytes) {
  std::string out;
  if (bytes.data != nullptr) out.assign(reinterpret_cast<const char *>(bytes.data), bytes.len);
  logi_bytes_free(bytes);
  return out;
}

}  // namespace detail
}  // namespace plugin_framework
}  // namespace logi

#endif  // LOGI_PLUGIN_FRAMEWORK_ERROR_HPP
