// logi/plugin_framework/logi_plugin_communication.hpp: the seed's client library (ch. 9), the
// configuration software's connection to the plugin manager, over the C ABI of `logi_plugin.h`.
// Header-only, C++17; messages are the C++ classes protoc generates from the project's `proto/`
// (`logi/protocol/plugin_manager/client.pb.h`).
//
//     class app : public logi::plugin_framework::LogiPluginCommunication {
//      public:
//       app() : LogiPluginCommunication("My App", "1.0") {}
//       ~app() override { close(); }
//       void on_communication_established() override { ... }
//     };
//     app a;
//     a.connect();
//     a.plugin_list([](result_code code, const std::string &text, const PluginList &list) { ... });
//
// Calls are asynchronous, as the seed's: each returns at once with `SUCCESS` when the request
// was queued (`NOT_READY` when the client is not connected), and its handler is called later
// with the manager's answer, on the client's request thread, in the order of the calls.
// Events (`on_...`) run on the client's callback thread. An exception that leaves a handler or
// an event is caught and written to stderr: it must not reach the C ABI.
//
// Lifetime: a subclass's destructor calls `close()`, so that no event reaches a half-destroyed
// object; `close()` disconnects, lets the queued requests finish (they fail `UNREACHABLE`
// once disconnected), and waits for both threads.
#ifndef LOGI_PLUGIN_FRAMEWORK_LOGI_PLUGIN_COMMUNICATION_HPP
#define LOGI_PLUGIN_FRAMEWORK_LOGI_PLUGIN_COMMUNICATION_HPP

#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

#include "logi/plugin/protocol/protocol.pb.h"
#include "logi/plugin_framework/error.hpp"
#include "logi/protocol/plugin_manager/client.pb.h"
#include "logi_plugin.h"

namespace logi {
namespace plugin_framework {

class LogiPluginCommunication {
 public:
  // A result code of chapter 6.
  typedef ::logi::plugin::protocol::ResponseInfo::Code result_code;
  typedef ::logi::protocol::plugin_manager::PluginUpdateResult PluginUpdateResult;
  typedef ::logi::protocol::plugin_manager::PluginDetails PluginDetails;
  typedef ::logi::protocol::plugin_manager::PluginList PluginList;
  typedef ::logi::protocol::plugin_manager::Invoke Invoke;
  typedef ::logi::protocol::plugin_manager::AnalogControlID AnalogControlID;
  typedef ::logi::protocol::plugin_manager::ActionConfigurationRequest ActionConfigurationRequest;
  typedef ::logi::protocol::plugin_manager::ActionConfiguration ActionConfiguration;
  typedef ::logi::protocol::plugin_manager::SetActionConfiguration SetActionConfiguration;
  typedef ::logi::protocol::plugin_manager::VisibilityUpdate VisibilityUpdate;
  typedef ::logi::protocol::plugin_manager::PluginUpdateResultList PluginUpdateResultList;

  // The answer of a call: its code and, on failure, why.
  typedef std::function<void(result_code code, const std::string &text)> simple_result_handler;
  // The state a plugin reported (9.4.1, 9.5.3), with the call's code (the message is empty on
  // failure).
  typedef std::function<void(result_code code, const std::string &text,
                             const PluginUpdateResult &update_result)>
      update_result_handler;
  typedef std::function<void(result_code code, const std::string &text, const PluginList &list)>
      plugin_list_handler;
  typedef std::function<void(result_code code, const std::string &text,
                             const ActionConfiguration &configuration)>
      configuration_handler;
  typedef std::function<void(bool development_mode, result_code code, const std::string &text)>
      development_mode_handler;
  typedef std::function<void(result_code code, const std::string &text,
                             const PluginUpdateResultList &results)>
      visibility_handler;

  // `client_name` and `client_version` are what the client says in its `ClientHello`;
  // `endpoint` is the manager's local socket (empty: `LOGI_PLUGIN_ENDPOINT`, else the default).
  explicit LogiPluginCommunication(std::string client_name = "logi-plugin C++ client",
                                   std::string client_version = "1.0", std::string endpoint = "")
      : name_(std::move(client_name)),
        version_(std::move(client_version)),
        endpoint_(std::move(endpoint)) {}

  LogiPluginCommunication(const LogiPluginCommunication &) = delete;
  LogiPluginCommunication &operator=(const LogiPluginCommunication &) = delete;

  virtual ~LogiPluginCommunication() { close(); }

  // Connects to the plugin manager (9.1.3) and returns at once; `on_communication_established`
  // runs when the handshake is done, and again after each reconnect.
  void connect() {
    if (client_ != nullptr) throw error(LOGI_INVALID_VERB, "connect: already connected");
    logi_manager_client *client = nullptr;
    detail::check(logi_manager_client_connect(name_.c_str(), version_.c_str(),
                                              endpoint_.empty() ? nullptr : endpoint_.c_str(),
                                              &LogiPluginCommunication::event_trampoline, this,
                                              &client),
                  "logi_manager_client_connect");
    client_ = client;
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = false;
    worker_ = std::thread([this] { run_requests(); });
  }

  // Disconnects from the plugin manager (9.2.1), returning at once.
  void disconnect() {
    if (client_ != nullptr)
      detail::check(logi_manager_client_disconnect(client_), "logi_manager_client_disconnect");
  }

  // Whether the client is connected and past the handshake (9.2.1).
  bool connected() const { return logi_manager_client_is_connected(client_); }

  // Blocks until connected, at most `timeout_ms`: true when connected.
  bool wait_connected(uint32_t timeout_ms) {
    return client_ != nullptr &&
           logi_manager_client_wait_connected(client_, timeout_ms) == LOGI_SUCCESS;
  }

  // Installs the package at `package_path` (9.3.1); `plugin_id` (empty for any) is the plugin
  // it must hold.
  result_code install_plugin(const std::string &plugin_id, const std::string &package_path,
                             simple_result_handler callback = {}) {
    return simple(callback, [plugin_id, package_path](logi_manager_client *c) {
      return logi_manager_client_install_plugin(c, plugin_id.c_str(), package_path.c_str());
    });
  }

  // Uninstalls a plugin (9.3.2); the manager keeps its settings.
  result_code remove_plugin(const std::string &plugin_id, simple_result_handler callback = {}) {
    return simple(callback, [plugin_id](logi_manager_client *c) {
      return logi_manager_client_remove_plugin(c, plugin_id.c_str());
    });
  }

  // Every plugin the manager has (9.3.3).
  result_code plugin_list(plugin_list_handler callback) {
    return with_answer<PluginList>(callback, [](logi_manager_client *c, logi_bytes *out) {
      return logi_manager_client_plugin_list(c, out);
    });
  }

  // Presses, releases or turns an action or control (9.4.1); the handler gets the state the
  // plugin reports.
  result_code invoke(const Invoke &invoke, update_result_handler callback = {}) {
    return with_message<PluginUpdateResult>(invoke, callback, &logi_manager_client_invoke);
  }

  // An action's configuration form (9.5.1).
  result_code plugin_action_configuration(const ActionConfigurationRequest &request,
                                          configuration_handler callback) {
    return with_message<ActionConfiguration>(request, callback,
                                             &logi_manager_client_plugin_action_configuration);
  }

  // Submits a filled configuration form (9.5.2); the handler gets the plugin's new form (empty
  // when it answered none).
  result_code set_plugin_action_configuration(const SetActionConfiguration &configuration,
                                              configuration_handler callback = {}) {
    return with_message<ActionConfiguration>(
        configuration, callback, &logi_manager_client_set_plugin_action_configuration);
  }

  // The latest state of an action or control instance (9.5.3).
  result_code action_status(const AnalogControlID &action_id, update_result_handler callback) {
    return with_message<PluginUpdateResult>(action_id, callback,
                                            &logi_manager_client_action_status);
  }

  // Starts a plugin's login (9.5.4).
  result_code invoke_login(const std::string &plugin_id, simple_result_handler callback = {}) {
    return simple(callback, [plugin_id](logi_manager_client *c) {
      return logi_manager_client_invoke_login(c, plugin_id.c_str());
    });
  }

  // Logs `username` out of a plugin (9.5.5).
  result_code invoke_logout(const std::string &plugin_id, const std::string &username,
                            simple_result_handler callback = {}) {
    return simple(callback, [plugin_id, username](logi_manager_client *c) {
      return logi_manager_client_invoke_logout(c, plugin_id.c_str(), username.c_str());
    });
  }

  // Whether development mode is on (9.5.6).
  result_code development_mode(development_mode_handler callback) {
    return queue([this, callback] {
      bool enabled = false;
      const int32_t code = logi_manager_client_development_mode(client_, &enabled);
      const std::string text = logi_last_error();
      if (callback) callback(enabled, static_cast<result_code>(code), text);
    });
  }

  // Turns development mode on or off (9.5.7).
  result_code set_development_mode(bool development_mode, simple_result_handler callback = {}) {
    return simple(callback, [development_mode](logi_manager_client *c) {
      return logi_manager_client_set_development_mode(c, development_mode);
    });
  }

  // Tells the manager the language changed (9.5.8), e.g. `"de-DE"`.
  result_code set_language_changed(const std::string &language_code,
                                   simple_result_handler callback = {}) {
    return simple(callback, [language_code](logi_manager_client *c) {
      return logi_manager_client_set_language_changed(c, language_code.c_str());
    });
  }

  // Shows or hides actions and controls (9.5.9); the handler gets one result per change.
  result_code set_visibility(const VisibilityUpdate &update, visibility_handler callback = {}) {
    return with_message<PluginUpdateResultList>(update, callback,
                                                &logi_manager_client_set_visibility);
  }

  // Disconnects, finishes the queued calls and waits for the client's threads; no event or
  // handler runs after it returns. A subclass's destructor calls it. Calling it again does
  // nothing. From a result handler (the request thread itself) it runs the calls still queued
  // there before it returns, and the thread ends once the handler returns; the object must
  // then outlive that handler.
  void close() {
    const bool on_request_thread = worker_.get_id() == std::this_thread::get_id();
    if (client_ != nullptr) {
      logi_manager_client_disconnect(client_);
      {
        std::lock_guard<std::mutex> lock(mutex_);
        stopping_ = true;
      }
      wake_.notify_all();
      if (on_request_thread) {
        run_requests();
      } else if (worker_.joinable()) {
        worker_.join();
      }
      logi_manager_client_free(client_);
      client_ = nullptr;
    }
    // Closed from a handler before: the request thread has ended, or ends as that returns.
    if (!on_request_thread && worker_.joinable()) worker_.join();
  }

  // The C handle (null before `connect()`), for calls of `logi_plugin.h` this class does not
  // wrap.
  logi_manager_client *handle() const { return client_; }

  // Events, on the callback thread (9.4.2).
  virtual void on_communication_established() {}
  virtual void on_action_state_changed(const PluginUpdateResult &) {}
  virtual void on_plugin_available(const PluginDetails &) {}
  virtual void on_plugin_removed(const std::string &) {}
  // An installation event (beyond 9.4.2).
  virtual void on_installation_event(const ::logi::protocol::plugin_manager::InstallationEventNotice &) {}
  // A new log line of a followed plugin (beyond 9.4.2).
  virtual void on_plugin_log(const ::logi::protocol::plugin_manager::PluginLogLine &) {}
  // The connection ended; the client reconnects.
  virtual void on_disconnected(const std::string &) {}
  // The client stopped for good (disconnected, or refused): the last event.
  virtual void on_stopped(const std::string &) {}

 private:
  // Queues `job` for the request thread: `NOT_READY` when the client is not connected.
  result_code queue(std::function<void()> job) {
    if (!connected()) return ::logi::plugin::protocol::ResponseInfo::NOT_READY;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      jobs_.push_back(std::move(job));
    }
    wake_.notify_one();
    return ::logi::plugin::protocol::ResponseInfo::SUCCESS;
  }

  template <class Call>
  result_code simple(simple_result_handler callback, Call call) {
    return queue([this, callback, call] {
      const int32_t code = call(client_);
      const std::string text = logi_last_error();
      if (callback) callback(static_cast<result_code>(code), text);
    });
  }

  // A call whose answer is a message of type `Answer`.
  template <class Answer, class Handler, class Call>
  result_code with_answer(Handler callback, Call call) {
    return queue([this, callback, call] {
      logi_bytes out = {nullptr, 0};
      const int32_t code = call(client_, &out);
      std::string text = logi_last_error();
      Answer answer;
      if (code == LOGI_SUCCESS && !answer.ParseFromString(detail::take_bytes(out)))
        text = "cannot parse the " + answer.GetTypeName() + " the library returned";
      if (callback) callback(static_cast<result_code>(code), text, answer);
    });
  }

  // A call that sends `request` and answers a message of type `Answer`.
  template <class Answer, class Handler>
  result_code with_message(const google::protobuf::MessageLite &request, Handler callback,
                           int32_t (*call)(logi_manager_client *, const uint8_t *, size_t,
                                           logi_bytes *)) {
    const std::string data = request.SerializeAsString();
    return with_answer<Answer>(callback, [data, call](logi_manager_client *c, logi_bytes *out) {
      return call(c, reinterpret_cast<const uint8_t *>(data.data()), data.size(), out);
    });
  }

  void run_requests() {
    for (;;) {
      std::function<void()> job;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
        if (jobs_.empty()) return;
        job = std::move(jobs_.front());
        jobs_.pop_front();
      }
      guarded("a result handler", job);
    }
  }

  template <class F>
  static void guarded(const char *what, F &&f) noexcept {
    try {
      f();
    } catch (const std::exception &e) {
      std::fprintf(stderr, "%s threw: %s\n", what, e.what());
    } catch (...) {
      std::fprintf(stderr, "%s threw\n", what);
    }
  }

  template <class Msg>
  static Msg parse(const uint8_t *data, size_t len) {
    Msg msg;
    msg.ParseFromArray(data, static_cast<int>(len));
    return msg;
  }

  static void event_trampoline(void *self, logi_library_event_kind kind, const char *text,
                               const char *, const uint8_t *data, size_t len) {
    auto *client = static_cast<LogiPluginCommunication *>(self);
    const std::string what = text != nullptr ? text : "";
    guarded("an event", [&] {
      switch (kind) {
        case LOGI_COMMUNICATION_ESTABLISHED:
          client->on_communication_established();
          break;
        case LOGI_DISCONNECTED:
          client->on_disconnected(what);
          break;
        case LOGI_ACTION_STATE_CHANGED:
          client->on_action_state_changed(parse<PluginUpdateResult>(data, len));
          break;
        case LOGI_PLUGIN_AVAILABLE:
          client->on_plugin_available(parse<PluginDetails>(data, len));
          break;
        case LOGI_PLUGIN_REMOVED:
          client->on_plugin_removed(what);
          break;
        case LOGI_INSTALLATION:
          client->on_installation_event(
              parse<::logi::protocol::plugin_manager::InstallationEventNotice>(data, len));
          break;
        case LOGI_PLUGIN_LOG:
          client->on_plugin_log(parse<::logi::protocol::plugin_manager::PluginLogLine>(data, len));
          break;
        case LOGI_STOPPED:
          client->on_stopped(what);
          break;
      }
    });
  }

  std::string name_;
  std::string version_;
  std::string endpoint_;
  logi_manager_client *client_ = nullptr;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> jobs_;
  bool stopping_ = false;
  std::thread worker_;
};

}  // namespace plugin_framework
}  // namespace logi

#endif  // LOGI_PLUGIN_FRAMEWORK_LOGI_PLUGIN_COMMUNICATION_HPP
