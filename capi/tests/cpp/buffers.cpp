// The C++ buffer classes (logi/plugin_framework/buffer.hpp), run by tests/cpp_buffers.rs.
//
// Without arguments: a timer_buffer and a throughput_buffer merge turns on a fake clock, as
// Rust's buffers do (they are Rust's buffers). With a manager's socket path: a plugin_client
// registers two buffers of its own through its buffers(), a sum of three turns and one that
// throws, connects, and prints each update that reaches it ("volume 6", "jog 1") until both
// came. It prints "ok" at the end; any failed check exits 1 saying which.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>

#include "logi/plugin_framework/buffer.hpp"
#include "logi/plugin_framework/plugin_client.hpp"

namespace pf = logi::plugin_framework;
using std::chrono::milliseconds;
using time_point = pf::buffer::time_point;

#define CHECK(condition)                                                          \
  do {                                                                            \
    if (!(condition)) {                                                           \
      std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #condition); \
      std::exit(1);                                                               \
    }                                                                             \
  } while (0)

static pf::protocol::UpdateAnalogControl turn(const char *control, float delta) {
  pf::protocol::UpdateAnalogControl update;
  update.set_analog_control_id(control);
  update.set_instance_id("dial-1");
  update.set_delta(delta);
  return update;
}

static void a_timer_buffer_merges_a_window_on_a_fake_clock() {
  pf::timer_buffer buffer(milliseconds(20));
  const time_point start{};
  CHECK(buffer.on_update_analog_control(turn("volume", 1), 1, start + milliseconds(1)) ==
        pf::admission::dispatch());
  CHECK(buffer.on_update_analog_control(turn("volume", 2), 2, start + milliseconds(5)) ==
        pf::admission::held());
  CHECK(buffer.on_update_analog_control(turn("volume", 3), 3, start + milliseconds(9)) ==
        pf::admission::held_superseding(2));
  CHECK(buffer.pending_len() == 1);
  CHECK(buffer.poll_timeout() == start + milliseconds(21));
  CHECK(!buffer.poll_ready(start + milliseconds(20)));
  buffer.handle_timeout(start + milliseconds(21));
  auto merged = buffer.poll_ready(start + milliseconds(21));
  CHECK(merged && merged->msg_id == 3);
  CHECK(merged->update.analog_control_id() == "volume" && merged->update.delta() == 5);
  CHECK(!buffer.poll_ready(start + milliseconds(21)));
  // A reset forgets what was held: a fresh buffer of the same interval.
  buffer.on_update_analog_control(turn("volume", 1), 4, start + milliseconds(30));
  CHECK(buffer.on_update_analog_control(turn("volume", 1), 5, start + milliseconds(31)).is_held());
  buffer.reset();
  CHECK(buffer.pending_len() == 0 && !buffer.poll_timeout());
}

static void a_throughput_buffer_waits_for_the_answer() {
  pf::throughput_buffer buffer;
  const time_point now{};
  CHECK(!buffer.on_update_analog_control(turn("volume", 1), 1, now).is_held());
  CHECK(buffer.on_update_analog_control(turn("volume", 2), 2, now) == pf::admission::held());
  CHECK(*buffer.on_update_analog_control(turn("volume", 3), 3, now).superseded() == 2);
  CHECK(!buffer.poll_ready(now));
  buffer.on_message_response(1, now);
  auto merged = buffer.poll_ready(now);
  CHECK(merged && merged->msg_id == 3 && merged->update.delta() == 5);
}

static void a_timer_buffer_without_a_positive_interval_is_refused() {
  try {
    pf::timer_buffer buffer(milliseconds(0));
    CHECK(!"a timer_buffer of 0 ms was made");
  } catch (const pf::error &e) {
    CHECK(e.code() == LOGI_INVALID_ARG);
    CHECK(std::string(e.what()) == "timer_buffer: interval 0 ms is not between 1 ms and 2^32 - 1 ms");
  }
}

// Holds every turn until three have come, then releases their sum.
class sum_of_three : public pf::buffer {
 public:
  pf::admission on_update_analog_control(const pf::protocol::UpdateAnalogControl &update,
                                         uint64_t msg_id, time_point now) override {
    now_ = now;
    ++count_;
    if (count_ == 1) {
      held_ = update;
      id_ = msg_id;
      return pf::admission::held();
    }
    held_.set_delta(held_.delta() + update.delta());
    const uint64_t older = id_;
    id_ = msg_id;
    return pf::admission::held_superseding(older);
  }
  std::optional<pf::ready_update> poll_ready(time_point) override {
    if (count_ < 3) return std::nullopt;
    count_ = 0;
    return pf::ready_update{id_, held_};
  }
  std::optional<time_point> poll_timeout() const override {
    if (count_ < 3) return std::nullopt;
    return now_;
  }
  std::size_t pending_len() const override { return count_ == 0 ? 0 : 1; }
  void reset() override { count_ = 0; }

 private:
  pf::protocol::UpdateAnalogControl held_;
  uint64_t id_ = 0;
  int count_ = 0;
  time_point now_{};
};

// Throws at every update.
class thrower : public pf::buffer {
 public:
  pf::admission on_update_analog_control(const pf::protocol::UpdateAnalogControl &, uint64_t,
                                         time_point) override {
    throw std::runtime_error("out of patience");
  }
  std::optional<pf::ready_update> poll_ready(time_point) override { return std::nullopt; }
  std::optional<time_point> poll_timeout() const override { return std::nullopt; }
  std::size_t pending_len() const override { return 0; }
  void reset() override {}
};

// The plugin: answers every update ok and keeps the movement it saw.
class dial_plugin : public pf::plugin_client {
 public:
  using plugin_client::plugin_client;
  ~dial_plugin() override { close(); }

  void on_update_analog_control(const pf::protocol::UpdateAnalogControl &msg,
                                const uint64_t &msg_id) override {
    {
      std::lock_guard<std::mutex> guard(mutex_);
      std::printf("%s %g\n", msg.analog_control_id().c_str(), msg.delta());
      std::fflush(stdout);
      if (msg.analog_control_id() == "volume") volume_ += msg.delta();
      if (msg.analog_control_id() == "jog") ++jogs_;
    }
    send_ok_response(msg_id);
  }

  bool saw_everything() {
    std::lock_guard<std::mutex> guard(mutex_);
    return volume_ >= 6 && jogs_ >= 1;
  }

 private:
  std::mutex mutex_;
  float volume_ = 0;
  int jogs_ = 0;
};

static void custom_buffers_serve_a_client(const char *endpoint) {
  dial_plugin plugin("com.example.capi", "1.0.0", "code");
  plugin.set_endpoint(endpoint);
  pf::buffer_manager &buffers = plugin.buffers();
  CHECK(!buffers.is_buffering_enabled());
  buffers.register_custom_buffer("sum-of-three", std::make_unique<sum_of_three>());
  buffers.register_custom_buffer("thrower", std::make_unique<thrower>());
  try {
    buffers.register_custom_buffer("timer", std::make_unique<sum_of_three>());
    CHECK(!"a buffer under the built-in name timer was registered");
  } catch (const pf::error &e) {
    CHECK(e.code() == LOGI_DUPLICATE_NAME);
  }
  plugin.enable_control_buffering({{"volume", "sum-of-three"}, {"jog", "thrower"}});
  CHECK(buffers.is_buffering_enabled());
  plugin.connect();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!plugin.saw_everything()) {
    CHECK(std::chrono::steady_clock::now() < deadline);
    std::this_thread::sleep_for(milliseconds(5));
  }
}

int main(int argc, char **argv) {
  a_timer_buffer_merges_a_window_on_a_fake_clock();
  a_throughput_buffer_waits_for_the_answer();
  a_timer_buffer_without_a_positive_interval_is_refused();
  if (argc > 1) custom_buffers_serve_a_client(argv[1]);
  std::printf("ok\n");
  return 0;
}
