// logi/plugin_framework/plugin_client.hpp: the seed's C++ plugin SDK (ch. 7.1), `plugin_client`,
// over the C ABI of `logi_plugin.h`. Header-only, C++17; messages are the C++ classes protoc
// generates from the project's `proto/` (`logi/plugin/protocol/protocol.pb.h`).
//
//     class counter : public logi::plugin_framework::plugin_client {
//      public:
//       using plugin_client::plugin_client;
//       ~counter() override { close(); }
//       void on_trigger_action(const protocol::TriggerAction &msg, const uint64_t &msg_id) override {
//         protocol::ActionCellStatus status;
//         status.set_action_id(msg.action_id());
//         status.set_text("pressed");
//         send_response(msg_id, status);
//       }
//     };
//     counter c("com.example.counter", "1.0.0", "");  // "" reads the `token` variable
//     c.connect();
//     c.wait_for_disconnect();
//
// Threads. The callbacks (`on_...`, the log, connect and disconnect handlers, the response
// handlers of `send_message_with_callback`) run on the client's callback thread, one at a
// time. Every method may be called from any thread, callbacks included.
//
// Requests. Each request (`msg_id` not 0) must be answered once, with `send_ok_response`,
// `send_error_response` or `send_response`, now or later, from any thread. A callback the
// subclass does not override answers `NOT_IMPLEMENTED`.
//
// Exceptions. An exception that leaves a callback is caught here (it must not reach the C ABI,
// where it would abort the process): it is logged through the log function and, for a
// request, answered `EXCEPTION` with its `what()`. Methods throw `logi::plugin_framework::error`
// when the library refuses a call.
//
// Lifetime. The callbacks call the subclass's overrides, so the handle must be closed while
// the subclass is still alive: a subclass's destructor calls `close()`, which disconnects,
// waits for the callback thread and runs no callback after it returns.
#ifndef LOGI_PLUGIN_FRAMEWORK_PLUGIN_CLIENT_HPP
#define LOGI_PLUGIN_FRAMEWORK_PLUGIN_CLIENT_HPP

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <google/protobuf/message_lite.h>

#include "logi/plugin/protocol/protocol.pb.h"
#include "logi/plugin_framework/buffer.hpp"
#include "logi/plugin_framework/error.hpp"
#include "logi_plugin.h"

namespace logi {
namespace plugin_framework {

namespace protocol = ::logi::plugin::protocol;

// The outcome of a request sent with `send_message_with_callback`.
struct response {
  // `SUCCESS`, the manager's error code, `CANCELLED` (no answer in time) or `UNREACHABLE`
  // (the connection ended first).
  protocol::ResponseInfo::Code code = protocol::ResponseInfo::INVALID;
  // Why it failed; empty on success.
  std::string description;
  // The answer's message type (`logi.plugin.protocol.Settings`), empty when it carried none.
  std::string type_name;
  // The answer's serialized message.
  std::string data;

  bool ok() const { return code == protocol::ResponseInfo::SUCCESS; }

  // Parses the answer's message into `msg`: false when the answer carried another type or none.
  bool unpack(google::protobuf::MessageLite &msg) const {
    return type_name == msg.GetTypeName() && msg.ParseFromString(data);
  }
};

class plugin_client {
 public:
  // Receives the client's own log lines (seed 7.1.1).
  typedef std::function<void(const std::string &)> log_function;
  // Called when the client is connected and past the handshake (seed 7.1.3). The seed's
  // handler takes a websocketpp handle; this library has no such handle to give.
  typedef std::function<void()> connection_function;
  // Called when a connection ends (seed 7.1.4): why, and whether the client stopped for good
  // (`false`: it reconnects).
  typedef std::function<void(const std::string &reason, bool stopped)> disconnection_function;
  // Receives the outcome of a request (seed 7.1.9).
  typedef std::function<void(const response &)> response_function;

  // Makes the client (seed 7.1): `plugin_id` as in the manifest, `version`, and `secret`, the
  // `token` environment variable's value the manager launched the plugin with (empty: read it
  // here). Nothing connects until `connect()`.
  plugin_client(std::string plugin_id, std::string version, std::string secret) {
    logi_plugin_client *handle = nullptr;
    detail::check(logi_plugin_client_new(plugin_id.c_str(), version.c_str(),
                                         secret.empty() ? nullptr : secret.c_str(), &handle),
                  "logi_plugin_client_new");
    handle_ = handle;
    try {
      register_callbacks();
    } catch (...) {
      close();
      throw;
    }
  }

  plugin_client(const plugin_client &) = delete;
  plugin_client &operator=(const plugin_client &) = delete;

  virtual ~plugin_client() { close(); }

 private:
  void register_callbacks() {
    buffers_.reset(new buffer_manager(handle_));
    detail::check(logi_plugin_client_set_log_function(handle_, &plugin_client::log_trampoline, this),
                  "logi_plugin_client_set_log_function");
    detail::check(
        logi_plugin_client_set_connect_handler(handle_, &plugin_client::connect_trampoline, this),
        "logi_plugin_client_set_connect_handler");
    detail::check(logi_plugin_client_set_disconnect_handler(
                      handle_, &plugin_client::disconnect_trampoline, this),
                  "logi_plugin_client_set_disconnect_handler");
    detail::check(
        logi_plugin_client_set_message_handler(handle_, &plugin_client::message_trampoline, this),
        "logi_plugin_client_set_message_handler");
  }

 public:

  // Sets where to connect, before `connect()`: a local-socket path or a `ws://` URL (default:
  // the `LOGI_PLUGIN_ENDPOINT` variable, else the manager's local socket).
  void set_endpoint(const std::string &endpoint) {
    detail::check(logi_plugin_client_set_endpoint(handle_, endpoint.c_str()),
                  "logi_plugin_client_set_endpoint");
  }

  // Sets the function for the client's own log lines (seed 7.1.1); empty: stderr.
  void set_log_function(log_function f) {
    std::lock_guard<std::mutex> lock(mutex_);
    log_ = std::move(f);
  }

  // JSON text (`true`) or binary protobuf over WebSocket (seed 7.1.2), before `connect()`.
  void set_use_text_format(bool use_text) {
    detail::check(logi_plugin_client_set_use_text_format(handle_, use_text),
                  "logi_plugin_client_set_use_text_format");
  }

  // Replaces the connect handler (seed 7.1.3); the default calls `on_connect()`. The hello is
  // the library's either way.
  void set_connect_handler(connection_function f) {
    std::lock_guard<std::mutex> lock(mutex_);
    connect_ = std::move(f);
  }

  // Replaces the disconnect handler (seed 7.1.4); the default calls `on_disconnect()`.
  void set_disconnect_handler(disconnection_function f) {
    std::lock_guard<std::mutex> lock(mutex_);
    disconnect_ = std::move(f);
  }

  // Starts connecting and returns at once; the client reconnects by itself until `disconnect()`.
  void connect() { detail::check(logi_plugin_client_connect(handle_), "logi_plugin_client_connect"); }

  // Whether the client is connected and past the handshake (seed 7.1.5).
  bool is_connected() const { return logi_plugin_client_is_connected(handle_); }

  // Disconnects for good (seed 7.1.6), returning at once.
  void disconnect() {
    detail::check(logi_plugin_client_disconnect(handle_), "logi_plugin_client_disconnect");
  }

  // Blocks until the client has stopped (seed 7.1.7): disconnected, or refused by the manager.
  void wait_for_disconnect() {
    detail::check(logi_plugin_client_wait_for_disconnect(handle_),
                  "logi_plugin_client_wait_for_disconnect");
  }

  // Sends a message that expects no answer (seed 7.1.8): an `ActionCellStatus` update, a
  // `LogEvent`. It goes as a notification, whose id is 0 on the wire: 0 is returned.
  uint64_t send_message(const google::protobuf::MessageLite &msg) {
    const std::string data = msg.SerializeAsString();
    detail::check(logi_plugin_client_send_message(handle_, msg.GetTypeName().c_str(), bytes(data),
                                                  data.size()),
                  "logi_plugin_client_send_message");
    return 0;
  }

  // Sends a request (seed 7.1.9): `on_response` is called once, on the callback thread, with
  // the answer, or `CANCELLED` after `timeout_ms`. Returns the request's id.
  uint64_t send_message_with_callback(const google::protobuf::MessageLite &msg,
                                      response_function on_response, uint32_t timeout_ms = 5000) {
    const std::string data = msg.SerializeAsString();
    std::unique_ptr<pending_response> callback(
        new pending_response{this, std::move(on_response)});
    uint32_t id = 0;
    detail::check(logi_plugin_client_send_message_with_callback(
                      handle_, msg.GetTypeName().c_str(), bytes(data), data.size(), timeout_ms,
                      &plugin_client::response_trampoline, callback.get(), &id),
                  "logi_plugin_client_send_message_with_callback");
    callback.release();  // the trampoline owns it now: the library calls it exactly once
    return id;
  }

  // Answers request `msg_id` with an error (seed 7.1.10).
  void send_error_response(uint64_t msg_id, protocol::ResponseInfo::Code result_code,
                           const std::string &description = "") {
    detail::check(logi_plugin_client_send_error_response(handle_, request_id(msg_id),
                                                         static_cast<int32_t>(result_code),
                                                         description.c_str()),
                  "logi_plugin_client_send_error_response");
  }

  // Answers request `msg_id` with success (seed 7.1.11).
  void send_ok_response(uint64_t msg_id) {
    detail::check(logi_plugin_client_send_ok_response(handle_, request_id(msg_id)),
                  "logi_plugin_client_send_ok_response");
  }

  // Answers request `msg_id` with success and a message: a press with its `ActionCellStatus`,
  // a turn with its `AnalogControlStatus`.
  void send_response(uint64_t msg_id, const google::protobuf::MessageLite &msg) {
    const std::string data = msg.SerializeAsString();
    detail::check(logi_plugin_client_send_response(handle_, request_id(msg_id),
                                                   msg.GetTypeName().c_str(), bytes(data),
                                                   data.size()),
                  "logi_plugin_client_send_response");
  }

  // Buffers these controls' updates (seed 7.1.12): `{control_id: buffer_key}`, the key
  // `"throughput"`, `"timer"` or a custom buffer's (`buffers().register_custom_buffer`).
  void enable_control_buffering(const std::map<std::string, std::string> &controls) {
    buffers_->register_controls(controls);
  }

  // The client's buffer manager (seed 7.3).
  buffer_manager &buffers() { return *buffers_; }

  // What is left of the manager's latest `RetryAfter` window (zero when none is open). A
  // request whose answer waits on a message of the plugin's own (a setting stored first) is
  // better refused `NOT_READY` inside it than answered after it ends.
  std::chrono::milliseconds retry_after_left() const {
    const auto now = std::chrono::steady_clock::now();
    std::lock_guard<std::mutex> lock(mutex_);
    if (hold_until_ <= now) return std::chrono::milliseconds(0);
    return std::chrono::ceil<std::chrono::milliseconds>(hold_until_ - now);
  }

  // The C handle, for calls of `logi_plugin.h` this class does not wrap.
  logi_plugin_client *handle() const { return handle_; }

  // Disconnects, waits for the client's threads and frees the handle; no callback runs after it
  // returns, and no other method may be called. A subclass's destructor calls it, so that no
  // callback reaches a half-destroyed object. Calling it again does nothing.
  void close() {
    if (handle_ == nullptr) return;
    logi_plugin_client_free(handle_);
    handle_ = nullptr;
  }

  // Callbacks (seed 7.1.13), on the callback thread. `msg_id` is the request's id, 0 for a
  // notification. The defaults answer a request `NOT_IMPLEMENTED`.
  virtual void on_connect() {}
  virtual void on_disconnect() {}
  virtual void on_manager_hello(const protocol::ManagerHello &, const uint64_t &) {}
  virtual void on_init_login(const protocol::InitLogin &msg, const uint64_t &msg_id) {
    not_implemented(msg, msg_id);
  }
  virtual void on_logout(const protocol::Logout &msg, const uint64_t &msg_id) {
    not_implemented(msg, msg_id);
  }
  virtual void on_trigger_action(const protocol::TriggerAction &msg, const uint64_t &msg_id) {
    not_implemented(msg, msg_id);
  }
  virtual void on_release_action(const protocol::ReleaseAction &msg, const uint64_t &msg_id) {
    not_implemented(msg, msg_id);
  }
  virtual void on_visibility_changed(const protocol::VisibilityChanged &msg,
                                     const uint64_t &msg_id) {
    not_implemented(msg, msg_id);
  }
  virtual void on_visibility_changed_list(const protocol::VisibilityChangedList &msg,
                                          const uint64_t &msg_id) {
    not_implemented(msg, msg_id);
  }
  virtual void on_update_analog_control(const protocol::UpdateAnalogControl &msg,
                                        const uint64_t &msg_id) {
    not_implemented(msg, msg_id);
  }
  virtual void on_get_analog_control_value(const protocol::GetAnalogControlValue &msg,
                                           const uint64_t &msg_id) {
    not_implemented(msg, msg_id);
  }
  virtual void on_plugin_action_configuration_scheme_request(
      const protocol::PluginActionConfigurationSchemeRequest &msg, const uint64_t &msg_id) {
    not_implemented(msg, msg_id);
  }
  virtual void on_plugin_action_configuration_response(
      const protocol::PluginActionConfigurationResponse &msg, const uint64_t &msg_id) {
    not_implemented(msg, msg_id);
  }
  virtual void on_saved_data(const protocol::SavedData &msg, const uint64_t &msg_id) {
    not_implemented(msg, msg_id);
  }
  virtual void on_oauth_response(const protocol::OauthResponse &msg, const uint64_t &msg_id) {
    not_implemented(msg, msg_id);
  }
  virtual void on_get_users_info(const protocol::GetUserInfoList &msg, const uint64_t &msg_id) {
    not_implemented(msg, msg_id);
  }
  // The manager asked the plugin to hold back for `msg.interval()` ms (seed 5.8; beyond the
  // seed's callbacks): what the plugin sends is held until then, answers excepted. The window
  // is also kept for `retry_after_left()`.
  virtual void on_retry_after(const protocol::RetryAfter &, const uint64_t &) {}
  // A message of a type none of the callbacks above takes (a newer manager's).
  virtual void on_unknown_message(const std::string &type_name, const std::string &,
                                  const uint64_t &msg_id) {
    if (msg_id != 0)
      send_error_response(msg_id, protocol::ResponseInfo::NOT_IMPLEMENTED,
                          type_name + " is not handled by this plugin");
  }

 protected:
  // Writes a line through the log function (stderr without one).
  void log(const std::string &line) {
    log_function f;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      f = log_;
    }
    if (f) {
      f(line);
    } else {
      std::fputs((line + "\n").c_str(), stderr);
    }
  }

 private:
  static const uint8_t *bytes(const std::string &data) {
    return reinterpret_cast<const uint8_t *>(data.data());
  }

  static uint32_t request_id(uint64_t msg_id) {
    if (msg_id > std::numeric_limits<uint32_t>::max())
      throw error(LOGI_INVALID_ARG, "msg_id " + std::to_string(msg_id) +
                                        " is no request id (ids are 32-bit on the wire)");
    return static_cast<uint32_t>(msg_id);
  }

  void hold_back(const protocol::RetryAfter &msg, const uint64_t &msg_id) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      hold_until_ = std::chrono::steady_clock::now() + std::chrono::milliseconds(msg.interval());
    }
    on_retry_after(msg, msg_id);
  }

  void not_implemented(const google::protobuf::MessageLite &msg, uint64_t msg_id) {
    on_unknown_message(msg.GetTypeName(), std::string(), msg_id);
  }

  // Parses `data` as `Msg` and calls `callback` with it; bytes that do not parse are a request
  // answered `INVALID_ARG` (the library checked them, so this is a protobuf version skew).
  template <class Msg>
  void deliver(void (plugin_client::*callback)(const Msg &, const uint64_t &), const uint8_t *data,
               size_t len, uint64_t msg_id) {
    Msg msg;
    if (!msg.ParseFromArray(data, static_cast<int>(len))) {
      log("cannot parse a " + msg.GetTypeName() + " of " + std::to_string(len) + " bytes");
      if (msg_id != 0)
        send_error_response(msg_id, protocol::ResponseInfo::INVALID_ARG,
                            "the plugin could not parse the " + msg.GetTypeName());
      return;
    }
    (this->*callback)(msg, msg_id);
  }

  void dispatch(const std::string &type, const uint8_t *data, size_t len, uint64_t id) {
    typedef std::function<void(plugin_client &, const uint8_t *, size_t, uint64_t)> route;
    static const std::map<std::string, route> routes = {
        entry<protocol::ManagerHello>(&plugin_client::on_manager_hello),
        entry<protocol::InitLogin>(&plugin_client::on_init_login),
        entry<protocol::Logout>(&plugin_client::on_logout),
        entry<protocol::TriggerAction>(&plugin_client::on_trigger_action),
        entry<protocol::ReleaseAction>(&plugin_client::on_release_action),
        entry<protocol::VisibilityChanged>(&plugin_client::on_visibility_changed),
        entry<protocol::VisibilityChangedList>(&plugin_client::on_visibility_changed_list),
        entry<protocol::UpdateAnalogControl>(&plugin_client::on_update_analog_control),
        entry<protocol::GetAnalogControlValue>(&plugin_client::on_get_analog_control_value),
        entry<protocol::PluginActionConfigurationSchemeRequest>(
            &plugin_client::on_plugin_action_configuration_scheme_request),
        entry<protocol::PluginActionConfigurationResponse>(
            &plugin_client::on_plugin_action_configuration_response),
        entry<protocol::SavedData>(&plugin_client::on_saved_data),
        entry<protocol::OauthResponse>(&plugin_client::on_oauth_response),
        entry<protocol::GetUserInfoList>(&plugin_client::on_get_users_info),
        entry<protocol::RetryAfter>(&plugin_client::hold_back),
    };
    auto found = routes.find(type);
    if (found == routes.end()) {
      on_unknown_message(type, std::string(reinterpret_cast<const char *>(data), len), id);
    } else {
      found->second(*this, data, len, id);
    }
  }

  template <class Msg>
  static std::pair<const std::string,
                   std::function<void(plugin_client &, const uint8_t *, size_t, uint64_t)>>
  entry(void (plugin_client::*callback)(const Msg &, const uint64_t &)) {
    return {Msg().GetTypeName(),
            [callback](plugin_client &self, const uint8_t *data, size_t len, uint64_t id) {
              self.deliver(callback, data, len, id);
            }};
  }

  // Runs `f`; an exception is logged and, for a request, answered `EXCEPTION`.
  template <class F>
  void guarded(const char *what, uint64_t msg_id, F &&f) noexcept {
    try {
      f();
      return;
    } catch (const std::exception &e) {
      fail(what, msg_id, e.what());
    } catch (...) {
      fail(what, msg_id, "an exception that is not a std::exception");
    }
  }

  void fail(const char *what, uint64_t msg_id, const std::string &why) noexcept {
    try {
      log(std::string(what) + " threw: " + why);
      if (msg_id != 0)
        send_error_response(msg_id, protocol::ResponseInfo::EXCEPTION, std::string(what) + ": " + why);
    } catch (...) {
      // The log function itself threw, or the answer could not be sent: nothing more to do.
    }
  }

  static void log_trampoline(void *self, const char *line) {
    auto *client = static_cast<plugin_client *>(self);
    client->guarded("the log function", 0, [&] { client->log(line); });
  }

  static void connect_trampoline(void *self) {
    auto *client = static_cast<plugin_client *>(self);
    client->guarded("the connect handler", 0, [&] {
      connection_function f;
      {
        std::lock_guard<std::mutex> lock(client->mutex_);
        f = client->connect_;
      }
      if (f) {
        f();
      } else {
        client->on_connect();
      }
    });
  }

  static void disconnect_trampoline(void *self, const char *reason, bool stopped) {
    auto *client = static_cast<plugin_client *>(self);
    client->guarded("the disconnect handler", 0, [&] {
      disconnection_function f;
      {
        std::lock_guard<std::mutex> lock(client->mutex_);
        f = client->disconnect_;
      }
      if (f) {
        f(reason, stopped);
      } else {
        client->on_disconnect();
      }
    });
  }

  static void message_trampoline(void *self, const char *type_name, const uint8_t *data,
                                 size_t len, uint32_t message_id) {
    auto *client = static_cast<plugin_client *>(self);
    client->guarded(type_name, message_id,
                    [&] { client->dispatch(type_name, data, len, message_id); });
  }

  // A request's handler, with its client to log through.
  struct pending_response {
    plugin_client *client;
    response_function f;
  };

  static void response_trampoline(void *user_data, int32_t code, const char *description,
                                  const char *type_name, const uint8_t *data, size_t len) {
    std::unique_ptr<pending_response> callback(static_cast<pending_response *>(user_data));
    try {
      response r;
      r.code = static_cast<protocol::ResponseInfo::Code>(code);
      r.description = description != nullptr ? description : "";
      if (type_name != nullptr) r.type_name = type_name;
      if (len != 0) r.data.assign(reinterpret_cast<const char *>(data), len);
      if (callback->f) callback->f(r);
    } catch (const std::exception &e) {
      callback->client->log(std::string("a response handler threw: ") + e.what());
    } catch (...) {
      callback->client->log("a response handler threw");
    }
  }

  logi_plugin_client *handle_ = nullptr;
  std::unique_ptr<buffer_manager> buffers_;
  mutable std::mutex mutex_;
  std::chrono::steady_clock::time_point hold_until_;
  log_function log_;
  connection_function connect_;
  disconnection_function disconnect_;
};

}  // namespace plugin_framework
}  // namespace logi

#endif  // LOGI_PLUGIN_FRAMEWORK_PLUGIN_CLIENT_HPP
