// logi/plugin_framework/buffer.hpp: the seed's analog buffers (ch. 7.3-7.6) over the C ABI of
// `logi_plugin.h`: `buffer` (7.4, the interface of a plugin's own buffer), `throughput_buffer`
// (7.5) and `timer_buffer` (7.6), which are the library's Rust buffers behind a C handle (not
// a second implementation), and `buffer_manager` (7.3), a plugin client's registry of buffers
// and buffered controls. Header-only, C++17.
//
// A buffer keeps a flood of `UpdateAnalogControl` requests from a dial from lagging the
// plugin: updates for one slot (control and instance) are merged, deltas summed and values
// last-wins, so the dial's net movement is never lost. Each merged-away request is answered ok
// at once; the merged update is delivered under the newest request id.
//
// Polled, not pushed. The seed's `buffer_manager::process_event` and
// `set_buffered_message_callback` do not exist here: the client's connection drives its
// buffers itself (it gives them each update, each answer of the plugin and the time, and
// polls them), and a merged update reaches the plugin through the client's ordinary message
// callback (`plugin_client::on_update_analog_control`) under its request id, to be answered
// like any request. A buffer held outside a client is driven by its owner the same way: call
// `on_update_analog_control` for each update, `on_message_response` for each answer,
// `handle_timeout` at `poll_timeout()`, and drain `poll_ready` after each of them.
//
// Time. A buffer's times are `buffer_clock::time_point`s: microseconds since the client's C
// handle was made, for a buffer registered on a client; for a buffer driven by hand, any
// epoch that does not go backwards (a buffer only compares the times it is given).
//
// A plugin's own buffer (a subclass of `buffer` given to
// `buffer_manager::register_custom_buffer`) is called on the client's connection thread, one
// call at a time: it must not block. An exception that leaves one of its methods is caught
// (it must not reach the C ABI, where it would abort the process), written to stderr, and
// takes the buffer out of service until the next connection: the update being given is
// dispatched to the plugin unbuffered, and so is every later one; what the buffer held when it
// threw is not delivered (the manager's request timeout answers those requests).
#ifndef LOGI_PLUGIN_FRAMEWORK_BUFFER_HPP
#define LOGI_PLUGIN_FRAMEWORK_BUFFER_HPP

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "logi/plugin/protocol/protocol.pb.h"
#include "logi/plugin_framework/error.hpp"
#include "logi_plugin.h"

namespace logi {
namespace plugin_framework {

namespace protocol = ::logi::plugin::protocol;

// The clock a buffer's times are on: microseconds since an epoch its driver chooses (for a
// client's buffers, when the client's C handle was made). It has no `now()`: time is always
// handed in.
struct buffer_clock {
  using rep = int64_t;
  using period = std::micro;
  using duration = std::chrono::microseconds;
  using time_point = std::chrono::time_point<buffer_clock>;
  static constexpr bool is_steady = true;
};

// What a buffer decided for an update it was given.
class admission {
 public:
  // Deliver the update to the plugin now, under its own request id.
  static admission dispatch() { return admission(LOGI_BUFFER_DISPATCH, 0); }
  // The buffer holds the update; it comes out of `poll_ready`, merged.
  static admission held() { return admission(LOGI_BUFFER_HELD, 0); }
  // The buffer holds the update, into which it merged the pending update of request
  // `superseded`: that request is answered ok now and never delivered.
  static admission held_superseding(uint64_t superseded) {
    return admission(LOGI_BUFFER_HELD_SUPERSEDING, superseded);
  }

  // Whether the update is held (not dispatched).
  bool is_held() const { return code_ != LOGI_BUFFER_DISPATCH; }
  // The request merged away, if any.
  std::optional<uint64_t> superseded() const {
    if (code_ == LOGI_BUFFER_HELD_SUPERSEDING) return superseded_;
    return std::nullopt;
  }
  // The C ABI's code: `LOGI_BUFFER_DISPATCH`, `_HELD` or `_HELD_SUPERSEDING`.
  int32_t code() const { return code_; }

  bool operator==(const admission &other) const {
    return code_ == other.code_ && superseded_ == other.superseded_;
  }
  bool operator!=(const admission &other) const { return !(*this == other); }

 private:
  admission(int32_t code, uint64_t superseded) : code_(code), superseded_(superseded) {}
  int32_t code_;
  uint64_t superseded_;
};

// A merged update due for delivery, and the request id to deliver it under.
struct ready_update {
  uint64_t msg_id = 0;
  protocol::UpdateAnalogControl update;
};

// A buffering strategy (seed 7.4). A subclass must not lose a request: every `msg_id` given to
// `on_update_analog_control` comes back exactly once, dispatched, reported superseded, or
// carried by an update from `poll_ready`.
class buffer {
 public:
  using time_point = buffer_clock::time_point;

  virtual ~buffer() = default;

  // Takes an update received as request `msg_id` at `now`, and decides what happens to it.
  virtual admission on_update_analog_control(const protocol::UpdateAnalogControl &update,
                                             uint64_t msg_id, time_point now) = 0;
  // The plugin answered request `msg_id` (any request: ignore ids this buffer did not hand out).
  virtual void on_message_response(uint64_t msg_id, time_point now) {
    (void)msg_id;
    (void)now;
  }
  // Time has reached `now`; early or repeated calls must do nothing.
  virtual void handle_timeout(time_point now) { (void)now; }
  // The next merged update due for delivery, if any.
  virtual std::optional<ready_update> poll_ready(time_point now) = 0;
  // The earliest time at which `handle_timeout` or `poll_ready` has work; none when nothing
  // waits on time. A time already past means `poll_ready` has work now.
  virtual std::optional<time_point> poll_timeout() const = 0;
  // The number of updates held and not yet delivered.
  virtual std::size_t pending_len() const = 0;
  // A new connection opens: the requests held from the one before died with it; forget them.
  virtual void reset() = 0;
};

namespace detail {

// `now` as the C ABI's microseconds (0 before the epoch).
inline uint64_t to_micros(buffer_clock::time_point now) {
  auto count = now.time_since_epoch().count();
  return count < 0 ? 0 : static_cast<uint64_t>(count);
}

// The C ABI's microseconds as a time point (clamped to what it holds).
inline buffer_clock::time_point from_micros(uint64_t us) {
  const auto max = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  return buffer_clock::time_point(
      std::chrono::microseconds(static_cast<int64_t>(us < max ? us : max)));
}

// A built-in buffer behind its C handle; `make` makes a fresh handle (again at `reset`).
class handle_buffer : public buffer {
 public:
  admission on_update_analog_control(const protocol::UpdateAnalogControl &update,
                                     uint64_t msg_id, time_point now) override {
    const std::string bytes = update.SerializeAsString();
    int32_t code = LOGI_BUFFER_DISPATCH;
    uint32_t superseded = 0;
    check(logi_buffer_on_update(handle_.get(), to_micros(now), static_cast<uint32_t>(msg_id),
                                reinterpret_cast<const uint8_t *>(bytes.data()), bytes.size(),
                                &code, &superseded),
          "logi_buffer_on_update");
    if (code == LOGI_BUFFER_HELD_SUPERSEDING) return admission::held_superseding(superseded);
    return code == LOGI_BUFFER_HELD ? admission::held() : admission::dispatch();
  }

  void on_message_response(uint64_t msg_id, time_point now) override {
    check(logi_buffer_on_response(handle_.get(), to_micros(now), static_cast<uint32_t>(msg_id)),
          "logi_buffer_on_response");
  }

  void handle_timeout(time_point now) override {
    check(logi_buffer_handle_timeout(handle_.get(), to_micros(now)), "logi_buffer_handle_timeout");
  }

  std::optional<ready_update> poll_ready(time_point now) override {
    bool ready = false;
    uint32_t id = 0;
    logi_bytes bytes{nullptr, 0};
    check(logi_buffer_poll_ready(handle_.get(), to_micros(now), &ready, &id, &bytes),
          "logi_buffer_poll_ready");
    const std::string data = take_bytes(bytes);
    if (!ready) return std::nullopt;
    ready_update out;
    out.msg_id = id;
    // The library wrote these bytes from a message of this type: they parse.
    out.update.ParseFromString(data);
    return out;
  }

  std::optional<time_point> poll_timeout() const override {
    bool waits = false;
    uint64_t at = 0;
    check(logi_buffer_poll_timeout(handle_.get(), &waits, &at), "logi_buffer_poll_timeout");
    if (!waits) return std::nullopt;
    return from_micros(at);
  }

  std::size_t pending_len() const override { return logi_buffer_pending_len(handle_.get()); }

  void reset() override { handle_ = make(); }

  // The C handle, for calls of `logi_plugin.h` this class does not wrap.
  logi_buffer *handle() const { return handle_.get(); }

 protected:
  explicit handle_buffer(std::function<int32_t(logi_buffer **)> make)
      : make_(std::move(make)), handle_(this->make()) {}

 private:
  struct free_handle {
    void operator()(logi_buffer *handle) const { logi_buffer_free(handle); }
  };
  using owned = std::unique_ptr<logi_buffer, free_handle>;

  owned make() const {
    logi_buffer *handle = nullptr;
    check(make_(&handle), "logi_buffer_new");
    return owned(handle);
  }

  std::function<int32_t(logi_buffer **)> make_;
  owned handle_;
};

}  // namespace detail

// The throughput buffer (seed 7.5): a slot's first update is dispatched, later ones are merged
// until the plugin answers the one in flight, so it delivers exactly as fast as the plugin
// works. At most `max_slots` slots held at once (0: the default, 1024); further ones pass.
class throughput_buffer : public detail::handle_buffer {
 public:
  explicit throughput_buffer(std::size_t max_slots = 0)
      : handle_buffer([max_slots](logi_buffer **out) {
          return logi_buffer_new_throughput(max_slots, out);
        }) {}
};

// The timer buffer (seed 7.6): at most one delivery per slot per `interval` (whole
// milliseconds, at least 1), the updates of a window merged. `max_slots` as for
// `throughput_buffer`.
class timer_buffer : public detail::handle_buffer {
 public:
  explicit timer_buffer(std::chrono::milliseconds interval = std::chrono::milliseconds(50),
                        std::size_t max_slots = 0)
      : handle_buffer([interval, max_slots](logi_buffer **out) {
          return logi_buffer_new_timer(interval_ms(interval), max_slots, out);
        }) {}

 private:
  static uint32_t interval_ms(std::chrono::milliseconds interval) {
    const int64_t count = interval.count();
    if (count < 1 || count > static_cast<int64_t>(std::numeric_limits<uint32_t>::max())) {
      throw error(LOGI_INVALID_ARG, "timer_buffer: interval " + std::to_string(count) +
                                        " ms is not between 1 ms and 2^32 - 1 ms");
    }
    return static_cast<uint32_t>(count);
  }
};

namespace detail {

// A plugin's own buffer as the C ABI's vtable: the trampolines catch every exception.
class custom_buffer {
 public:
  custom_buffer(std::string name, std::unique_ptr<buffer> inner)
      : name_(std::move(name)), inner_(std::move(inner)) {}

  logi_buffer_vtable vtable() {
    logi_buffer_vtable table{};
    table.user_data = this;
    table.on_update = &custom_buffer::on_update;
    table.on_response = &custom_buffer::on_response;
    table.handle_timeout = &custom_buffer::handle_timeout;
    table.poll_ready = &custom_buffer::poll_ready;
    table.poll_timeout = &custom_buffer::poll_timeout;
    table.pending_len = &custom_buffer::pending_len;
    table.reset = &custom_buffer::reset;
    table.drop = &custom_buffer::drop;
    return table;
  }

 private:
  static custom_buffer &self(void *user_data) { return *static_cast<custom_buffer *>(user_data); }

  // Runs `call` on the buffer unless it is out of service; an exception takes it out.
  template <class F>
  void guarded(const char *method, F call) {
    if (failed_) return;
    try {
      call(*inner_);
    } catch (const std::exception &e) {
      fail(method, e.what());
    } catch (...) {
      fail(method, "an exception not derived from std::exception");
    }
  }

  void fail(const char *method, const char *what) {
    failed_ = true;
    std::fprintf(stderr,
                 "logi_plugin: buffer \"%s\" threw in %s: %s; it dispatches every update until "
                 "the next connection\n",
                 name_.c_str(), method, what);
  }

  static int32_t on_update(void *user_data, uint64_t now_us, uint32_t request_id,
                           const uint8_t *data, size_t len, uint32_t *out_superseded) {
    int32_t code = LOGI_BUFFER_DISPATCH;
    self(user_data).guarded("on_update_analog_control", [&](buffer &inner) {
      protocol::UpdateAnalogControl update;
      if (!update.ParseFromArray(data, static_cast<int>(len))) return;
      const admission decided =
          inner.on_update_analog_control(update, request_id, from_micros(now_us));
      if (decided.superseded()) *out_superseded = static_cast<uint32_t>(*decided.superseded());
      code = decided.code();
    });
    return code;
  }

  static void on_response(void *user_data, uint64_t now_us, uint32_t request_id) {
    self(user_data).guarded("on_message_response", [&](buffer &inner) {
      inner.on_message_response(request_id, from_micros(now_us));
    });
  }

  static void handle_timeout(void *user_data, uint64_t now_us) {
    self(user_data).guarded("handle_timeout",
                            [&](buffer &inner) { inner.handle_timeout(from_micros(now_us)); });
  }

  static bool poll_ready(void *user_data, uint64_t now_us, uint32_t *out_request_id,
                         const uint8_t **out_data, size_t *out_len) {
    custom_buffer &me = self(user_data);
    bool ready = false;
    me.guarded("poll_ready", [&](buffer &inner) {
      std::optional<ready_update> due = inner.poll_ready(from_micros(now_us));
      if (!due) return;
      // Kept until the next call, as the vtable's contract asks.
      me.ready_ = due->update.SerializeAsString();
      *out_request_id = static_cast<uint32_t>(due->msg_id);
      *out_data = reinterpret_cast<const uint8_t *>(me.ready_.data());
      *out_len = me.ready_.size();
      ready = true;
    });
    return ready;
  }

  static bool poll_timeout(void *user_data, uint64_t *out_at_us) {
    bool waits = false;
    self(user_data).guarded("poll_timeout", [&](buffer &inner) {
      std::optional<buffer::time_point> at = inner.poll_timeout();
      if (!at) return;
      *out_at_us = to_micros(*at);
      waits = true;
    });
    return waits;
  }

  static size_t pending_len(void *user_data) {
    size_t pending = 0;
    self(user_data).guarded("pending_len", [&](buffer &inner) { pending = inner.pending_len(); });
    return pending;
  }

  static void reset(void *user_data) {
    custom_buffer &me = self(user_data);
    me.failed_ = false;
    me.guarded("reset", [](buffer &inner) { inner.reset(); });
  }

  static void drop(void *user_data) { delete static_cast<custom_buffer *>(user_data); }

  std::string name_;
  std::unique_ptr<buffer> inner_;
  // The serialized update `poll_ready` handed out last.
  std::string ready_;
  // Out of service: an exception left the buffer (see the header's opening comment).
  bool failed_ = false;
};

}  // namespace detail

// A plugin client's buffers (seed 7.3): which controls are buffered, by which buffer. It does
// not own the client: `plugin_client` owns one and hands it out as `buffers()`; it must not
// outlive the client's handle.
class buffer_manager {
 public:
  explicit buffer_manager(logi_plugin_client *client) : client_(client) {}

  buffer_manager(const buffer_manager &) = delete;
  buffer_manager &operator=(const buffer_manager &) = delete;

  // Whether any control was registered for buffering through this manager (seed 7.3.1).
  bool is_buffering_enabled() const {
    std::lock_guard<std::mutex> guard(mutex_);
    return !controls_.empty();
  }

  // Buffers these controls' updates (seed 7.3.2): `{control_id: buffer_key}`, the key
  // `"throughput"`, `"timer"` or a name given to `register_custom_buffer`. Before or after
  // connecting; kept across reconnects. Throws `error` (`LOGI_INVALID_ARG`) for a key that
  // names no buffer, and then registers none of them.
  void register_controls(const std::map<std::string, std::string> &controls) {
    if (controls.empty()) return;
    std::vector<const char *> ids;
    std::vector<const char *> keys;
    for (const auto &control : controls) {
      ids.push_back(control.first.c_str());
      keys.push_back(control.second.c_str());
    }
    detail::check(logi_plugin_client_enable_control_buffering(client_, ids.data(), keys.data(),
                                                      controls.size()),
          "logi_plugin_client_enable_control_buffering");
    std::lock_guard<std::mutex> guard(mutex_);
    for (const auto &control : controls) controls_[control.first] = control.second;
  }

  // Registers a buffer of the plugin's own under `name` (seed 7.3.3), for `register_controls`.
  // The client owns it from then on (it is reset as each connection opens, and destroyed with
  // the client's handle); its methods run on the connection thread. Throws `error`:
  // `LOGI_DUPLICATE_NAME` for a built-in name or one already registered, `LOGI_INVALID_ARG`
  // for a null buffer; the buffer is destroyed then.
  void register_custom_buffer(const std::string &name, std::unique_ptr<buffer> custom) {
    if (!custom) throw error(LOGI_INVALID_ARG, "register_custom_buffer: buffer is null");
    auto adapter = std::make_unique<detail::custom_buffer>(name, std::move(custom));
    const logi_buffer_vtable vtable = adapter->vtable();
    detail::check(logi_plugin_client_register_custom_buffer(client_, name.c_str(), &vtable),
          "logi_plugin_client_register_custom_buffer");
    // The library owns it now, and deletes it through `drop`.
    adapter.release();
  }

 private:
  logi_plugin_client *client_;
  mutable std::mutex mutex_;
  // The controls registered through this manager, and their buffer keys.
  std::map<std::string, std::string> controls_;
};

}  // namespace plugin_framework
}  // namespace logi

#endif  // LOGI_PLUGIN_FRAMEWORK_BUFFER_HPP
