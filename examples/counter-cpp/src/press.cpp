// A configuration application in C++, on the seed's client library (ch. 9,
// `LogiPluginCommunication`): it connects to a running plugin manager, lists its plugins,
// presses an action and prints the status the plugin answers.
//
//     press [PLUGIN_ID [ACTION_ID]]   (default: the counter, com.logi.example.counter-cpp, count)
//
// The manager is found as every client finds it: `LOGI_PLUGIN_ENDPOINT`, else its default local
// socket. Exits 0 when the press was answered, 1 otherwise.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <string>

#include "logi/plugin_framework/logi_plugin_communication.hpp"

namespace {

using logi::plugin_framework::LogiPluginCommunication;
namespace manager = logi::protocol::plugin_manager;
namespace protocol = logi::plugin::protocol;

class app : public LogiPluginCommunication {
 public:
  app() : LogiPluginCommunication("press (C++ example)", "1.0.0") {}
  ~app() override { close(); }

  void on_communication_established() override { std::printf("connected to the plugin manager\n"); }
};

// Waits for a handler's answer: the calls are asynchronous, as the seed's.
template <class T>
T await(std::future<T> &answer) {
  if (answer.wait_for(std::chrono::seconds(30)) != std::future_status::ready) {
    std::fprintf(stderr, "press: no answer within 30 s\n");
    std::exit(1);
  }
  return answer.get();
}

}  // namespace

int main(int argc, char **argv) {
  const std::string plugin_id = argc > 1 ? argv[1] : "com.logi.example.counter-cpp";
  const std::string action_id = argc > 2 ? argv[2] : "count";
  app client;
  client.connect();
  if (!client.wait_connected(10000)) {
    std::fprintf(stderr, "press: the plugin manager did not answer within 10 s\n");
    return 1;
  }

  std::promise<bool> listed;
  std::future<bool> list_done = listed.get_future();
  client.plugin_list([&](LogiPluginCommunication::result_code code, const std::string &text,
                         const manager::PluginList &list) {
    if (code != protocol::ResponseInfo::SUCCESS) {
      std::fprintf(stderr, "press: plugin_list failed: %s\n", text.c_str());
      listed.set_value(false);
      return;
    }
    std::printf("%d plugins\n", list.plugins_size());
    for (const auto &plugin : list.plugins())
      std::printf("  %s %s %s%s\n", plugin.plugin_id().c_str(), plugin.version().c_str(),
                  manager::ContainerState_Name(plugin.container_state()).c_str(),
                  plugin.connected() ? " connected" : "");
    listed.set_value(true);
  });
  if (!await(list_done)) return 1;

  manager::Invoke press;
  press.set_plugin_id(plugin_id);
  press.set_action_id(action_id);
  press.set_instance_id("press-example");
  press.set_button_state(manager::Invoke::BUTTON_STATE_DOWN);
  std::promise<bool> pressed;
  std::future<bool> press_done = pressed.get_future();
  client.invoke(press, [&](LogiPluginCommunication::result_code code, const std::string &text,
                           const manager::PluginUpdateResult &result) {
    if (code != protocol::ResponseInfo::SUCCESS) {
      std::fprintf(stderr, "press: invoke failed: %s\n", text.c_str());
      pressed.set_value(false);
      return;
    }
    std::printf("pressed %s of %s: %s\n", action_id.c_str(), plugin_id.c_str(),
                result.action_status().text().c_str());
    pressed.set_value(true);
  });
  return await(press_done) ? 0 : 1;
}
