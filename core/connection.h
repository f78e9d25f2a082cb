// Connection: one accepted TCP socket. Owns the fd, the input buffer and the
// output queue of Frames, flushed with writev in batches at the end of each
// loop iteration. What the bytes mean is up to its ConnectionHandler (HTTP
// first, then possibly WebSocket).
#pragma once

#include <event2/event.h>
#include <event2/event_struct.h>
#include <sys/uio.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "frame.h"

namespace gyre {

class Connection;
class ConnectionPool;

class ConnectionHandler {
 public:
  virtual ~ConnectionHandler() = default;
  // New bytes are in conn.input(); consume what you use.
  virtual void on_data(Connection &conn) = 0;
  // The peer closed or the socket failed; the connection is going away.
  virtual void on_close(Connection &conn) = 0;
};

class Connection {
 public:
  Connection(ConnectionPool &pool, int fd);
  ~Connection();
  Connection(const Connection &) = delete;
  Connection &operator=(const Connection &) = delete;

  void set_handler(std::unique_ptr<ConnectionHandler> h);
  ConnectionHandler *handler() const { return handler_.get(); }
  std::string &input() { return in_; }
  int fd() const { return fd_; }

  // Queues a frame (takes one more reference) / a copy of bytes.
  void send(Frame *f);
  void send_copy(std::string_view bytes);
  size_t queued_bytes() const { return queued_bytes_; }
  // Above this many queued bytes, reading pauses until the queue drains
  // (0 = never; WebSocket clients are bounded by client.queue_max_size).
  void set_read_limit(size_t bytes) { read_limit_ = bytes; }
  // Drops queued frames that have not started to go out (used when a slow
  // client is disconnected: the close frame must not wait behind them).
  void drop_unsent();

  // Stop reading (the handler waits for something asynchronous).
  void pause_reading();
  void resume_reading();

  // Graceful: flush the queue, then half-close and wait up to linger_ms for
  // the peer to close. Immediate: close now.
  void close_after_flush(int64_t linger_ms);
  void close_now();
  // Like close_now(), but the socket stays open and is returned, for another
  // loop to adopt. Only with nothing queued (-1 otherwise, and nothing
  // changes).
  int release_fd();
  bool closing() const { return state_ != State::Open; }

  // Writes what the socket takes now (loop thread only).
  void flush();

 private:
  friend class ConnectionPool;
  // flush() in two halves: write_some() touches only the queue and the
  // socket; apply() does the libevent and state work.
  enum class WriteResult { kSkipped, kDrained, kBlocked, kFailed };
  WriteResult write_some();
  void apply(WriteResult r);
  enum class State { Open, Draining, Lingering, Closed };
  static void on_read(evutil_socket_t, short, void *arg);
  static void on_write(evutil_socket_t, short, void *arg);
  static void on_linger(evutil_socket_t, short, void *arg);
  void read_some();
  void after_drained();
  void mark_dirty();
  void check_backpressure();
  void release_queue();

  ConnectionPool &pool_;
  int fd_;
  State state_ = State::Open;
  bool dirty_ = false;
  bool reading_paused_ = false;
  // Embedded (event_assign), not event_new: every connection has one, and
  // a separate allocation costs 24 bytes more each.
  event read_ev_;
  event *write_ev_ = nullptr;
  event *linger_ev_ = nullptr;
  std::string in_;
  // Output queue: a ring of frame pointers; head_offset_ bytes of the first
  // frame are already written.
  std::vector<Frame *> queue_;
  size_t head_ = 0;
  size_t head_offset_ = 0;
  size_t queued_bytes_ = 0;
  size_t slot_ = 0;
  size_t read_limit_ = 0;
  bool backpressured_ = false;
  std::unique_ptr<ConnectionHandler> handler_;
};

// Owns all connections of one worker; batches flushes and reaps closed
// connections once no callback can still be using them.
class ConnectionPool {
 public:
  explicit ConnectionPool(event_base *base);
  ~ConnectionPool();
  event_base *base() const { return base_; }
  // A counter shared by several pools (the node's connection count), kept
  // in step with size(); not owned.
  void set_shared_count(std::atomic<size_t> *count) { shared_live_ = count; }
  Connection *add(int fd);
  size_t size() const { return live_; }
  template <typename Fn>
  void for_each(Fn fn) {
    for (auto &c : conns_)
      if (c && c->state_ != Connection::State::Closed) fn(*c);
  }
  void close_all_now();

 private:
  friend class Connection;
  static void on_flush(evutil_socket_t, short, void *arg);
  // Runs on_flush after the current callbacks of this loop turn.
  void wake();
  void schedule_flush(Connection *c);
  void flush_batch(std::vector<Connection *> &batch);
  std::atomic<size_t> *shared_live_ = nullptr;
  void schedule_reap(Connection *c);
  void schedule_close(Connection *c);
  // Handlers outlive their connection until the current callbacks are done.
  void schedule_reap_handler(std::unique_ptr<ConnectionHandler> h);
  event_base *base_;
  event *flush_ev_;
  std::vector<Connection *> dirty_;
  std::vector<std::unique_ptr<Connection>> conns_;  // slot per connection
  std::vector<size_t> free_slots_;
  std::vector<Connection *> dead_;
  std::vector<Connection *> to_close_;  // failed writes, closed next turn
  std::vector<std::unique_ptr<ConnectionHandler>> dead_handlers_;
  size_t live_ = 0;
};

}  // namespace gyre
