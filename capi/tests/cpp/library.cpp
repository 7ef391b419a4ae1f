// The C++ client library's configuration calls (seed 9.5) against the test's manager, whose
// endpoint is argv[1]: each call's handler prints what it got, one line each, in the order of
// the calls; the last handler closes the client from inside itself, and the program exits once
// close() has returned there.
#include <cstdio>
#include <future>
#include <string>

#include "logi/plugin_framework/logi_plugin_communication.hpp"

using logi::plugin_framework::LogiPluginCommunication;

namespace {

const char *name(LogiPluginCommunication::result_code code) {
  return ::logi::plugin::protocol::ResponseInfo::Code_Name(code).c_str();
}

class app : public LogiPluginCommunication {
 public:
  explicit app(const std::string &endpoint) : LogiPluginCommunication("C++ test", "1.0", endpoint) {}
  ~app() override { close(); }
  void on_stopped(const std::string &reason) override {
    std::printf("stopped: %s\n", reason.c_str());
  }
};

void expect_queued(LogiPluginCommunication::result_code code, const char *call) {
  if (code != ::logi::plugin::protocol::ResponseInfo::SUCCESS) {
    std::printf("%s not queued: %s\n", call, name(code));
    std::exit(1);
  }
}

}  // namespace

int main(int argc, char **argv) {
  if (argc != 2) return 2;
  app client(argv[1]);
  client.connect();
  if (!client.wait_connected(10000)) {
    std::printf("not connected\n");
    return 1;
  }
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  const std::string plugin = "com.example.counter";

  expect_queued(client.development_mode([](bool on, auto code, const std::string &) {
    std::printf("development_mode %s %s\n", on ? "on" : "off", name(code));
  }),
                "development_mode");
  expect_queued(client.set_development_mode(true, [](auto code, const std::string &) {
    std::printf("set_development_mode %s\n", name(code));
  }),
                "set_development_mode");

  LogiPluginCommunication::ActionConfigurationRequest request;
  request.set_plugin_id(plugin);
  request.set_action_id("count");
  request.set_action_instance_id("key-1");
  expect_queued(client.plugin_action_configuration(
                    request, [](auto code, const std::string &, const auto &configuration) {
                      std::printf("plugin_action_configuration %s %s %s\n", name(code),
                                  configuration.plugin_id().c_str(),
                                  configuration.scheme().action_id().c_str());
                    }),
                "plugin_action_configuration");

  LogiPluginCommunication::SetActionConfiguration form;
  form.set_plugin_id(plugin);
  form.set_action_id("count");
  form.set_action_instance_id("key-1");
  form.set_form_result("{\"step\":5}");
  expect_queued(client.set_plugin_action_configuration(
                    form, [](auto code, const std::string &text, const auto &configuration) {
                      std::printf("set_plugin_action_configuration %s %s [%s]\n", name(code),
                                  text.c_str(), configuration.plugin_id().c_str());
                    }),
                "set_plugin_action_configuration");

  LogiPluginCommunication::AnalogControlID instance;
  instance.set_plugin_id(plugin);
  instance.set_control_id("count");
  instance.set_instance_id("key-1");
  expect_queued(client.action_status(instance,
                                     [](auto code, const std::string &, const auto &update) {
                                       std::printf("action_status %s %s %s\n", name(code),
                                                   update.plugin_id().c_str(),
                                                   update.action_status().text().c_str());
                                     }),
                "action_status");

  expect_queued(client.invoke_login(plugin, [](auto code, const std::string &) {
    std::printf("invoke_login %s\n", name(code));
  }),
                "invoke_login");
  expect_queued(client.invoke_logout(plugin, "ada", [](auto code, const std::string &text) {
    std::printf("invoke_logout %s %s\n", name(code), text.c_str());
  }),
                "invoke_logout");
  expect_queued(client.set_language_changed("de-DE", [](auto code, const std::string &) {
    std::printf("set_language_changed %s\n", name(code));
  }),
                "set_language_changed");

  LogiPluginCommunication::VisibilityUpdate update;
  auto *item = update.add_items();
  item->set_plugin_id(plugin);
  item->set_control_id("count");
  item->set_instance_id("key-1");
  item->set_visible(true);
  std::promise<void> closed;
  expect_queued(client.set_visibility(
                    update,
                    [&](auto code, const std::string &, const auto &results) {
                      std::printf("set_visibility %s %d\n", name(code), results.results_size());
                      // From the request thread itself: no handler runs after it returns.
                      client.close();
                      std::printf("closed\n");
                      closed.set_value();
                    }),
                "set_visibility");
  closed.get_future().wait();
  std::printf("done\n");
  return 0;
}
