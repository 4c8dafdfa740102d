#include "stream_engine.h"

#include <algorithm>
#include <cstring>

#include "errors.h"
#include "stream_wire.h"
#include "udp_socket.h"

namespace hubless {

const char* const kStreamStatNames[kSxCount] = {
    "packetsIn", "packetsOut", "acksOut", "streamsOpened", "streamsAccepted",
    "dropMalformed", "dropUnknownFrame", "dropAck", "dropFlowControl", "dropStreamLimit",
    "dropNoOpen", "dropFinalSize", "dropReassembly", "lateFrames", "refused", "timeouts",
    "faultDropped", "faultDuplicated", "faultReordered",
};

const char* const kConnStatNames[kCsCount] = {
    "srttUs", "rttVarUs", "minRttUs", "cwnd", "ssthresh", "bytesInFlight", "pacingRate",
    "packetsSent", "packetsLost", "retransmittedBytes", "bytesSent", "bytesReceived",
    "ptoCount", "congestionEvents", "streams", "acksSent", "spuriousLosses", "congestionUndone",
    "packetThreshold", "reorderUs", "randomLosses", "persistentCongestion",
};

uint64_t NowUs() { return uv_hrtime() / 1000; }

namespace {
bool IsPeerOpened(uint32_t key) { return (key & 1) != 0; }
}  // namespace

// ---- recovery callbacks -------------------------------------------------------------------

void Connection::OnPacketAcked(const SentPacket& p) {
  for (uint8_t i = 0; i < p.n; i++) {
    const SentChunk& k = p.c[i];
    Stream* st = engine->FindStream(*this, k.key);
    if (st == nullptr) continue;
    switch (k.kind) {
      case ChunkKind::kStream:
        if (st->reset_local) break;
        st->send.OnAcked(k.offset, k.len);
        if (k.fin) st->fin_acked = true;
        if (k.open) st->open_acked = true;
        engine->MaybeWritable(*this, *st);
        break;
      case ChunkKind::kReset:
        st->reset_acked = true;
        break;
      default:
        break;
    }
    engine->MaybeFree(*this, *st);
  }
}

void Connection::OnPacketLost(const SentPacket& p) { Requeue(p, true); }

// Queues again what `p` carried: stream bytes and FIN/OPEN not yet acknowledged, and the control
// frames still wanted (window updates carry the current limit, not the old one). Used for lost
// packets and, with `lost` false, for the packet a probe timeout re-sends.
void Connection::Requeue(const SentPacket& p, bool lost) {
  if (p.max_data) max_data_pending = true;
  if (p.data_blocked && conn_blocked) data_blocked_pending = true;
  for (uint8_t i = 0; i < p.n; i++) {
    const SentChunk& k = p.c[i];
    if (k.kind == ChunkKind::kRefused) {  // no stream state: the id alone says it again
      if (refusals.size() < kMaxRefusals) refusals.push_back(k.key);
      continue;
    }
    Stream* st = engine->FindStream(*this, k.key);
    if (st == nullptr) continue;
    switch (k.kind) {
      case ChunkKind::kStream:
        if (st->reset_local) break;
        if (lost) stats[kCsRetransmittedBytes] += k.len;
        if (k.len > 0) st->send.OnLost(k.offset, k.len);
        if (k.fin && !st->fin_acked) st->fin_pending = true;
        if (k.open && !st->open_acked && k.len == 0) st->open_pending = true;
        engine->QueueSend(*this, *st);
        break;
      case ChunkKind::kMaxStreamData:
        if (!st->reset_remote && st->rx_final == UINT64_MAX) {
          st->max_pending = true;
          engine->QueueCtrl(*this, *st);
        }
        break;
      case ChunkKind::kReset:
        if (!st->reset_acked) {
          st->reset_pending = true;
          engine->QueueCtrl(*this, *st);
        }
        break;
      case ChunkKind::kStopSending:
        st->stop_pending = true;
        engine->QueueCtrl(*this, *st);
        break;
      case ChunkKind::kStreamBlocked:
        if (st->blocked) {
          st->blocked_pending = true;
          engine->QueueCtrl(*this, *st);
        }
        break;
      case ChunkKind::kRefused:
        break;
    }
  }
  dirty = true;
}

// ---- construction ---------------------------------------------------------------------------

Napi::Function StreamEngine::Init(Napi::Env env) {
  return DefineClass(env, "StreamEngine",
                     {
                         InstanceMethod<&StreamEngine::Open>("open"),
                         InstanceMethod<&StreamEngine::Write>("write"),
                         InstanceMethod<&StreamEngine::Consumed>("consumed"),
                         InstanceMethod<&StreamEngine::Reset>("reset"),
                         InstanceMethod<&StreamEngine::ConnStats>("sessionStats"),
                         InstanceMethod<&StreamEngine::Configure>("configure"),
                         InstanceMethod<&StreamEngine::SetFaults>("setFaults"),
                         InstanceMethod<&StreamEngine::InjectPlaintext>("injectPlaintext"),
                         InstanceMethod<&StreamEngine::Close>("close"),
                         StaticMethod<&StreamEngine::RingBytesInProcess>("ringBytes"),
                     });
}

// new StreamEngine(socket, { onEvents(count), slab: Uint8Array, events: Uint32Array, stats: Float64Array })
StreamEngine::StreamEngine(const Napi::CallbackInfo& info) : Napi::ObjectWrap<StreamEngine>(info) {
  Napi::Env env = info.Env();
  if (!info[0].IsObject() || !info[1].IsObject()) {
    ThrowCode(env, "ERR_HUBLESS_INVALID_ARGUMENT", "StreamEngine(socket, options)");
    return;
  }
  Napi::Object o = info[1].As<Napi::Object>();
  Napi::Value cb = o.Get("onEvents"), slab = o.Get("slab"), ev = o.Get("events"), st = o.Get("stats");
  if (!cb.IsFunction() || !slab.IsTypedArray() || !ev.IsTypedArray() || !st.IsTypedArray()) {
    ThrowCode(env, "ERR_HUBLESS_INVALID_ARGUMENT", "StreamEngine needs onEvents, slab, events and stats");
    return;
  }
  auto slab_a = slab.As<Napi::TypedArray>();
  auto ev_a = ev.As<Napi::TypedArray>();
  auto st_a = st.As<Napi::TypedArray>();
  if (slab_a.TypedArrayType() != napi_uint8_array || slab_a.ByteLength() < 4 * kMaxDataRecord ||
      ev_a.TypedArrayType() != napi_uint32_array || ev_a.ElementLength() < kMaxEvents * kEventWords ||
      st_a.TypedArrayType() != napi_float64_array || st_a.ElementLength() < kSxCount) {
    ThrowCode(env, "ERR_HUBLESS_INVALID_ARGUMENT", "StreamEngine buffers have the wrong type or size");
    return;
  }
  socket_ = UdpSocket::Unwrap(info[0].As<Napi::Object>());
  if (socket_ == nullptr || !socket_->AttachStreams(this)) {
    if (!env.IsExceptionPending())
      ThrowCode(env, "ERR_HUBLESS_INVALID_ARGUMENT", "the socket is closed, unbound or already has a stream engine");
    socket_ = nullptr;
    return;
  }
  socket_ref_ = Napi::Persistent(info[0].As<Napi::Object>());
  on_events_ = Napi::Persistent(cb.As<Napi::Function>());
  slab_ref_ = Napi::Persistent(slab.As<Napi::Object>());
  events_ref_ = Napi::Persistent(ev.As<Napi::Object>());
  stats_ref_ = Napi::Persistent(st.As<Napi::Object>());
  slab_ = static_cast<uint8_t*>(slab_a.ArrayBuffer().Data()) + slab_a.ByteOffset();
  slab_cap_ = slab_a.ByteLength();
  events_ = reinterpret_cast<uint32_t*>(static_cast<uint8_t*>(ev_a.ArrayBuffer().Data()) + ev_a.ByteOffset());
  stats_ = reinterpret_cast<double*>(static_cast<uint8_t*>(st_a.ArrayBuffer().Data()) + st_a.ByteOffset());
  async_ = std::make_unique<Napi::AsyncContext>(env, "HublessStreamEngine", info.This().As<Napi::Object>());
  uv_loop_t* loop = nullptr;
  napi_get_uv_event_loop(env, &loop);
  timer_ = new uv_timer_t;
  uv_timer_init(loop, timer_);
  timer_->data = this;
  uv_unref(reinterpret_cast<uv_handle_t*>(timer_));
  flush_check_ = new uv_check_t;
  uv_check_init(loop, flush_check_);
  flush_check_->data = this;
  uv_unref(reinterpret_cast<uv_handle_t*>(flush_check_));
  flush_idle_ = new uv_idle_t;
  uv_idle_init(loop, flush_idle_);
  flush_idle_->data = this;
  uv_unref(reinterpret_cast<uv_handle_t*>(flush_idle_));
  open_handles_ = 3;
  Ref();  // the socket points at us until it closes
}

StreamEngine::~StreamEngine() {
  // Only reached after close (the socket held a reference until then).
}

void StreamEngine::OnSocketClosing() {
  if (closed_) return;
  closed_ = true;
  conns_.clear();
  if (timer_ != nullptr) {
    uv_timer_stop(timer_);
    uv_close(reinterpret_cast<uv_handle_t*>(timer_), OnHandleClosed);
  }
  if (flush_check_ != nullptr) {
    uv_check_stop(flush_check_);
    uv_close(reinterpret_cast<uv_handle_t*>(flush_check_), OnHandleClosed);
  }
  if (flush_idle_ != nullptr) {
    uv_idle_stop(flush_idle_);
    uv_close(reinterpret_cast<uv_handle_t*>(flush_idle_), OnHandleClosed);
  }
  flush_armed_ = false;
  socket_ = nullptr;
}

void StreamEngine::OnHandleClosed(uv_handle_t* h) {
  auto* self = static_cast<StreamEngine*>(h->data);
  switch (h->type) {
    case UV_TIMER:
      delete reinterpret_cast<uv_timer_t*>(h);
      self->timer_ = nullptr;
      break;
    case UV_CHECK:
      delete reinterpret_cast<uv_check_t*>(h);
      self->flush_check_ = nullptr;
      break;
    default:
      delete reinterpret_cast<uv_idle_t*>(h);
      self->flush_idle_ = nullptr;
      break;
  }
  if (--self->open_handles_ == 0) self->Unref();
}

void StreamEngine::Defer(Connection& c) {
  c.dirty = true;
  dirty_.push_back(c.index);
  if (flush_armed_ || closed_ || flush_check_ == nullptr) return;
  flush_armed_ = true;
  uv_check_start(flush_check_, OnFlushCheck);
  uv_idle_start(flush_idle_, [](uv_idle_t*) {});
}

void StreamEngine::OnFlushCheck(uv_check_t* h) {
  auto* self = static_cast<StreamEngine*>(h->data);
  self->flush_armed_ = false;
  uv_check_stop(self->flush_check_);
  uv_idle_stop(self->flush_idle_);
  if (self->closed_) return;
  self->OnRecvBatchEnd();
  self->Deliver();
}

bool StreamEngine::ThrowIfClosed(Napi::Env env) {
  if (closed_ || socket_ == nullptr) {
    ThrowCode(env, "ERR_HUBLESS_SOCKET_CLOSED", "the socket is closed");
    return true;
  }
  return false;
}

Napi::Value StreamEngine::Close(const Napi::CallbackInfo& info) {
  if (socket_ != nullptr) socket_->AttachStreams(nullptr);
  OnSocketClosing();
  return info.Env().Undefined();
}

// ---- lookup ---------------------------------------------------------------------------------

Connection* StreamEngine::Conn(uint32_t index, bool create) {
  auto it = conns_.find(index);
  if (it != conns_.end()) return it->second.get();
  if (!create) return nullptr;
  auto c = std::make_unique<Connection>();
  c->engine = this;
  c->index = index;
  c->last_rx_us = c->last_tx_us = NowUs();
  Connection* raw = c.get();
  conns_.emplace(index, std::move(c));
  return raw;
}

Stream* StreamEngine::FindStream(Connection& c, uint32_t key) {
  auto it = c.streams.find(key);
  return it == c.streams.end() ? nullptr : it->second.get();
}

Stream* StreamEngine::NewStream(Connection& c, uint32_t key) {
  auto st = std::make_unique<Stream>();
  st->key = key;
  Stream* raw = st.get();
  c.streams.emplace(key, std::move(st));
  c.stats[kCsStreams] = static_cast<double>(c.streams.size());
  // Grow the peer's allowance from the wire's initial window to the configured one.
  if (cfg_.stream_window > kInitialStreamWindow) {
    raw->rx_max = cfg_.stream_window;
    raw->max_pending = true;
    QueueCtrl(c, *raw);
  }
  if (cfg_.session_window > c.rx_max_data) {
    c.rx_max_data = cfg_.session_window;
    c.max_data_pending = true;
  }
  return raw;
}

void StreamEngine::QueueSend(Connection& c, Stream& st) {
  if (st.in_send_q) return;
  st.in_send_q = true;
  c.send_q.push_back(st.key);
  c.dirty = true;
}

void StreamEngine::QueueCtrl(Connection& c, Stream& st) {
  if (st.in_ctrl_q) return;
  st.in_ctrl_q = true;
  c.ctrl_q.push_back(st.key);
  c.dirty = true;
}

void StreamEngine::MaybeWritable(Connection& c, Stream& st) {
  if (st.want_writable && st.send.buffered() <= cfg_.send_high_water / 2) {
    st.want_writable = false;
    PushEvent(kEvWritable, c.index, st.key, 0, 0);
  }
  if (st.send.buffered() == 0) ReleaseSoon(c, st);
}

// A drained ring of kMinRing bytes is freed at once (growing one back costs nothing); a larger
// one kRingKeepUs later, if it is still drained then (see kRingKeepUs).
void StreamEngine::ReleaseSoon(Connection& c, Stream& st) {
  const bool recv_idle = st.recv.readable() == 0, send_idle = st.send.buffered() == 0;
  if (recv_idle && st.recv.capacity() <= kMinRing) st.recv.Release();
  if (send_idle && st.send.capacity() <= kMinRing) st.send.Release();
  const bool keep = (recv_idle && st.recv.capacity() > kMinRing) || (send_idle && st.send.capacity() > kMinRing);
  if (!keep || st.ring_release_us != 0) return;
  st.ring_release_us = NowUs() + kRingKeepUs;
  if (c.ring_release_q.empty()) c.ring_release_at = st.ring_release_us;
  c.ring_release_q.push_back(st.key);
}

void StreamEngine::SweepRings(Connection& c, uint64_t now) {
  c.ring_release_at = UINT64_MAX;
  while (!c.ring_release_q.empty()) {
    Stream* st = FindStream(c, c.ring_release_q.front());
    if (st != nullptr) {
      if (st->ring_release_us > now) {
        c.ring_release_at = st->ring_release_us;
        return;
      }
      st->ring_release_us = 0;
      if (st->recv.readable() == 0) st->recv.Release();
      if (st->send.buffered() == 0) st->send.Release();
    }
    c.ring_release_q.pop_front();
  }
}

void StreamEngine::MaybeFree(Connection& c, Stream& st) {
  const bool send_done = st.reset_local ? st.reset_acked : st.fin_acked;
  const bool recv_done = st.reset_remote || st.stop_local || st.fin_delivered;
  if (!send_done || !recv_done || st.in_deliver_q) return;
  const uint32_t key = st.key;
  if (IsPeerOpened(key) && c.peer_live > 0) c.peer_live--;
  // The session window counts every byte a stream received until the application reads it. A
  // stream that is gone will never report more: what it received and nobody read (the tail of
  // a reply whose reader stopped at its last message, data under a reset) goes back to the
  // session window now, or short streams would leak it until the peer stalls.
  const uint64_t counted = std::max(st.recv.highest(), st.rx_reset_size);
  if (counted > st.rx_consumed) {
    c.rx_consumed_sum += counted - st.rx_consumed;
    UpdateRxCredit(c, nullptr);
  }
  PushEvent(kEvClosed, c.index, key, 0, 0);
  c.streams.erase(key);  // queues hold keys only; stale keys are skipped
  c.stats[kCsStreams] = static_cast<double>(c.streams.size());
}

// ---- receive --------------------------------------------------------------------------------

void StreamEngine::OnPacket(Session* s, uint64_t pn, const uint8_t* p, size_t n) {
  if (closed_) return;
  // A key pair whose logical session has ended (its sending keys are gone) opens no connection.
  if (socket_ == nullptr || socket_->TxSession(s->conn) == nullptr) {
    stats_[kSxDropNoOpen]++;
    return;
  }
  Connection* c = Conn(s->conn, true);
  const uint64_t now = NowUs();
  c->last_rx_us = now;
  stats_[kSxPacketsIn]++;
  bool eliciting = false;
  HandleFrames(*c, p, n, &eliciting);
  c->ack.OnPacket(pn, eliciting, now);
  if (!c->dirty) {
    c->dirty = true;
  }
  dirty_.push_back(c->index);
}

bool StreamEngine::HandleFrames(Connection& c, const uint8_t* p, size_t n, bool* eliciting) {
  size_t off = 0;
  const uint64_t now = NowUs();
  while (off < n) {
    DecodedFrame f;
    size_t used = 0;
    if (!DecodeStreamFrame(p + off, n - off, &f, &used)) {
      const uint8_t t = p[off];
      stats_[t > static_cast<uint8_t>(StreamFrame::kStreamDataBlocked) ? kSxDropUnknownFrame : kSxDropMalformed]++;
      *eliciting = true;  // acknowledge anyway: the packet itself authenticated
      return false;
    }
    off += used;
    if (f.type != StreamFrame::kAck && f.type != StreamFrame::kPadding) *eliciting = true;
    switch (f.type) {
      case StreamFrame::kPadding:
      case StreamFrame::kPing:
        break;
      case StreamFrame::kAck:
        if (!c.rec.OnAck(f.ack, now, &c, &c.cc)) stats_[kSxDropAck]++;
        break;
      case StreamFrame::kStream:
        OnStreamFrame(c, f.stream);
        break;
      case StreamFrame::kMaxData:
        if (f.value > c.peer_max_data) {
          c.peer_max_data = std::min<uint64_t>(f.value, kMaxStreamOffset);
          if (c.conn_blocked) {
            c.conn_blocked = false;
            for (auto& kv : c.streams) {
              if (Sendable(c, *kv.second)) QueueSend(c, *kv.second);
            }
          }
        }
        break;
      case StreamFrame::kMaxStreamData: {
        Stream* st = FindStream(c, f.id ^ 1);
        if (st != nullptr && f.value > st->peer_max) {
          st->peer_max = std::min<uint64_t>(f.value, kMaxStreamOffset);
          st->blocked = false;
          if (Sendable(c, *st)) QueueSend(c, *st);
        }
        break;
      }
      case StreamFrame::kResetStream: {
        Stream* st = FindStream(c, f.id ^ 1);
        if (st == nullptr || st->reset_remote) break;
        if (st->rx_final != UINT64_MAX && f.value != st->rx_final) {
          stats_[kSxDropFinalSize]++;
          break;
        }
        if (f.value > st->recv.highest()) {
          c.rx_highest_sum += f.value - st->recv.highest();
        }
        st->rx_reset_size = f.value;
        st->reset_remote = true;
        st->recv.Release();
        if (!st->fin_delivered) PushEvent(kEvReset, c.index, st->key, f.code, 0);
        MaybeFree(c, *st);
        break;
      }
      case StreamFrame::kStopSending: {
        Stream* st = FindStream(c, f.id ^ 1);
        if (st == nullptr || st->reset_local) break;
        if (!st->fin_acked) {
          st->reset_local = true;
          st->reset_code = f.code;
          st->reset_final = st->send.next;
          st->reset_pending = true;
          QueueCtrl(c, *st);
          PushEvent(kEvStop, c.index, st->key, f.code, 0);
        }
        MaybeFree(c, *st);
        break;
      }
      case StreamFrame::kDataBlocked:
        c.max_data_pending = true;
        c.dirty = true;
        break;
      case StreamFrame::kStreamDataBlocked: {
        Stream* st = FindStream(c, f.id ^ 1);
        if (st != nullptr && !st->reset_remote && st->rx_final == UINT64_MAX) {
          st->max_pending = true;
          QueueCtrl(c, *st);
        }
        break;
      }
    }
  }
  return true;
}

void StreamEngine::OnStreamFrame(Connection& c, const StreamDataFrame& f) {
  const uint32_t key = f.id ^ 1;
  Stream* st = FindStream(c, key);
  if (st == nullptr) {
    if (!IsPeerOpened(key)) {  // one of ours, already finished
      stats_[kSxLateFrames]++;
      return;
    }
    const uint32_t n = f.id >> 1;
    if (n < c.peer_base || (n - c.peer_base < kPeerIdWindow &&
                            (c.peer_bits[(n % kPeerIdWindow) / 64] >> (n % 64) & 1))) {
      stats_[kSxLateFrames]++;
      return;
    }
    if (!(f.flags & kStreamFlagOpen)) {
      stats_[kSxDropNoOpen]++;
      return;
    }
    if (n - c.peer_base >= kPeerIdWindow) {
      stats_[kSxDropStreamLimit]++;
      return;
    }
    if (c.peer_live >= cfg_.max_streams) {
      stats_[kSxDropStreamLimit]++;
      stats_[kSxRefused]++;
      // The id as we send it: the stream was opened by our packets' receiver (d = 1).
      if (c.refusals.size() < kMaxRefusals) c.refusals.push_back(key);
      c.dirty = true;
      return;
    }
    c.peer_bits[(n % kPeerIdWindow) / 64] |= 1ull << (n % 64);
    while (c.peer_bits[(c.peer_base % kPeerIdWindow) / 64] >> (c.peer_base % 64) & 1) {
      c.peer_bits[(c.peer_base % kPeerIdWindow) / 64] &= ~(1ull << (c.peer_base % 64));
      c.peer_base++;
    }
    c.peer_live++;
    st = NewStream(c, key);
    st->dst = f.dst_port;
    st->src = f.src_port;
    st->open_acked = true;  // we never announce a stream the peer opened
    stats_[kSxStreamsAccepted]++;
    PushEvent(kEvOpened, c.index, key, static_cast<uint32_t>(f.dst_port) << 16 | f.src_port, 0);
  }
  if (st->reset_remote || st->stop_local) return;
  const uint64_t end = f.offset + f.length;
  if (end > st->rx_max) {
    stats_[kSxDropFlowControl]++;
    return;
  }
  const uint64_t grow = end > st->recv.highest() ? end - st->recv.highest() : 0;
  if (c.rx_highest_sum + grow > c.rx_max_data) {
    stats_[kSxDropFlowControl]++;
    return;
  }
  if (f.flags & kStreamFlagFin) {
    if ((st->rx_final != UINT64_MAX && st->rx_final != end) || end < st->recv.highest()) {
      stats_[kSxDropFinalSize]++;
      return;
    }
    st->rx_final = end;
  } else if (st->rx_final != UINT64_MAX && end > st->rx_final) {
    stats_[kSxDropFinalSize]++;
    return;
  }
  if (f.length > 0) {
    if (!st->recv.Insert(f.offset, f.data, f.length, st->rx_max - st->recv.delivered())) {
      stats_[kSxDropReassembly]++;
      return;
    }
    c.rx_highest_sum += grow;
    c.stats[kCsBytesReceived] += f.length;
  }
  if (!st->in_deliver_q && (st->recv.readable() > 0 ||
                            (st->rx_final != UINT64_MAX && st->recv.delivered() == st->rx_final && !st->fin_delivered))) {
    st->in_deliver_q = true;
    c.deliver_q.push_back(st->key);
  }
}

// ---- delivery to JS -------------------------------------------------------------------------

bool StreamEngine::PushEvent(uint32_t type, uint32_t session, uint32_t key, uint32_t a, uint32_t b) {
  if (event_count_ == kMaxEvents) {
    Emit();
    if (event_count_ == kMaxEvents) return false;  // inside a re-entrant emit; JS is behind
  }
  uint32_t* r = events_ + event_count_ * kEventWords;
  r[0] = type;
  r[1] = session;
  r[2] = key;
  r[3] = a;
  r[4] = b;
  r[5] = 0;
  event_count_++;
  return true;
}

void StreamEngine::Emit() {
  if (socket_ != nullptr) {
    stats_[kSxFaultDropped] = static_cast<double>(socket_->faults().dropped);
    stats_[kSxFaultDuplicated] = static_cast<double>(socket_->faults().duplicated);
    stats_[kSxFaultReordered] = static_cast<double>(socket_->faults().reordered);
  }
  if (event_count_ == 0 || in_emit_ || closed_) return;
  Napi::Env env = Env();
  Napi::HandleScope scope(env);
  const uint32_t n = event_count_;
  in_emit_ = true;
  on_events_.MakeCallback(Value(), {Napi::Number::New(env, n)}, *async_);
  in_emit_ = false;
  event_count_ = 0;
  slab_used_ = 0;
  if (env.IsExceptionPending()) {
    Napi::Error e = env.GetAndClearPendingException();
    napi_fatal_exception(env, e.Value());
  }
}

void StreamEngine::Deliver() {
  if (in_emit_ || closed_) return;
  for (bool again = true; again && !closed_;) {
    again = false;
    std::vector<uint32_t> conns;
    for (auto& kv : conns_) {
      if (!kv.second->deliver_q.empty()) conns.push_back(kv.first);
    }
    for (uint32_t idx : conns) {
      Connection* c = Conn(idx, false);
      while (c != nullptr && !c->deliver_q.empty()) {
        const uint32_t key = c->deliver_q.front();
        Stream* st = FindStream(*c, key);
        if (st == nullptr) {
          c->deliver_q.pop_front();
          continue;
        }
        size_t ready = st->recv.readable();
        while (ready > 0) {
          const size_t room = slab_cap_ - slab_used_;
          if (room < 1024 || event_count_ + 2 >= kMaxEvents) {
            Emit();  // JS may close streams or sessions: look everything up again
            again = true;
            break;
          }
          const size_t k = std::min({ready, room, kMaxDataRecord});
          st->recv.Take(slab_ + slab_used_, k);
          PushEvent(kEvData, c->index, key, static_cast<uint32_t>(slab_used_), static_cast<uint32_t>(k));
          slab_used_ += k;
          ready -= k;
        }
        if (again) break;
        c->deliver_q.pop_front();
        st->in_deliver_q = false;
        if (st->rx_final != UINT64_MAX && st->recv.delivered() == st->rx_final && !st->fin_delivered) {
          st->fin_delivered = true;
          PushEvent(kEvFin, c->index, key, 0, 0);
        }
        if (st->recv.readable() == 0) ReleaseSoon(*c, *st);
        MaybeFree(*c, *st);
      }
      if (again) break;
      if (c != nullptr && c->ring_release_at < c->armed) Schedule(*c);
    }
  }
  Emit();
}

void StreamEngine::UpdateRxCredit(Connection& c, Stream* st) {
  if (st != nullptr && !st->reset_remote && st->rx_final == UINT64_MAX) {
    const uint64_t want = st->rx_consumed + cfg_.stream_window;
    if (want > st->rx_max && want - st->rx_max >= cfg_.stream_window / 4) {
      st->rx_max = want;
      st->max_pending = true;
      QueueCtrl(c, *st);
    }
  }
  const uint64_t want = c.rx_consumed_sum + cfg_.session_window;
  if (want > c.rx_max_data && want - c.rx_max_data >= cfg_.session_window / 4) {
    c.rx_max_data = want;
    c.max_data_pending = true;
    c.dirty = true;
  }
}

// ---- send -----------------------------------------------------------------------------------

bool StreamEngine::Sendable(Connection& c, Stream& st) {
  if (st.reset_local) return false;
  if (!st.send.retransmit().empty() || st.fin_pending || st.open_pending) return true;
  return st.send.next < st.send.end() && st.send.next < st.peer_max && c.data_sent < c.peer_max_data;
}

size_t StreamEngine::BuildCtrl(Connection& c, uint8_t* p, size_t room, SentPacket& rec) {
  size_t used = 0;
  if (c.max_data_pending && room - used >= 9) {
    used += EncodeMaxData(p + used, c.rx_max_data);
    c.max_data_pending = false;
    rec.max_data = true;
  }
  if (c.data_blocked_pending && room - used >= 9) {
    used += EncodeDataBlocked(p + used, c.peer_max_data);
    c.data_blocked_pending = false;
    rec.data_blocked = true;
  }
  while (!c.refusals.empty() && rec.n < kMaxChunks && room - used >= 26) {
    const uint32_t id = c.refusals.back();
    c.refusals.pop_back();
    used += EncodeResetStream(p + used, id, kRefusedCode, 0);
    used += EncodeStopSending(p + used, id, kRefusedCode);
    rec.c[rec.n++] = SentChunk{id, ChunkKind::kRefused, false, false, 0, 0};
  }
  while (!c.ctrl_q.empty() && static_cast<size_t>(rec.n) + 4 <= kMaxChunks && room - used >= 17 + 9 + 13 + 13) {
    const uint32_t key = c.ctrl_q.front();
    c.ctrl_q.pop_front();
    Stream* st = FindStream(c, key);
    if (st == nullptr) continue;
    st->in_ctrl_q = false;
    if (st->reset_pending) {
      used += EncodeResetStream(p + used, key, st->reset_code, st->reset_final);
      rec.c[rec.n++] = SentChunk{key, ChunkKind::kReset, false, false, 0, 0};
      st->reset_pending = false;
    }
    if (st->stop_pending) {
      used += EncodeStopSending(p + used, key, st->stop_code);
      rec.c[rec.n++] = SentChunk{key, ChunkKind::kStopSending, false, false, 0, 0};
      st->stop_pending = false;
    }
    if (st->max_pending) {
      used += EncodeMaxStreamData(p + used, key, st->rx_max);
      rec.c[rec.n++] = SentChunk{key, ChunkKind::kMaxStreamData, false, false, 0, 0};
      st->max_pending = false;
    }
    if (st->blocked_pending) {
      used += EncodeStreamDataBlocked(p + used, key, st->peer_max);
      rec.c[rec.n++] = SentChunk{key, ChunkKind::kStreamBlocked, false, false, 0, 0};
      st->blocked_pending = false;
    }
  }
  return used;
}

size_t StreamEngine::BuildData(Connection& c, uint8_t* p, size_t room, SentPacket& rec) {
  size_t used = 0;
  size_t visits = c.send_q.size();
  while (!c.send_q.empty() && visits-- > 0 && rec.n < kMaxChunks &&
         room - used >= kStreamFrameHeader + kStreamFrameOpenExtra + 1) {
    const uint32_t key = c.send_q.front();
    c.send_q.pop_front();
    Stream* st = FindStream(c, key);
    if (st == nullptr) continue;
    st->in_send_q = false;
    if (!Sendable(c, *st)) {
      if (!st->reset_local && st->send.next < st->send.end()) {
        // Flow control holds it: tell the peer, which answers with a fresh window.
        if (st->send.next >= st->peer_max && !st->blocked) {
          st->blocked = true;
          st->blocked_pending = true;
          QueueCtrl(c, *st);
        } else if (c.data_sent >= c.peer_max_data && !c.conn_blocked) {
          c.conn_blocked = true;
          c.data_blocked_pending = true;
        }
      }
      continue;
    }
    const bool open = !st->open_acked;
    const size_t hdr = kStreamFrameHeader + (open ? kStreamFrameOpenExtra : 0);
    const size_t max_len = std::min<size_t>(room - used - hdr, 0xFFFF);
    uint64_t off;
    size_t len;
    bool is_new = false;
    auto& rt = st->send.retransmit();
    if (!rt.empty()) {
      off = rt.front().start;
      len = static_cast<size_t>(std::min<uint64_t>(rt.front().end - off, max_len));
      rt.Remove(off, off + len);
    } else {
      off = st->send.next;
      uint64_t lim = std::min<uint64_t>(st->send.end(), st->peer_max);
      lim = std::min<uint64_t>(lim, st->send.next + (c.peer_max_data - std::min(c.data_sent, c.peer_max_data)));
      len = static_cast<size_t>(std::min<uint64_t>(lim > off ? lim - off : 0, max_len));
      is_new = true;
    }
    bool fin = st->fin_offset != UINT64_MAX && off + len == st->fin_offset;
    if (is_new && len == 0 && !fin && !st->open_pending) {
      QueueSend(c, *st);
      continue;
    }
    uint8_t flags = (fin ? kStreamFlagFin : 0) | (open ? kStreamFlagOpen : 0);
    used += EncodeStreamHeader(p + used, flags, key, off, static_cast<uint16_t>(len), st->dst, st->src);
    st->send.Read(off, p + used, len);
    used += len;
    if (is_new) {
      st->send.next += len;
      c.data_sent += len;
      c.stats[kCsBytesSent] += len;
    }
    if (fin) st->fin_pending = false;
    if (open) st->open_pending = false;
    rec.c[rec.n++] = SentChunk{key, ChunkKind::kStream, fin, open, static_cast<uint16_t>(len), off};
    if (Sendable(c, *st)) QueueSend(c, *st);
    else if (st->send.next < st->send.end()) {
      c.send_q.push_back(key);  // revisit: it will ask for a window
      st->in_send_q = true;
    }
  }
  return used;
}

void StreamEngine::Pump(Connection& c, uint64_t now_us, int probes) {
  if (closed_ || socket_ == nullptr) return;
  Session* s = socket_->TxSession(c.index);
  if (s == nullptr || !s->installed) return;
  c.pace_wait = false;
  bool sent_any = false;
  bool ack_repeated = false;
  for (int guard = 0; guard < 4096; guard++) {
    if (socket_->Backlogged()) break;
    const bool ack_due = c.ack.pending() && (c.ack.urgent() || now_us >= c.ack.deadline());
    const bool has_ctrl = !c.ctrl_q.empty() || c.max_data_pending || c.data_blocked_pending || !c.refusals.empty();
    const bool has_data = !c.send_q.empty();
    bool elicit = has_ctrl || has_data || c.ping_pending || probes > 0;
    if (!elicit && !ack_due) break;
    if (elicit && probes == 0) {
      const bool cc_ok = c.rec.bytes_in_flight + kMaxPacketBytes <= c.cc.cwnd() || (has_ctrl && !has_data);
      bool pace_ok = cc_ok && c.pacer.CanSend(uv_hrtime(), c.cc.cwnd(), c.rec.rtt.srtt_or(1000), c.cc.in_slow_start());
      if (!cc_ok) c.cwnd_limited = true;
      if (cc_ok && !pace_ok) c.pace_wait = true;
      if (!cc_ok || !pace_ok) {
        if (!ack_due) break;
        elicit = false;
      }
    }
    uint8_t* p = socket_->StreamPacketBegin(s);
    size_t used = 0;
    // Packet numbers are per connection and keep rising across key pairs (after a rekey the
    // new pair's counter starts above every number sent before): ACKs and loss detection never
    // see a number twice. The AEAD counter is the packet number.
    if (s->tx_counter < c.next_pn) s->tx_counter = c.next_pn;
    SentPacket& rec = c.rec.Begin(s->tx_counter, now_us);
    if (c.ack.pending()) {
      used += c.ack.Write(p, kStreamPacketPlain / 2, now_us);
      stats_[kSxAcksOut]++;
      c.stats[kCsAcksSent]++;
      if (!ack_repeated && c.ack.lossy(now_us)) {
        ack_repeated = true;
        c.ack.Repeat();
      }
    }
    const size_t ack_bytes = used;
    if (elicit) {
      used += BuildCtrl(c, p + used, kStreamPacketPlain - used, rec);
      used += BuildData(c, p + used, kStreamPacketPlain - used, rec);
      if ((c.ping_pending || probes > 0) && used == ack_bytes) used += EncodePing(p + used);
      c.ping_pending = false;
    }
    // Anything beyond an ACK frame asks for an acknowledgement and counts as in flight.
    rec.eliciting = used > ack_bytes;
    rec.bytes = static_cast<uint16_t>(used + kHeaderSize + kTagSize);
    if (used == 0) {
      c.rec.Commit();
      break;
    }
    socket_->StreamPacketCommit(s, used);
    c.next_pn = s->tx_counter;
    c.rec.Commit();
    stats_[kSxPacketsOut]++;
    c.stats[kCsPacketsSent]++;
    c.last_tx_us = now_us;
    if (elicit) c.pacer.OnSend(used + kHeaderSize + kTagSize);
    if (probes > 0) probes--;
    sent_any = true;
  }
  if (sent_any) socket_->StreamFlush(s);
  Schedule(c);
}

// StreamEngine.ringBytes() -> bytes held by every stream send and receive ring in the process.
Napi::Value StreamEngine::RingBytesInProcess(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(g_ring_bytes.load(std::memory_order_relaxed)));
}

// ---- timers ---------------------------------------------------------------------------------

void StreamEngine::Schedule(Connection& c) {
  uint64_t d = c.ack.deadline();
  d = std::min(d, c.rec.Deadline());
  if (c.pace_wait) d = std::min(d, c.pacer.NextSendNs() / 1000);
  if (!c.streams.empty()) {
    d = std::min(d, c.last_rx_us + cfg_.idle_timeout_us);
    d = std::min(d, c.last_tx_us + cfg_.keepalive_us);
    bool blocked = c.conn_blocked;
    if (!blocked) {
      for (auto& kv : c.streams) {
        if (kv.second->blocked) {
          blocked = true;
          break;
        }
      }
    }
    if (blocked && c.rec.eliciting_in_flight == 0) d = std::min(d, c.last_tx_us + c.rec.PtoInterval());
  }
  d = std::min(d, c.ring_release_at);
  if (socket_ != nullptr) d = std::min(d, socket_->FaultsNextRelease());
  if (d < c.armed) {
    c.armed = d;
    heap_.emplace(d, c.index);
  }
  ArmTimer();
}

void StreamEngine::ArmTimer() {
  if (timer_ == nullptr || closed_) return;
  while (!heap_.empty()) {
    Connection* c = Conn(heap_.top().second, false);
    if (c != nullptr && c->armed == heap_.top().first) break;
    heap_.pop();
  }
  if (heap_.empty()) {
    if (timer_at_ != UINT64_MAX) uv_timer_stop(timer_);
    timer_at_ = UINT64_MAX;
    return;
  }
  const uint64_t at = heap_.top().first;
  if (at == timer_at_) return;
  timer_at_ = at;
  const uint64_t now = NowUs();
  const uint64_t ms = at <= now ? 0 : (at - now + 999) / 1000;
  uv_timer_start(timer_, OnUvTimer, ms, 0);
}

void StreamEngine::OnUvTimer(uv_timer_t* t) {
  auto* self = static_cast<StreamEngine*>(t->data);
  self->timer_at_ = UINT64_MAX;
  if (self->closed_) return;
  const uint64_t now = NowUs();
  if (self->socket_ != nullptr) self->socket_->FaultsRelease(now);
  std::vector<uint32_t> due;
  while (!self->heap_.empty() && self->heap_.top().first <= now + 200) {
    const Deadline d = self->heap_.top();
    self->heap_.pop();
    Connection* c = self->Conn(d.second, false);
    if (c == nullptr || c->armed != d.first) continue;
    c->armed = UINT64_MAX;
    due.push_back(d.second);
  }
  for (uint32_t idx : due) {
    Connection* c = self->Conn(idx, false);
    if (c != nullptr) self->OnTimer(*c, now);
  }
  self->Deliver();
  self->ArmTimer();
}

void StreamEngine::TimeoutConnection(Connection& c) {
  stats_[kSxTimeouts]++;
  std::vector<uint32_t> keys;
  for (auto& kv : c.streams) keys.push_back(kv.first);
  for (uint32_t k : keys) PushEvent(kEvTimeout, c.index, k, 0, 0);
  c.streams.clear();
  c.send_q.clear();
  c.ctrl_q.clear();
  c.deliver_q.clear();
  c.rec.Clear();
  c.peer_live = 0;
  c.stats[kCsStreams] = 0;
}

void StreamEngine::OnTimer(Connection& c, uint64_t now) {
  if (now >= c.ring_release_at) SweepRings(c, now);
  if (!c.streams.empty() && now >= c.last_rx_us + cfg_.idle_timeout_us) {
    TimeoutConnection(c);
    Schedule(c);
    return;
  }
  int probes = 0;
  if (c.rec.Deadline() <= now) {
    if (c.rec.PtoDue(now)) {
      c.rec.OnPtoFired();
      c.stats[kCsPtoCount]++;
      probes = 2;
      // Probe with the oldest unacknowledged data when there is no new data to send.
      bool has_new = false;
      for (uint32_t key : c.send_q) {
        Stream* st = FindStream(c, key);
        if (st != nullptr && Sendable(c, *st)) has_new = true;
      }
      if (!has_new) {
        // Stream bytes and control frames alike: a probe that only said PING would leave a
        // lost window update unsent until loss detection got around to it.
        const SentPacket* old = c.rec.OldestInFlight();
        if (old != nullptr) c.Requeue(*old, false);
        c.ping_pending = true;
      }
    } else {
      c.rec.DetectLosses(now, &c, &c.cc);
    }
  }
  // Zero-window probing: a blocked sender with nothing in flight asks again for a window.
  if (c.rec.eliciting_in_flight == 0 && now >= c.last_tx_us + c.rec.PtoInterval()) {
    for (auto& kv : c.streams) {
      Stream& st = *kv.second;
      if (st.blocked) {
        st.blocked_pending = true;
        QueueCtrl(c, st);
      }
    }
    if (c.conn_blocked) c.data_blocked_pending = true;
  }
  if (!c.streams.empty() && now >= c.last_tx_us + cfg_.keepalive_us) c.ping_pending = true;
  Pump(c, now, probes);
}

// ---- socket hooks ---------------------------------------------------------------------------

void StreamEngine::OnRecvBatchEnd() {
  if (closed_) return;
  const uint64_t now = NowUs();
  std::vector<uint32_t> list;
  list.swap(dirty_);
  std::sort(list.begin(), list.end());
  list.erase(std::unique(list.begin(), list.end()), list.end());
  for (uint32_t idx : list) {
    Connection* c = Conn(idx, false);
    if (c == nullptr) continue;
    c->dirty = false;
    Pump(*c, now, 0);
  }
}

void StreamEngine::OnReadableDone() {
  OnRecvBatchEnd();
  Deliver();
}

void StreamEngine::OnSendUnblocked() {
  if (closed_) return;
  const uint64_t now = NowUs();
  std::vector<uint32_t> all;
  for (auto& kv : conns_) all.push_back(kv.first);
  for (uint32_t idx : all) {
    Connection* c = Conn(idx, false);
    if (c != nullptr) Pump(*c, now, 0);
  }
}

void StreamEngine::OnSessionRemoved(uint32_t index) {
  auto it = conns_.find(index);
  if (it == conns_.end()) return;
  for (auto& kv : it->second->streams) PushEvent(kEvTimeout, index, kv.first, 1, 0);
  conns_.erase(it);
}

// ---- JS API ---------------------------------------------------------------------------------

static bool U32(const Napi::Value& v, uint32_t* out) {
  if (!v.IsNumber()) return false;
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 0) || d > 4294967295.0) return false;
  *out = static_cast<uint32_t>(d);
  return true;
}

// open(session, dstPort, srcPort) -> stream key
Napi::Value StreamEngine::Open(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (ThrowIfClosed(env)) return env.Undefined();
  uint32_t index, dst, src;
  if (!U32(info[0], &index) || !U32(info[1], &dst) || !U32(info[2], &src) || dst > 65535 || src > 65535) {
    ThrowCode(env, "ERR_HUBLESS_INVALID_ARGUMENT", "open(session, dstPort, srcPort): ports in 0..65535");
    return env.Undefined();
  }
  Session* s = socket_->TxSession(index);
  if (s == nullptr || !s->installed) {
    ThrowCode(env, "ERR_HUBLESS_NO_SESSION", "no installed session has this index");
    return env.Undefined();
  }
  Connection* c = Conn(index, true);
  if (c->next_local >= 0x7FFFFFFF || c->streams.size() >= 4 * static_cast<size_t>(cfg_.max_streams)) {
    ThrowCode(env, "ERR_HUBLESS_STREAM_LIMIT", "too many streams on this session");
    return env.Undefined();
  }
  const uint32_t key = c->next_local++ << 1;
  Stream* st = NewStream(*c, key);
  st->dst = static_cast<uint16_t>(dst);
  st->src = static_cast<uint16_t>(src);
  st->open_pending = true;
  stats_[kSxStreamsOpened]++;
  QueueSend(*c, *st);
  Defer(*c);
  return Napi::Number::New(env, key);
}

// write(session, key, bytes, fin) -> true while the send buffer is under its high-water mark;
// false: wait for a 'writable' event.
Napi::Value StreamEngine::Write(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (ThrowIfClosed(env)) return env.Undefined();
  uint32_t index, key;
  if (!U32(info[0], &index) || !U32(info[1], &key) || !info[2].IsTypedArray()) {
    ThrowCode(env, "ERR_HUBLESS_INVALID_ARGUMENT", "write(session, key, bytes, fin)");
    return env.Undefined();
  }
  Connection* c = Conn(index, false);
  Stream* st = c != nullptr ? FindStream(*c, key) : nullptr;
  if (st == nullptr) {
    ThrowCode(env, "ERR_HUBLESS_STREAM_CLOSED", "the stream is closed");
    return env.Undefined();
  }
  if (st->reset_local) {
    ThrowCode(env, "ERR_HUBLESS_STREAM_RESET", "the stream was reset");
    return env.Undefined();
  }
  if (st->fin_offset != UINT64_MAX) {
    ThrowCode(env, "ERR_HUBLESS_STREAM_ENDED", "write after end");
    return env.Undefined();
  }
  auto b = info[2].As<Napi::Uint8Array>();
  const size_t limit = cfg_.send_high_water + (16u << 20);
  if (!st->send.Write(b.Data(), b.ByteLength(), limit)) {
    ThrowCode(env, "ERR_HUBLESS_STREAM_BUFFER_FULL", "the stream's send buffer is full; wait for 'drain'");
    return env.Undefined();
  }
  if (info[3].ToBoolean().Value()) {
    st->fin_offset = st->send.end();
    st->fin_pending = true;
  }
  QueueSend(*c, *st);
  Defer(*c);
  const bool ok = st->send.buffered() < cfg_.send_high_water;
  if (!ok) st->want_writable = true;
  return Napi::Boolean::New(env, ok);
}

// consumed(session, key, bytes): JS handed `bytes` to the application; the window reopens.
Napi::Value StreamEngine::Consumed(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (ThrowIfClosed(env)) return env.Undefined();
  uint32_t index, key, n;
  if (!U32(info[0], &index) || !U32(info[1], &key) || !U32(info[2], &n)) {
    ThrowCode(env, "ERR_HUBLESS_INVALID_ARGUMENT", "consumed(session, key, bytes)");
    return env.Undefined();
  }
  Connection* c = Conn(index, false);
  Stream* st = c != nullptr ? FindStream(*c, key) : nullptr;
  // A freed stream's bytes were credited back when it was freed (MaybeFree).
  if (st == nullptr) return env.Undefined();
  const uint64_t before = st->rx_consumed;
  st->rx_consumed = std::min<uint64_t>(st->rx_consumed + n, st->recv.delivered());
  c->rx_consumed_sum += st->rx_consumed - before;
  UpdateRxCredit(*c, st);
  if (c->dirty) Defer(*c);
  return env.Undefined();
}

// reset(session, key, code): aborts both directions (RESET_STREAM + STOP_SENDING).
Napi::Value StreamEngine::Reset(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (ThrowIfClosed(env)) return env.Undefined();
  uint32_t index, key, code;
  if (!U32(info[0], &index) || !U32(info[1], &key) || !U32(info[2], &code)) {
    ThrowCode(env, "ERR_HUBLESS_INVALID_ARGUMENT", "reset(session, key, code)");
    return env.Undefined();
  }
  Connection* c = Conn(index, false);
  Stream* st = c != nullptr ? FindStream(*c, key) : nullptr;
  if (st == nullptr) return Napi::Boolean::New(env, false);
  if (!st->reset_local && !st->fin_acked) {
    st->reset_local = true;
    st->reset_code = code;
    st->reset_final = st->send.next;
    st->reset_pending = true;
    st->send.retransmit().Clear();
  } else if (!st->reset_local) {
    st->reset_local = true;
    st->reset_acked = true;  // everything was delivered already
  }
  if (!st->reset_remote && !st->fin_delivered) {
    st->stop_local = true;
    st->stop_code = code;
    st->stop_pending = true;
    st->recv.Release();
  }
  QueueCtrl(*c, *st);
  Pump(*c, NowUs(), 0);
  if (Stream* again = FindStream(*c, key)) MaybeFree(*c, *again);
  if (!in_emit_) Emit();
  return Napi::Boolean::New(env, true);
}

// sessionStats(session, out: Float64Array) -> false when the session has no stream state.
Napi::Value StreamEngine::ConnStats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t index;
  if (!U32(info[0], &index) || !info[1].IsTypedArray() ||
      info[1].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array ||
      info[1].As<Napi::TypedArray>().ElementLength() < kCsCount) {
    ThrowCode(env, "ERR_HUBLESS_INVALID_ARGUMENT", "sessionStats(session, Float64Array)");
    return env.Undefined();
  }
  Connection* c = Conn(index, false);
  if (c == nullptr) return Napi::Boolean::New(env, false);
  auto out = info[1].As<Napi::TypedArray>();
  double* d = reinterpret_cast<double*>(static_cast<uint8_t*>(out.ArrayBuffer().Data()) + out.ByteOffset());
  c->stats[kCsSrttUs] = static_cast<double>(c->rec.rtt.smoothed);
  c->stats[kCsRttVarUs] = static_cast<double>(c->rec.rtt.var);
  c->stats[kCsMinRttUs] = c->rec.rtt.has_sample ? static_cast<double>(c->rec.rtt.min) : 0;
  c->stats[kCsCwnd] = static_cast<double>(c->cc.cwnd());
  c->stats[kCsSsthresh] = c->cc.ssthresh() == UINT64_MAX ? -1 : static_cast<double>(c->cc.ssthresh());
  c->stats[kCsBytesInFlight] = static_cast<double>(c->rec.bytes_in_flight);
  c->stats[kCsPacingRate] = c->pacer.rate();
  c->stats[kCsPacketsLost] = static_cast<double>(c->rec.packets_lost);
  c->stats[kCsCongestionEvents] = static_cast<double>(c->cc.congestion_events);
  c->stats[kCsSpuriousLosses] = static_cast<double>(c->rec.packets_spurious);
  c->stats[kCsCongestionUndone] = static_cast<double>(c->cc.congestion_undone);
  c->stats[kCsPacketThreshold] = static_cast<double>(c->rec.packet_threshold());
  c->stats[kCsReorderUs] = static_cast<double>(c->rec.reorder_us());
  c->stats[kCsRandomLosses] = static_cast<double>(c->rec.random_losses);
  c->stats[kCsPersistentCongestion] = static_cast<double>(c->rec.persistent_congestion);
  for (uint32_t i = 0; i < kCsCount; i++) d[i] = c->stats[i];
  return Napi::Boolean::New(env, true);
}

// configure({ streamWindow, sessionWindow, sendHighWater, maxStreams, idleTimeoutMs, keepaliveMs })
Napi::Value StreamEngine::Configure(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsObject()) {
    ThrowCode(env, "ERR_HUBLESS_INVALID_ARGUMENT", "configure(options)");
    return env.Undefined();
  }
  Napi::Object o = info[0].As<Napi::Object>();
  auto num = [&](const char* name, double lo, double hi, double* out) -> bool {
    Napi::Value v = o.Get(name);
    if (v.IsUndefined()) return true;
    const double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : -1;
    if (!(d >= lo && d <= hi)) {
      ThrowCode(env, "ERR_HUBLESS_INVALID_ARGUMENT",
                std::string(name) + " must be a number in " + std::to_string(lo) + ".." + std::to_string(hi));
      return false;
    }
    *out = d;
    return true;
  };
  double sw = static_cast<double>(cfg_.stream_window), cw = static_cast<double>(cfg_.session_window);
  double hw = static_cast<double>(cfg_.send_high_water), ms = cfg_.max_streams;
  double idle = static_cast<double>(cfg_.idle_timeout_us) / 1000, ka = static_cast<double>(cfg_.keepalive_us) / 1000;
  if (!num("streamWindow", kInitialStreamWindow, 1 << 30, &sw) || !num("sessionWindow", kInitialSessionWindow, 4.0 * (1 << 30), &cw) ||
      !num("sendHighWater", 16384, 1 << 30, &hw) || !num("maxStreams", 1, 1 << 20, &ms) ||
      !num("idleTimeoutMs", 10, 86400000, &idle) || !num("keepaliveMs", 5, 86400000, &ka)) {
    return env.Undefined();
  }
  cfg_.stream_window = static_cast<uint64_t>(sw);
  cfg_.session_window = static_cast<uint64_t>(cw);
  cfg_.send_high_water = static_cast<size_t>(hw);
  cfg_.max_streams = static_cast<uint32_t>(ms);
  cfg_.idle_timeout_us = static_cast<uint64_t>(idle * 1000);
  cfg_.keepalive_us = static_cast<uint64_t>(ka * 1000);
  return env.Undefined();
}

// setFaults({ loss, reorder, duplicate, delayMs, seed }): TEST-ONLY, see stream_faults.h.
Napi::Value StreamEngine::SetFaults(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (ThrowIfClosed(env)) return env.Undefined();
  FaultConfig f;
  if (info[0].IsObject()) {
    Napi::Object o = info[0].As<Napi::Object>();
    auto get = [&](const char* k, double dflt) {
      Napi::Value v = o.Get(k);
      return v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : dflt;
    };
    f.loss = std::clamp(get("loss", 0), 0.0, 1.0);
    f.reorder = std::clamp(get("reorder", 0), 0.0, 1.0);
    f.duplicate = std::clamp(get("duplicate", 0), 0.0, 1.0);
    f.delay_us = static_cast<uint64_t>(std::clamp(get("delayMs", 0), 0.0, 10000.0) * 1000);
    f.seed = static_cast<uint64_t>(get("seed", 1));
  }
  socket_->faults().Configure(f);
  return env.Undefined();
}

// injectPlaintext(session, plaintext): TEST-ONLY. Seals `plaintext` as a stream packet on the
// session exactly as the engine would, bypassing the frame builder, so tests can send hostile
// but authentic frames.
Napi::Value StreamEngine::InjectPlaintext(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (ThrowIfClosed(env)) return env.Undefined();
  uint32_t index;
  if (!U32(info[0], &index) || !info[1].IsTypedArray()) {
    ThrowCode(env, "ERR_HUBLESS_INVALID_ARGUMENT", "injectPlaintext(session, bytes)");
    return env.Undefined();
  }
  auto b = info[1].As<Napi::Uint8Array>();
  Session* s = socket_->FindSession(index);
  if (s == nullptr || !s->installed || b.ByteLength() > kStreamPacketPlain) {
    ThrowCode(env, "ERR_HUBLESS_INVALID_ARGUMENT", "no such session or plaintext too long");
    return env.Undefined();
  }
  uint8_t* p = socket_->StreamPacketBegin(s);
  memcpy(p, b.Data(), b.ByteLength());
  socket_->StreamPacketCommit(s, b.ByteLength());
  socket_->StreamFlush(s);
  return env.Undefined();
}

}  // namespace hubless
