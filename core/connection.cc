#include "connection.h"

#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "log.h"

namespace gyre {

namespace {
constexpr size_t kReadChunk = 16384;
constexpr int kMaxIov = 64;
}  // namespace

Connection::Connection(ConnectionPool &pool, int fd) : pool_(pool), fd_(fd) {
  event_assign(&read_ev_, pool.base(), fd, EV_READ | EV_PERSIST, &Connection::on_read, this);
  event_add(&read_ev_, nullptr);
}

Connection::~Connection() {
  release_queue();
  event_del(&read_ev_);
  if (write_ev_) event_free(write_ev_);
  if (linger_ev_) event_free(linger_ev_);
  if (fd_ >= 0) ::close(fd_);
}

void Connection::set_handler(std::unique_ptr<ConnectionHandler> h) {
  // The old handler may be the caller: free it only after this callback.
  if (handler_) pool_.schedule_reap_handler(std::move(handler_));
  handler_ = std::move(h);
}

void Connection::release_queue() {
  for (size_t i = head_; i < queue_.size(); ++i) queue_[i]->unref();
  queue_.clear();
  head_ = head_offset_ = queued_bytes_ = 0;
}

void Connection::send(Frame *f) {
  if (state_ != State::Open) return;
  f->ref();
  queue_.push_back(f);
  queued_bytes_ += f->size();
  mark_dirty();
  check_backpressure();
}

void Connection::send_copy(std::string_view bytes) {
  if (state_ != State::Open || bytes.empty()) return;
  Frame *f = Frame::copy_of(bytes);
  queue_.push_back(f);
  queued_bytes_ += f->size();
  mark_dirty();
  check_backpressure();
}

void Connection::check_backpressure() {
  // A peer that sends requests but does not read the answers stops being
  // read until the queue drains.
  if (read_limit_ && !backpressured_ && queued_bytes_ > read_limit_) {
    backpressured_ = true;
    pause_reading();
  }
}

void Connection::drop_unsent() {
  size_t keep = head_ + (head_offset_ > 0 ? 1 : 0);
  for (size_t i = keep; i < queue_.size(); ++i) {
    queued_bytes_ -= queue_[i]->size();
    queue_[i]->unref();
  }
  queue_.resize(std::max(keep, head_));
}

void Connection::mark_dirty() {
  if (!dirty_) {
    dirty_ = true;
    pool_.schedule_flush(this);
  }
}

void Connection::pause_reading() {
  if (!reading_paused_ && state_ == State::Open) event_del(&read_ev_);
  reading_paused_ = true;
}

void Connection::resume_reading() {
  if (!reading_paused_) return;
  reading_paused_ = false;
  if (state_ == State::Open) {
    event_add(&read_ev_, nullptr);
    // Bytes that arrived while paused may already sit in the buffer.
    if (!in_.empty() && handler_) handler_->on_data(*this);
  }
}

void Connection::on_read(evutil_socket_t, short, void *arg) {
  static_cast<Connection *>(arg)->read_some();
}

void Connection::read_some() {
  if (state_ == State::Closed) return;
  char buf[kReadChunk];
  // Read what is there now (bounded, so one busy peer cannot starve others).
  for (int round = 0; round < 4; ++round) {
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n > 0) {
      // Nobody consumes input once closing began: discard it.
      if (state_ != State::Open) continue;
      in_.append(buf, static_cast<size_t>(n));
      if (static_cast<size_t>(n) < sizeof buf) break;
      continue;
    }
    if (n == 0) {
      close_now();
      return;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) break;
    if (errno == EINTR) continue;
    close_now();
    return;
  }
  if (state_ == State::Open && !in_.empty() && handler_ && !reading_paused_)
    handler_->on_data(*this);
  // Most reads are consumed whole; an idle connection keeps no buffer.
  if (in_.empty() && in_.capacity() > 0) std::string().swap(in_);
}

Connection::WriteResult Connection::write_some() {
  if (state_ == State::Closed || state_ == State::Lingering) return WriteResult::kSkipped;
  while (head_ < queue_.size()) {
    iovec iov[kMaxIov];
    int n = 0;
    for (size_t i = head_; i < queue_.size() && n < kMaxIov; ++i, ++n) {
      size_t off = i == head_ ? head_offset_ : 0;
      iov[n].iov_base = queue_[i]->data() + off;
      iov[n].iov_len = queue_[i]->size() - off;
    }
    // sendmsg, not writev: sockets skip the VFS file-position lock and
    // rw_verify_area that writev pays on every call.
    struct msghdr msg {};
    msg.msg_iov = iov;
    msg.msg_iovlen = static_cast<size_t>(n);
    ssize_t w = ::sendmsg(fd_, &msg, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) {
        release_queue();
        return WriteResult::kFailed;
      }
      // Keep the ring from growing with pointers already written.
      if (head_ > 256 && head_ * 2 > queue_.size()) {
        queue_.erase(queue_.begin(), queue_.begin() + static_cast<ptrdiff_t>(head_));
        head_ = 0;
      }
      return WriteResult::kBlocked;
    }
    size_t left = static_cast<size_t>(w);
    queued_bytes_ -= left;
    while (left > 0) {
      Frame *f = queue_[head_];
      size_t rem = f->size() - head_offset_;
      if (left >= rem) {
        left -= rem;
        f->unref();
        ++head_;
        head_offset_ = 0;
      } else {
        head_offset_ += left;
        left = 0;
      }
    }
  }
  queue_.clear();
  if (queue_.capacity() > 16) std::vector<Frame *>().swap(queue_);
  head_ = head_offset_ = 0;
  return WriteResult::kDrained;
}

void Connection::apply(WriteResult r) {
  switch (r) {
    case WriteResult::kSkipped: return;
    case WriteResult::kFailed:
      // The caller may be in the middle of a fan-out: close after it.
      pool_.schedule_close(this);
      return;
    case WriteResult::kBlocked:
      // Created only when a socket first pushes back: most never do.
      if (!write_ev_)
        write_ev_ =
            event_new(pool_.base(), fd_, EV_WRITE | EV_PERSIST, &Connection::on_write, this);
      event_add(write_ev_, nullptr);
      return;
    case WriteResult::kDrained:
      if (write_ev_) event_del(write_ev_);
      after_drained();
      if (backpressured_ && state_ == State::Open) {
        backpressured_ = false;
        resume_reading();
      }
      return;
  }
}

void Connection::flush() {
  dirty_ = false;
  apply(write_some());
}

void Connection::on_write(evutil_socket_t, short, void *arg) {
  static_cast<Connection *>(arg)->flush();
}

void Connection::after_drained() {
  if (state_ != State::Draining) return;
  // Half-close so the peer sees our last frame, then wait for it to close:
  // closing with unread input would send RST and could destroy that frame.
  ::shutdown(fd_, SHUT_WR);
  state_ = State::Lingering;
  reading_paused_ = false;
  event_add(&read_ev_, nullptr);
}

void Connection::on_linger(evutil_socket_t, short, void *arg) {
  static_cast<Connection *>(arg)->close_now();
}

void Connection::close_after_flush(int64_t linger_ms) {
  if (state_ != State::Open) return;
  state_ = State::Draining;
  // One deadline for draining and lingering together: a peer that stops
  // reading cannot keep a closing connection (and its queue) alive.
  if (linger_ms < 1000) linger_ms = 1000;
  linger_ev_ = event_new(pool_.base(), -1, 0, &Connection::on_linger, this);
  struct timeval tv = {static_cast<time_t>(linger_ms / 1000),
                       static_cast<suseconds_t>((linger_ms % 1000) * 1000)};
  event_add(linger_ev_, &tv);
  // Reading goes on (to see the peer close) but input is discarded.
  in_.clear();
  reading_paused_ = false;
  event_add(&read_ev_, nullptr);
  if (handler_) {
    // The handler is done with this connection; tell it once.
    auto h = std::move(handler_);
    h->on_close(*this);
    pool_.schedule_reap_handler(std::move(h));
  }
  if (queued_bytes_ == 0 && head_ >= queue_.size())
    after_drained();
  else
    mark_dirty();
}

int Connection::release_fd() {
  if (state_ != State::Open || queued_bytes_ > 0) return -1;
  int fd = fd_;
  fd_ = -1;  // close_now() frees the connection, not the socket
  close_now();
  return fd;
}

void Connection::close_now() {
  if (state_ == State::Closed) return;
  state_ = State::Closed;
  event_del(&read_ev_);
  if (write_ev_) event_del(write_ev_);
  if (linger_ev_) event_del(linger_ev_);
  if (handler_) {
    auto h = std::move(handler_);
    h->on_close(*this);
    pool_.schedule_reap_handler(std::move(h));
  }
  release_queue();
  pool_.schedule_reap(this);
}

ConnectionPool::ConnectionPool(event_base *base) : base_(base) {
  flush_ev_ = event_new(base, -1, 0, &ConnectionPool::on_flush, this);
}

ConnectionPool::~ConnectionPool() {
  close_all_now();
  dead_.clear();
  dead_handlers_.clear();
  conns_.clear();
  event_free(flush_ev_);
}

Connection *ConnectionPool::add(int fd) {
  auto c = std::make_unique<Connection>(*this, fd);
  Connection *raw = c.get();
  if (!free_slots_.empty()) {
    size_t slot = free_slots_.back();
    free_slots_.pop_back();
    conns_[slot] = std::move(c);
    raw->slot_ = slot;
  } else {
    raw->slot_ = conns_.size();
    conns_.push_back(std::move(c));
  }
  ++live_;
  if (shared_live_) shared_live_->fetch_add(1, std::memory_order_relaxed);
  return raw;
}

void ConnectionPool::close_all_now() {
  for (auto &c : conns_)
    if (c) c->close_now();
}

void ConnectionPool::flush_batch(std::vector<Connection *> &batch) {
  // A connection can be listed twice (dirty again after an earlier flush):
  // flush() clears the flag, so the second entry is skipped.
  for (Connection *c : batch)
    if (c->dirty_) c->flush();
}

void ConnectionPool::wake() {
  if (!event_pending(flush_ev_, EV_TIMEOUT, nullptr)) event_active(flush_ev_, EV_TIMEOUT, 0);
}

void ConnectionPool::schedule_flush(Connection *c) {
  dirty_.push_back(c);
  wake();
}

void ConnectionPool::schedule_close(Connection *c) {
  to_close_.push_back(c);
  wake();
}

void ConnectionPool::schedule_reap(Connection *c) {
  dead_.push_back(c);
  wake();
}

void ConnectionPool::schedule_reap_handler(std::unique_ptr<ConnectionHandler> h) {
  dead_handlers_.push_back(std::move(h));
  wake();
}

void ConnectionPool::on_flush(evutil_socket_t, short, void *arg) {
  auto *self = static_cast<ConnectionPool *>(arg);
  std::vector<Connection *> failing;
  failing.swap(self->to_close_);
  for (Connection *c : failing) c->close_now();
  // Flushing can queue more work (a failed write closes a connection).
  for (int round = 0; round < 4 && !self->dirty_.empty(); ++round) {
    std::vector<Connection *> batch;
    batch.swap(self->dirty_);
    self->flush_batch(batch);
  }
  self->dead_handlers_.clear();
  std::vector<Connection *> dead;
  dead.swap(self->dead_);
  for (Connection *c : dead) {
    // A connection may be listed as dirty after it died; skip those.
    self->dirty_.erase(std::remove(self->dirty_.begin(), self->dirty_.end(), c),
                       self->dirty_.end());
    self->to_close_.erase(std::remove(self->to_close_.begin(), self->to_close_.end(), c),
                          self->to_close_.end());
    size_t slot = c->slot_;
    self->conns_[slot].reset();
    self->free_slots_.push_back(slot);
    --self->live_;
    if (self->shared_live_) self->shared_live_->fetch_sub(1, std::memory_order_relaxed);
  }
  if (!self->dirty_.empty() || !self->dead_.empty() || !self->to_close_.empty())
    event_active(self->flush_ev_, EV_TIMEOUT, 0);
}

}  // namespace gyre
