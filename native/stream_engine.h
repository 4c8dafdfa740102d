// StreamEngine: reliable, ordered, flow- and congestion-controlled byte streams over the sealed
// sessions of one UdpSocket. One JS object per socket ("new StreamEngine(socket, options)").
//
// Per session it keeps a Connection: the streams, packet-number ACK tracking, loss recovery,
// CUBIC and the pacer, and session-wide flow control. Stream packets are type 0x11, sealed with
// the session's keys; the AEAD counter is the packet number (docs/PROTOCOL.md, "Streams").
//
// Boundary: JS writes with one call per chunk (copied into the stream's send buffer) and reports
// consumption with one call per read; the engine delivers events (data up to 64 KiB per record,
// opened, fin, reset, stop, writable, timeout, closed) through ONE callback per batch, into a slab
// and an event array JS owns. One libuv timer per socket (a min-heap of session deadlines) drives
// delayed ACKs, loss and probe timeouts, pacing, keepalive and idle timeout.
#pragma once
#include <napi.h>
#include <uv.h>

#include <memory>
#include <queue>
#include <unordered_map>
#include <vector>

#include "session.h"
#include "stream_ack.h"
#include "stream_cc.h"
#include "stream_recovery.h"
#include "stream_recv.h"
#include "stream_send.h"

namespace hubless {

class UdpSocket;

// Event records (Uint32Array, kEventWords each): type, session, stream key, a, b, c.
enum StreamEventType : uint32_t {
  kEvData = 1,      // a = slab offset, b = length
  kEvOpened = 2,    // a = dst port << 16 | src port (as the opener sent them)
  kEvFin = 3,
  kEvReset = 4,     // a = error code: the peer reset its sending side
  kEvStop = 5,      // a = error code: the peer asked us to stop sending (our side is reset)
  kEvWritable = 6,  // the send buffer fell below half the high-water mark
  kEvTimeout = 7,   // the peer went silent past the idle timeout; the stream is gone
  kEvClosed = 8,    // both directions finished; native state freed
};
constexpr uint32_t kEventWords = 6;
constexpr uint32_t kMaxEvents = 4096;
constexpr size_t kMaxDataRecord = 65536;

// Engine-wide counters (Float64Array shared with JS), names in kStreamStatNames.
enum StreamStat : uint32_t {
  kSxPacketsIn, kSxPacketsOut, kSxAcksOut, kSxStreamsOpened, kSxStreamsAccepted,
  kSxDropMalformed, kSxDropUnknownFrame, kSxDropAck, kSxDropFlowControl, kSxDropStreamLimit,
  kSxDropNoOpen, kSxDropFinalSize, kSxDropReassembly, kSxLateFrames, kSxRefused, kSxTimeouts,
  kSxFaultDropped, kSxFaultDuplicated, kSxFaultReordered, kSxCount
};
extern const char* const kStreamStatNames[kSxCount];

// Per-session snapshot (streamStats(index, out)), names in kConnStatNames.
enum ConnStat : uint32_t {
  kCsSrttUs, kCsRttVarUs, kCsMinRttUs, kCsCwnd, kCsSsthresh, kCsBytesInFlight, kCsPacingRate,
  kCsPacketsSent, kCsPacketsLost, kCsRetransmittedBytes, kCsBytesSent, kCsBytesReceived,
  kCsPtoCount, kCsCongestionEvents, kCsStreams, kCsAcksSent, kCsSpuriousLosses, kCsCongestionUndone,
  kCsPacketThreshold, kCsReorderUs, kCsRandomLosses, kCsPersistentCongestion, kCsCount
};
extern const char* const kConnStatNames[kCsCount];

struct StreamConfig {
  uint64_t stream_window = 1 << 20;
  uint64_t session_window = 4 << 20;
  size_t send_high_water = 1 << 20;
  uint32_t max_streams = 1024;
  uint64_t idle_timeout_us = 30000000;
  uint64_t keepalive_us = 10000000;
};

// Wire constants: the windows each side may assume before the first MAX_* frame arrives.
constexpr uint64_t kInitialStreamWindow = 256 << 10;
constexpr uint64_t kInitialSessionWindow = 1 << 20;
constexpr uint32_t kPeerIdWindow = 4096;  // peer-opened ids tracked above the lowest open one
constexpr uint32_t kRefusedCode = 0xFFFFFFFE;
constexpr size_t kMaxRefusals = 64;  // refusals waiting to be sent; more are dropped (and redone)

struct Stream {
  uint32_t key = 0;
  uint16_t dst = 0, src = 0;
  SendBuffer send;
  RecvBuffer recv;
  uint64_t peer_max = kInitialStreamWindow;
  uint64_t fin_offset = UINT64_MAX;
  uint64_t rx_max = kInitialStreamWindow;
  uint64_t rx_consumed = 0;
  uint64_t rx_final = UINT64_MAX;
  uint64_t reset_final = 0;
  uint64_t rx_reset_size = 0;  // final size in the peer's RESET_STREAM (counted in the session window)
  uint32_t reset_code = 0, stop_code = 0;
  bool fin_pending = false, fin_acked = false;
  bool open_acked = false, open_pending = false;
  bool in_send_q = false, in_ctrl_q = false, in_deliver_q = false;
  bool blocked = false, blocked_pending = false;
  bool max_pending = false;
  bool fin_delivered = false;
  bool reset_local = false, reset_pending = false, reset_acked = false;
  bool stop_pending = false, stop_local = false;
  bool reset_remote = false;
  bool want_writable = false;
  uint64_t ring_release_us = 0;  // when its drained rings are freed (0: not queued)
};

class StreamEngine;

struct Connection final : RecoveryListener {
  StreamEngine* engine;
  uint32_t index;  // the logical session (Session::conn): its first key pair's index
  std::unordered_map<uint32_t, std::unique_ptr<Stream>> streams;
  uint32_t next_local = 0;
  uint32_t peer_base = 0;
  std::vector<uint64_t> peer_bits = std::vector<uint64_t>(kPeerIdWindow / 64);
  uint32_t peer_live = 0;
  AckTracker ack;
  LossRecovery rec;
  Cubic cc;
  Pacer pacer;
  std::deque<uint32_t> send_q, ctrl_q, deliver_q;
  std::vector<uint32_t> refusals;
  uint64_t peer_max_data = kInitialSessionWindow;
  uint64_t data_sent = 0;
  uint64_t next_pn = 0;  // lowest packet number the next stream packet may use
  uint64_t rx_max_data = kInitialSessionWindow;
  uint64_t rx_highest_sum = 0;
  uint64_t rx_consumed_sum = 0;
  bool max_data_pending = false, data_blocked_pending = false, conn_blocked = false;
  bool ping_pending = false, pace_wait = false, dirty = false, cwnd_limited = false;
  uint64_t last_rx_us = 0, last_tx_us = 0;
  uint64_t armed = UINT64_MAX;
  std::deque<uint32_t> ring_release_q;  // streams with drained rings to free, by release time
  uint64_t ring_release_at = UINT64_MAX;
  double stats[kCsCount] = {};

  void OnPacketAcked(const SentPacket& p) override;
  void OnPacketLost(const SentPacket& p) override;
  void Requeue(const SentPacket& p, bool lost);
};

class StreamEngine : public Napi::ObjectWrap<StreamEngine> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit StreamEngine(const Napi::CallbackInfo& info);
  ~StreamEngine() override;

  // Hooks called by UdpSocket.
  void OnPacket(Session* s, uint64_t pn, const uint8_t* p, size_t n);
  void OnRecvBatchEnd();
  void OnReadableDone();
  void OnSendUnblocked();
  void OnSessionRemoved(uint32_t index);
  void OnSocketClosing();

  // Used by Connection (recovery callbacks).
  Stream* FindStream(Connection& c, uint32_t key);
  void QueueSend(Connection& c, Stream& st);
  void QueueCtrl(Connection& c, Stream& st);
  void MaybeWritable(Connection& c, Stream& st);
  void MaybeFree(Connection& c, Stream& st);
  double* stats() { return stats_; }
  const StreamConfig& config() const { return cfg_; }

 private:
  Napi::Value Open(const Napi::CallbackInfo& info);
  Napi::Value Write(const Napi::CallbackInfo& info);
  Napi::Value Consumed(const Napi::CallbackInfo& info);
  Napi::Value Reset(const Napi::CallbackInfo& info);
  Napi::Value ConnStats(const Napi::CallbackInfo& info);
  Napi::Value Configure(const Napi::CallbackInfo& info);
  Napi::Value SetFaults(const Napi::CallbackInfo& info);
  Napi::Value InjectPlaintext(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  static Napi::Value RingBytesInProcess(const Napi::CallbackInfo& info);

  Connection* Conn(uint32_t index, bool create);
  Stream* NewStream(Connection& c, uint32_t key);
  bool HandleFrames(Connection& c, const uint8_t* p, size_t n, bool* eliciting);
  void OnStreamFrame(Connection& c, const struct StreamDataFrame& f);
  void Pump(Connection& c, uint64_t now_us, int probes);
  size_t BuildData(Connection& c, uint8_t* p, size_t room, SentPacket& rec);
  size_t BuildCtrl(Connection& c, uint8_t* p, size_t room, SentPacket& rec);
  bool Sendable(Connection& c, Stream& st);
  void OnTimer(Connection& c, uint64_t now_us);
  void ReleaseSoon(Connection& c, Stream& st);
  void SweepRings(Connection& c, uint64_t now_us);
  void Schedule(Connection& c);
  void ArmTimer();
  static void OnUvTimer(uv_timer_t* t);
  static void OnHandleClosed(uv_handle_t* h);
  // JS calls (open, write, consumed) only mark their connection; one flush per event-loop turn
  // (the check phase) sends, so `end(data)` is one packet with data and FIN, not two.
  void Defer(Connection& c);
  static void OnFlushCheck(uv_check_t* h);
  void Deliver();
  bool PushEvent(uint32_t type, uint32_t session, uint32_t key, uint32_t a, uint32_t b);
  void Emit();
  void TimeoutConnection(Connection& c);
  void UpdateRxCredit(Connection& c, Stream* st);
  bool ThrowIfClosed(Napi::Env env);

  UdpSocket* socket_ = nullptr;
  Napi::ObjectReference socket_ref_;
  Napi::FunctionReference on_events_;
  Napi::ObjectReference slab_ref_, events_ref_, stats_ref_;
  std::unique_ptr<Napi::AsyncContext> async_;
  uint8_t* slab_ = nullptr;
  size_t slab_cap_ = 0, slab_used_ = 0;
  uint32_t* events_ = nullptr;
  uint32_t event_count_ = 0;
  double* stats_ = nullptr;
  bool in_emit_ = false;
  bool closed_ = false;
  StreamConfig cfg_;
  std::unordered_map<uint32_t, std::unique_ptr<Connection>> conns_;
  std::vector<uint32_t> dirty_;
  using Deadline = std::pair<uint64_t, uint32_t>;
  std::priority_queue<Deadline, std::vector<Deadline>, std::greater<Deadline>> heap_;
  uv_timer_t* timer_ = nullptr;
  uv_check_t* flush_check_ = nullptr;
  // Started with the check handle: an active idle handle keeps the poll phase from blocking, so
  // work deferred after this turn's check phase is flushed on the next turn without waiting.
  uv_idle_t* flush_idle_ = nullptr;
  bool flush_armed_ = false;
  int open_handles_ = 0;
  uint64_t timer_at_ = UINT64_MAX;
  uint8_t scratch_[kMaxDataRecord];
};

uint64_t NowUs();

}  // namespace hubless
