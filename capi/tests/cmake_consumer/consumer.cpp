// A C++17 program built against the installed package: the C ABI's header, the C++ faces'
// error type and the protocol's C++ classes, linked through `logi_plugin::plugin_framework`.
#include <cstdio>
#include <string>

#include "logi/plugin/protocol/protocol.pb.h"
#include "logi/plugin_framework/error.hpp"
#include "logi_plugin.h"

int main() {
  logi::plugin::protocol::TriggerAction press;
  press.set_action_instance_id("counter-1");
  press.set_action_id("increment");
  const std::string bytes = press.SerializeAsString();
  logi::plugin::protocol::TriggerAction read;
  if (!read.ParseFromString(bytes) || read.action_id() != "increment") {
    std::fprintf(stderr, "the TriggerAction did not read back\n");
    return 1;
  }
  std::printf("%s: %zu bytes\n", press.GetTypeName().c_str(), bytes.size());

  logi_plugin_client *client = nullptr;
  try {
    logi::plugin_framework::detail::check(logi_plugin_client_new(nullptr, "1.0.0", "code", &client),
                                          "logi_plugin_client_new");
    std::fprintf(stderr, "a null plugin id was accepted\n");
    logi_plugin_client_free(client);
    return 1;
  } catch (const logi::plugin_framework::error &refused) {
    if (refused.code() != LOGI_INVALID_ARG) {
      std::fprintf(stderr, "a null plugin id gave %d: %s\n", refused.code(), refused.what());
      return 1;
    }
    std::printf("LOGI_INVALID_ARG: %s\n", refused.what());
  }
  return 0;
}
