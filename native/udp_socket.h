// UdpSocket: the native data plane object. One non-blocking UDP socket driven by a libuv poll
// handle; batched receive (recvmmsg, UDP GRO) with in-place authentication and decryption into a
// JS-owned slab, and batched send (sealing into a native buffer, then sendmmsg with UDP GSO).
// JS sees one callback per received batch and one call per sent batch, never one per packet.
#pragma once
#include <napi.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <uv.h>

#include <deque>
#include <memory>
#include <unordered_map>
#include <vector>

#include "frame.h"
#include "session.h"
#include "stats.h"
#include "stream_faults.h"

namespace hubless {

class StreamEngine;

// Layout of the metadata array shared with JS (Uint32Array).
constexpr uint32_t kDataRecordWords = 4;    // index, dst<<16|src port, slab offset, length
constexpr uint32_t kCtrlRecordWords = 12;   // type, receiver, ctr lo, ctr hi, offset, length,
                                            // family<<16|port, addr[4], reserved
constexpr uint32_t kMaxDataRecords = 4096;
constexpr uint32_t kMaxCtrlRecords = 256;
constexpr uint32_t kMetaWords = kMaxDataRecords * kDataRecordWords + kMaxCtrlRecords * kCtrlRecordWords;

class UdpSocket : public Napi::ObjectWrap<UdpSocket> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit UdpSocket(const Napi::CallbackInfo& info);
  ~UdpSocket() override;

  // Hooks for the stream engine (native/stream_engine.h), which seals its packets through the
  // same staging buffer and GSO path as datagrams. Attach fails on a closed or unbound socket.
  bool AttachStreams(StreamEngine* engine);
  Session* FindSession(uint32_t index) const { return sessions_.Find(index); }
  // The key pair a logical session currently sends on (setTxSession), or nullptr once it is gone.
  Session* TxSession(uint32_t conn) const {
    auto it = conn_tx_.find(conn);
    return it == conn_tx_.end() ? nullptr : sessions_.Find(it->second);
  }
  // Room for one stream packet's plaintext (kStreamPacketPlain bytes) in the send staging.
  uint8_t* StreamPacketBegin(Session* s);
  // Seals the staged plaintext as a type 0x11 packet under the session's next counter.
  void StreamPacketCommit(Session* s, size_t plain_len);
  void StreamFlush(Session* s) { FlushTx(s->peer, s->peer_len); }
  // The kernel pushed back and ciphertext waits natively.
  bool Backlogged() const { return !pending_.empty(); }
  FaultInjector& faults() { return faults_; }
  uint64_t FaultsNextRelease() const { return faults_.NextRelease(); }
  void FaultsRelease(uint64_t now_us);

 private:
  // kNoGso: the socket's path can't offload segmentation; kSplit: this destination's path MTU is
  // below the segment size, so this train goes out one datagram at a time.
  enum class SendResult { kSent, kAgain, kNoGso, kSplit };
  struct Group {
    size_t off;
    size_t bytes;
    uint16_t segment;  // 0: a single datagram
  };
  static constexpr size_t kSendBatch = 64;
  struct Pending {
    std::vector<uint8_t> bytes;
    size_t sent = 0;
    uint16_t segment;  // 0: a single datagram
    sockaddr_storage to;
    socklen_t to_len;
  };

  Napi::Value Bind(const Napi::CallbackInfo& info);
  Napi::Value LocalAddress(const Napi::CallbackInfo& info);
  Napi::Value SetBufferSizes(const Napi::CallbackInfo& info);
  Napi::Value Features(const Napi::CallbackInfo& info);
  Napi::Value ReserveSession(const Napi::CallbackInfo& info);
  Napi::Value InstallSession(const Napi::CallbackInfo& info);
  Napi::Value RemoveSession(const Napi::CallbackInfo& info);
  Napi::Value LinkSession(const Napi::CallbackInfo& info);
  Napi::Value SetTxSession(const Napi::CallbackInfo& info);
  Napi::Value SessionInfo(const Napi::CallbackInfo& info);
  Napi::Value Send(const Napi::CallbackInfo& info);
  Napi::Value SendControl(const Napi::CallbackInfo& info);
  Napi::Value SetRef(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);

  static void OnPoll(uv_poll_t* handle, int status, int events);
  static void OnClosed(uv_handle_t* handle);
  void OnReadable();
  void OnWritable();
  Session* OpenableSession(const FrameHeader& h);
  void ProcessDatagram(const uint8_t* p, size_t n, const sockaddr_storage& from);
  void ProcessStreamPacket(const uint8_t* p, size_t n, const FrameHeader& h);
  void PushControl(uint8_t type, uint32_t receiver, uint64_t counter, const uint8_t* body,
                   size_t len, const sockaddr_storage& from);
  void Flush();
  void UpdatePoll();
  bool ThrowIfClosed(Napi::Env env);

  void FlushTx(const sockaddr_storage& to, socklen_t to_len);
  size_t SendGroups(const sockaddr_storage& to, socklen_t to_len);
  size_t SendSegments(const uint8_t* p, size_t bytes, uint16_t segment, const sockaddr_storage& to,
                      socklen_t to_len);
  bool SendGroupAlone(size_t g, bool split, const sockaddr_storage& to, socklen_t to_len);
  size_t SendSplit(const uint8_t* p, size_t bytes, uint16_t segment, const sockaddr_storage& to,
                   socklen_t to_len);
  SendResult SendOne(const uint8_t* p, size_t bytes, uint16_t segment, const sockaddr_storage& to,
                     socklen_t to_len);
  void Enqueue(const uint8_t* p, size_t bytes, uint16_t segment, const sockaddr_storage& to,
               socklen_t to_len);
  bool DrainPending();
  bool ResolvePeer(Napi::Env env, const Napi::Value& host, const Napi::Value& port,
                   sockaddr_storage* out, socklen_t* len);

  int fd_ = -1;
  int family_ = 0;
  uv_poll_t* poll_ = nullptr;
  bool closed_ = false;
  bool in_batch_ = false;
  bool refed_ = true;
  bool gso_ = false;
  bool gro_ = false;
  int poll_events_ = 0;

  SessionTable sessions_;
  // Logical session (Session::conn) -> index of the key pair it sends on.
  std::unordered_map<uint32_t, uint32_t> conn_tx_;

  // JS-owned memory, pinned by references for the socket's life.
  Napi::FunctionReference on_batch_;
  Napi::FunctionReference on_drain_;
  Napi::ObjectReference slab_ref_, meta_ref_, stats_ref_;
  std::unique_ptr<Napi::AsyncContext> async_;
  uint8_t* slab_ = nullptr;
  size_t slab_cap_ = 0;
  size_t slab_used_ = 0;
  uint32_t* meta_ = nullptr;
  double* stats_ = nullptr;
  uint32_t data_count_ = 0;
  uint32_t ctrl_count_ = 0;

  // Receive buffers: with GRO each entry can hold a 64 KiB train of segments.
  std::vector<uint8_t> rx_buf_;
  std::vector<mmsghdr> rx_msgs_;
  std::vector<iovec> rx_iov_;
  int rx_touched_ = 0;  // rx_msgs_ entries the last recvmmsg filled (to reset before the next)
  std::vector<sockaddr_storage> rx_addr_;
  std::vector<uint8_t> rx_cmsg_;
  size_t rx_entry_size_ = 0;

  // Send staging: sealed segments laid end to end, cut into GSO groups.
  std::vector<uint8_t> tx_buf_;
  size_t tx_used_ = 0;
  std::vector<uint16_t> tx_sizes_;
  std::vector<Group> groups_;
  std::vector<mmsghdr> tx_msgs_;
  std::vector<iovec> tx_iov_;
  std::vector<char> tx_cmsg_;
  std::vector<const uint8_t*> in_ptr_;
  std::vector<size_t> in_len_;

  StreamEngine* streams_ = nullptr;
  FaultInjector faults_;

  std::deque<Pending> pending_;
  size_t pending_bytes_ = 0;
};

}  // namespace hubless
