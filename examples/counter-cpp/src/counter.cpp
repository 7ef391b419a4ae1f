// The counter plugin in C++, on the seed's `plugin_client` (ch. 7): the key `count` adds the
// step to the count, the dial `step` sets the step (1 to 100); both are kept in the plugin's
// settings with the manager, so the count survives restarts. The same plugin as the Rust
// (examples/counter) and TypeScript (examples/counter-js) counters, with the seed's API: every
// callback runs on the client's callback thread, one at a time, so the counter's state needs no
// lock.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>

#include "logi/plugin_framework/plugin_client.hpp"

namespace {

using logi::plugin_framework::plugin_client;
using logi::plugin_framework::response;
namespace protocol = logi::plugin::protocol;

const int64_t MIN_STEP = 1;
const int64_t MAX_STEP = 100;

class counter : public plugin_client {
 public:
  counter() : plugin_client("com.logi.example.counter-cpp", "1.0.0", "") {
    // Turns that queue up while a store is in flight are merged into one (seed 7.5).
    enable_control_buffering({{"step", "throughput"}});
  }

  ~counter() override { close(); }

  // The manager sends every stored setting after each hello, before any request.
  void on_saved_data(const protocol::SavedData &msg, const uint64_t &) override {
    for (const auto &setting : msg.settings()) {
      if (setting.setting_name() == "count") count_ = parse(setting.setting_value(), 0);
      if (setting.setting_name() == "step") step_ = parse(setting.setting_value(), MIN_STEP);
    }
  }

  void on_trigger_action(const protocol::TriggerAction &msg, const uint64_t &msg_id) override {
    if (msg.action_id() != "count") {
      send_error_response(msg_id, protocol::ResponseInfo::NOT_FOUND,
                          "no action " + msg.action_id());
      return;
    }
    if (refused_inside_retry_after(msg_id)) return;
    count_ += step_;
    protocol::ActionCellStatus status;
    status.set_action_id(msg.action_id());
    status.set_action_instance_id(msg.action_instance_id());
    status.set_text(std::to_string(count_));
    store("count", count_, msg_id, status);
  }

  void on_update_analog_control(const protocol::UpdateAnalogControl &msg,
                                const uint64_t &msg_id) override {
    if (msg.analog_control_id() != "step") {
      send_error_response(msg_id, protocol::ResponseInfo::NOT_FOUND,
                          "no control " + msg.analog_control_id());
      return;
    }
    if (refused_inside_retry_after(msg_id)) return;
    const double moved = msg.has_value() ? msg.value() : static_cast<double>(step_) + msg.delta();
    step_ = std::clamp(static_cast<int64_t>(std::llround(moved)), MIN_STEP, MAX_STEP);
    protocol::AnalogControlStatus status = step_status(msg.analog_control_id(), msg.instance_id());
    status.set_text("step " + std::to_string(step_));
    store("step", step_, msg_id, status);
  }

  void on_get_analog_control_value(const protocol::GetAnalogControlValue &msg,
                                   const uint64_t &msg_id) override {
    send_response(msg_id, step_status(msg.analog_control_id(), msg.instance_id()));
  }

  void on_visibility_changed(const protocol::VisibilityChanged &, const uint64_t &msg_id) override {
    send_ok_response(msg_id);
  }

 private:
  // Inside a RetryAfter window the store would wait for its end, and the answer with it: the
  // request is refused at once instead, and changes nothing.
  bool refused_inside_retry_after(uint64_t msg_id) {
    const auto left = retry_after_left();
    if (left.count() == 0) return false;
    const std::string why = "the plugin manager asked to hold back for " +
                            std::to_string(left.count()) + " ms: try again then";
    send_error_response(msg_id, protocol::ResponseInfo::NOT_READY, why);
    // Into the manager's log once per window (it goes when the window ends), not per refusal.
    if (!warned_) {
      warned_ = true;
      protocol::LogEvent warning;
      warning.set_log_level(protocol::LogEvent::WARNING);
      warning.set_message("refused inside a RetryAfter window: " + why);
      send_message(warning);
    }
    return true;
  }

  void on_retry_after(const protocol::RetryAfter &, const uint64_t &) override { warned_ = false; }

  static int64_t parse(const std::string &text, int64_t fallback) {
    try {
      return std::stoll(text);
    } catch (const std::exception &) {
      return fallback;
    }
  }

  protocol::AnalogControlStatus step_status(const std::string &control, const std::string &instance) {
    protocol::AnalogControlStatus status;
    status.set_analog_control_id(control);
    status.set_analog_control_instance_id(instance);
    status.set_current_value(static_cast<float>(step_));
    status.set_min_value(static_cast<float>(MIN_STEP));
    status.set_max_value(static_cast<float>(MAX_STEP));
    return status;
  }

  // Stores `name` with the manager, then answers request `msg_id` with `status`: the press is
  // answered only once its count is kept, so a restart never shows an older count.
  template <class Status>
  void store(const std::string &name, int64_t value, uint64_t msg_id, const Status &status) {
    protocol::Settings setting;
    setting.set_setting_name(name);
    setting.set_setting_value(std::to_string(value));
    send_message_with_callback(setting, [this, name, msg_id, status](const response &stored) {
      if (stored.ok()) {
        send_response(msg_id, status);
      } else {
        send_error_response(msg_id, stored.code, "storing " + name + " failed: " + stored.description);
      }
    });
  }

  int64_t count_ = 0;
  int64_t step_ = MIN_STEP;
  bool warned_ = false;  // whether this RetryAfter window's refusals were logged
};

}  // namespace

// `counter-cpp [--json]`: `--json` speaks JSON text over a `ws://` endpoint (seed 7.1.2).
int main(int argc, char **argv) {
  try {
    counter plugin;
    if (argc > 1 && std::string(argv[1]) == "--json") plugin.set_use_text_format(true);
    plugin.connect();
    plugin.wait_for_disconnect();
    return 0;
  } catch (const logi::plugin_framework::error &e) {
    std::fprintf(stderr, "counter-cpp: %s\n", e.what());
    return 1;
  }
}
