// The C++ plugin_client (logi/plugin_framework/plugin_client.hpp), run by
// tests/cpp_plugin_client.rs against a manager in the test's process, whose socket is the only
// argument. The presses it answers, by action id:
//   "throw"  its callback throws: the wrapper answers EXCEPTION and logs it;
//   "ask"    it asks the manager for the setting "step", and answers with what came back
//            (then its response handler throws: the wrapper logs it);
//   "quit"   it answers, then disconnects from inside the callback;
//   else     "pressed <action>".
// A release is not overridden (the default answers NOT_IMPLEMENTED). Its log lines are printed
// to stdout ("log: ..."); after wait_for_disconnect it prints "stopped" and exits 0.
#include <cstdio>
#include <stdexcept>
#include <string>

#include "logi/plugin_framework/plugin_client.hpp"

namespace pf = logi::plugin_framework;
namespace protocol = logi::plugin::protocol;

class test_plugin : public pf::plugin_client {
 public:
  test_plugin() : plugin_client("com.example.capi", "1.0.0", "code") {
    set_log_function([](const std::string &line) { std::printf("log: %s\n", line.c_str()); });
  }
  ~test_plugin() override { close(); }

  void on_trigger_action(const protocol::TriggerAction &msg, const uint64_t &msg_id) override {
    const std::string &action = msg.action_id();
    if (action == "throw") throw std::runtime_error("out of order");
    if (action == "ask") {
      protocol::SettingsRequest ask;
      ask.set_setting_name("step");
      send_message_with_callback(ask, [this, msg_id](const pf::response &answer) {
        protocol::Settings setting;
        std::string text = "code " + std::to_string(answer.code);
        if (answer.ok() && answer.unpack(setting)) text = "step " + setting.setting_value();
        answer_with(msg_id, text);
        throw std::runtime_error("after the answer");
      });
      return;
    }
    answer_with(msg_id, "pressed " + action);
    if (action == "quit") disconnect();
  }

 private:
  void answer_with(uint64_t msg_id, const std::string &text) {
    protocol::ActionCellStatus status;
    status.set_text(text);
    send_response(msg_id, status);
  }
};

int main(int argc, char **argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: plugin_client SOCKET\n");
    return 2;
  }
  test_plugin plugin;
  plugin.set_endpoint(argv[1]);
  plugin.connect();
  plugin.wait_for_disconnect();
  std::printf("stopped\n");
  return 0;
}
