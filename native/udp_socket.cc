#include "udp_socket.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/udp.h>
#include <string.h>
#include <unistd.h>

#include <algorithm>
#include <string>

#include "errors.h"
#include "sockaddr.h"
#include "stream_engine.h"
#include "stream_wire.h"

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif

namespace hubless {

const char* const kSocketStatNames[kStCount] = {
    "rxDatagrams", "rxBytes", "rxSyscalls", "txDatagrams", "txBytes", "txSyscalls",
    "txGsoSends", "txEagain", "txErrors", "batches", "rxControl", "rxStun",
    "dropShort", "dropNotHubless", "dropVersion", "dropLength", "dropType", "dropTruncated",
    "dropUnknownSession", "dropNoKey", "dropAuth", "dropReplay", "dropTooOld",
    "dropControlSize", "dropQueueFull", "pendingBytes", "dropStream",
};

namespace {

constexpr int kRecvEntriesGro = 32;
constexpr int kRecvEntriesPlain = 64;
constexpr size_t kRecvEntryGro = 65536;
constexpr size_t kRecvEntryPlain = 2048;
// Bounds one poll callback so timers and other handles still run, yet drains a socket buffer
// filled by a fast sender that does not use GSO (no GRO trains then: one datagram per entry).
constexpr uint32_t kRecvDatagramsPerPoll = 8192;
constexpr size_t kCmsgSize = 64;
constexpr size_t kTxSegments = 256;        // staged before a sendmmsg
constexpr size_t kMaxGsoBytes = 65507;     // largest UDP payload the kernel accepts per send
constexpr size_t kMaxGsoSegments = 64;     // UDP_MAX_SEGMENTS
constexpr size_t kMaxPendingBytes = 8u << 20;
constexpr size_t kTxCmsgSize = CMSG_SPACE(sizeof(uint16_t));
constexpr uint64_t kCounterLimit = UINT64_MAX - (1u << 16);  // rekey long before nonce reuse
constexpr uint32_t kStunCookie = 0x2112A442;

FrameError ToStat(FrameError e, double* stats) {
  switch (e) {
    case FrameError::kShort: stats[kStDropShort]++; break;
    case FrameError::kNotHubless: stats[kStDropNotHubless]++; break;
    case FrameError::kBadVersion: stats[kStDropVersion]++; break;
    case FrameError::kBadLength: stats[kStDropLength]++; break;
    case FrameError::kUnknownType: stats[kStDropType]++; break;
    case FrameError::kTruncatedTag: stats[kStDropTruncated]++; break;
    case FrameError::kOk: break;
  }
  return e;
}

bool IsStun(const uint8_t* p, size_t n) {
  return n >= 20 && (p[0] & 0xC0) == 0 && LoadBE32(p + 4) == kStunCookie;
}

}  // namespace

Napi::Function UdpSocket::Init(Napi::Env env) {
  return DefineClass(env, "UdpSocket",
                     {
                         InstanceMethod<&UdpSocket::Bind>("bind"),
                         InstanceMethod<&UdpSocket::LocalAddress>("localAddress"),
                         InstanceMethod<&UdpSocket::SetBufferSizes>("setBufferSizes"),
                         InstanceMethod<&UdpSocket::Features>("features"),
                         InstanceMethod<&UdpSocket::ReserveSession>("reserveSession"),
                         InstanceMethod<&UdpSocket::InstallSession>("installSession"),
                         InstanceMethod<&UdpSocket::RemoveSession>("removeSession"),
                         InstanceMethod<&UdpSocket::LinkSession>("linkSession"),
                         InstanceMethod<&UdpSocket::SetTxSession>("setTxSession"),
                         InstanceMethod<&UdpSocket::SessionInfo>("sessionInfo"),
                         InstanceMethod<&UdpSocket::Send>("send"),
                         InstanceMethod<&UdpSocket::SendControl>("sendControl"),
                         InstanceMethod<&UdpSocket::SetRef>("setRef"),
                         InstanceMethod<&UdpSocket::Close>("close"),
                     });
}

// new UdpSocket({ onBatch(dataCount, ctrlCount), onDrain(), slab: Uint8Array, meta: Uint32Array,
//                 stats: Float64Array })
UdpSocket::UdpSocket(const Napi::CallbackInfo& info) : Napi::ObjectWrap<UdpSocket>(info) {
  Napi::Env env = info.Env();
  if (!info[0].IsObject()) {
    ThrowCode(env, "ERR_HUBLESS_INVALID_ARGUMENT", "UdpSocket options must be an object");
    return;
  }
  Napi::Object o = info[0].As<Napi::Object>();
  Napi::Value on_batch = o.Get("onBatch"), on_drain = o.Get("onDrain");
  Napi::Value slab = o.Get("slab"), meta = o.Get("meta"), stats = o.Get("stats");
  if (!on_batch.IsFunction() || !on_drain.IsFunction() || !slab.IsTypedArray() ||
      !meta.IsTypedArray() || !stats.IsTypedArray()) {
    ThrowCode(env, "ERR_HUBLESS_INVALID_ARGUMENT",
              "UdpSocket needs onBatch, onDrain, slab, meta and stats");
    return;
  }
  auto slab_a = slab.As<Napi::TypedArray>();
  auto meta_a = meta.As<Napi::TypedArray>();
  auto stats_a = stats.As<Napi::TypedArray>();
  if (slab_a.TypedArrayType() != napi_uint8_array || slab_a.ByteLength() < 2 * kRecvEntryGro ||
      meta_a.TypedArrayType() != napi_uint32_array || meta_a.ElementLength() < kMetaWords ||
      stats_a.TypedArrayType() != napi_float64_array || stats_a.ElementLength() < kStCount) {
    ThrowCode(env, "ERR_HUBLESS_INVALID_ARGUMENT", "UdpSocket buffers have the wrong type or size");
    return;
  }
  on_batch_ = Napi::Persistent(on_batch.As<Napi::Function>());
  on_drain_ = Napi::Persistent(on_drain.As<Napi::Function>());
  slab_ref_ = Napi::Persistent(slab.As<Napi::Object>());
  meta_ref_ = Napi::Persistent(meta.As<Napi::Object>());
  stats_ref_ = Napi::Persistent(stats.As<Napi::Object>());
  slab_ = static_cast<uint8_t*>(slab_a.ArrayBuffer().Data()) + slab_a.ByteOffset();
  slab_cap_ = slab_a.ByteLength();
  meta_ = reinterpret_cast<uint32_t*>(static_cast<uint8_t*>(meta_a.ArrayBuffer().Data()) +
                                      meta_a.ByteOffset());
  stats_ = reinterpret_cast<double*>(static_cast<uint8_t*>(stats_a.ArrayBuffer().Data()) +
                                     stats_a.ByteOffset());
  async_ = std::make_unique<Napi::AsyncContext>(env, "HublessUdpSocket", info.This().As<Napi::Object>());
  tx_buf_.resize(kTxSegments * kMaxDatagram);
  tx_sizes_.reserve(kTxSegments);
  groups_.reserve(kTxSegments);
  tx_msgs_.resize(kSendBatch);
  tx_iov_.resize(kSendBatch);
  tx_cmsg_.resize(kSendBatch * kTxCmsgSize);
}

UdpSocket::~UdpSocket() {
  // Bound sockets hold a reference to themselves until closed, so only an unbound or already
  // closed socket gets here; the fd may still be open if bind() failed half way.
  if (poll_ == nullptr && fd_ >= 0) ::close(fd_);
}

bool UdpSocket::ThrowIfClosed(Napi::Env env) {
  if (closed_) {
    ThrowCode(env, "ERR_HUBLESS_SOCKET_CLOSED", "the socket is closed");
    return true;
  }
  return false;
}

// bind(host, port, ipv6Only, offload) -> bound port. offload=false keeps GSO/GRO off (tests use it
// to exercise the one-datagram-per-entry paths that kernels without them take).
Napi::Value UdpSocket::Bind(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (ThrowIfClosed(env)) return env.Undefined();
  if (fd_ >= 0) {
    ThrowCode(env, "ERR_HUBLESS_SOCKET_BOUND", "the socket is already bound");
    return env.Undefined();
  }
  if (!info[0].IsString() || !info[1].IsNumber()) {
    ThrowCode(env, "ERR_HUBLESS_INVALID_ARGUMENT", "bind(host, port): host string and port number");
    return env.Undefined();
  }
  std::string host = info[0].As<Napi::String>().Utf8Value();
  int64_t port = info[1].As<Napi::Number>().Int64Value();
  bool v6only = info[2].ToBoolean().Value();
  bool offload = info[3].IsUndefined() || info[3].ToBoolean().Value();
  if (port < 0 || port > 65535) {
    ThrowCode(env, "ERR_HUBLESS_INVALID_ARGUMENT", "port must be in 0..65535");
    return env.Undefined();
  }
  sockaddr_storage ss{};
  socklen_t len;
  if (inet_pton(AF_INET, host.c_str(), &reinterpret_cast<sockaddr_in*>(&ss)->sin_addr) == 1) {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    a->sin_family = AF_INET;
    a->sin_port = htons(static_cast<uint16_t>(port));
    len = sizeof(sockaddr_in);
  } else if (inet_pton(AF_INET6, host.c_str(), &reinterpret_cast<sockaddr_in6*>(&ss)->sin6_addr) == 1) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(static_cast<uint16_t>(port));
    len = sizeof(sockaddr_in6);
  } else {
    ThrowCode(env, "ERR_HUBLESS_INVALID_ARGUMENT", "bind: host must be a numeric IPv4 or IPv6 address");
    return env.Undefined();
  }
  family_ = ss.ss_family;
  fd_ = ::socket(family_, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd_ < 0) {
    ThrowErrno(env, "ERR_HUBLESS_SOCKET", "socket", errno);
    return env.Undefined();
  }
  if (family_ == AF_INET6) {
    int v = v6only ? 1 : 0;
    setsockopt(fd_, IPPROTO_IPV6, IPV6_V6ONLY, &v, sizeof v);
  }
  if (::bind(fd_, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    int err = errno;
    ::close(fd_);
    fd_ = -1;
    ThrowErrno(env, err == EADDRINUSE ? "ERR_HUBLESS_ADDRESS_IN_USE" : "ERR_HUBLESS_SOCKET", "bind", err);
    return env.Undefined();
  }
  // Features are probed on the live socket: a kernel without them answers ENOPROTOOPT.
  int zero = 0, one = 1;
  gso_ = offload && setsockopt(fd_, SOL_UDP, UDP_SEGMENT, &zero, sizeof zero) == 0;
  gro_ = offload && setsockopt(fd_, SOL_UDP, UDP_GRO, &one, sizeof one) == 0;

  const int entries = gro_ ? kRecvEntriesGro : kRecvEntriesPlain;
  rx_entry_size_ = gro_ ? kRecvEntryGro : kRecvEntryPlain;
  rx_buf_.resize(entries * rx_entry_size_);
  rx_msgs_.resize(entries);
  rx_iov_.resize(entries);
  rx_addr_.resize(entries);
  rx_cmsg_.resize(entries * kCmsgSize);
  for (int i = 0; i < entries; i++) {
    rx_iov_[i] = {rx_buf_.data() + i * rx_entry_size_, rx_entry_size_};
    msghdr& m = rx_msgs_[i].msg_hdr;
    m = msghdr{};
    m.msg_name = &rx_addr_[i];
    m.msg_iov = &rx_iov_[i];
    m.msg_iovlen = 1;
    m.msg_control = gro_ ? rx_cmsg_.data() + i * kCmsgSize : nullptr;
  }
  rx_touched_ = entries;

  uv_loop_t* loop = nullptr;
  napi_get_uv_event_loop(env, &loop);
  poll_ = new uv_poll_t;
  if (uv_poll_init(loop, poll_, fd_) != 0) {
    delete poll_;
    poll_ = nullptr;
    ::close(fd_);
    fd_ = -1;
    ThrowCode(env, "ERR_HUBLESS_SOCKET", "uv_poll_init failed");
    return env.Undefined();
  }
  poll_->data = this;
  Ref();  // an open socket stays alive while its poll handle can call back
  UpdatePoll();
  if (!refed_) uv_unref(reinterpret_cast<uv_handle_t*>(poll_));

  sockaddr_storage bound{};
  socklen_t blen = sizeof bound;
  getsockname(fd_, reinterpret_cast<sockaddr*>(&bound), &blen);
  return Napi::Number::New(env, ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port));
}

Napi::Value UdpSocket::LocalAddress(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (ThrowIfClosed(env)) return env.Undefined();
  if (fd_ < 0) {
    ThrowCode(env, "ERR_HUBLESS_SOCKET_NOT_BOUND", "the socket is not bound");
    return env.Undefined();
  }
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  getsockname(fd_, reinterpret_cast<sockaddr*>(&ss), &len);
  return SockaddrToObject(env, ss);
}

// setBufferSizes(rcv, snd) -> [rcv, snd] as the kernel reports them. Tries the FORCE variants
// first (root may exceed rmem_max/wmem_max), then the plain ones.
Napi::Value UdpSocket::SetBufferSizes(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (ThrowIfClosed(env)) return env.Undefined();
  if (fd_ < 0) {
    ThrowCode(env, "ERR_HUBLESS_SOCKET_NOT_BOUND", "the socket is not bound");
    return env.Undefined();
  }
  auto set = [&](int force_opt, int opt, const Napi::Value& v) {
    if (!v.IsNumber()) return;
    int size = static_cast<int>(std::clamp<int64_t>(v.As<Napi::Number>().Int64Value(), 4096, 1 << 30));
    if (setsockopt(fd_, SOL_SOCKET, force_opt, &size, sizeof size) != 0)
      setsockopt(fd_, SOL_SOCKET, opt, &size, sizeof size);
  };
  set(SO_RCVBUFFORCE, SO_RCVBUF, info[0]);
  set(SO_SNDBUFFORCE, SO_SNDBUF, info[1]);
  int rcv = 0, snd = 0;
  socklen_t l = sizeof rcv;
  getsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcv, &l);
  l = sizeof snd;
  getsockopt(fd_, SOL_SOCKET, SO_SNDBUF, &snd, &l);
  Napi::Array out = Napi::Array::New(env, 2);
  out.Set(0u, Napi::Number::New(env, rcv));
  out.Set(1u, Napi::Number::New(env, snd));
  return out;
}

Napi::Value UdpSocket::Features(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("gso", Napi::Boolean::New(env, gso_));
  o.Set("gro", Napi::Boolean::New(env, gro_));
  return o;
}

Napi::Value UdpSocket::ReserveSession(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (ThrowIfClosed(env)) return env.Undefined();
  uint32_t index = sessions_.Reserve();
  if (index == 0) {
    ThrowCode(env, "ERR_HUBLESS_SESSION_LIMIT", "the session table is full");
    return env.Undefined();
  }
  return Napi::Number::New(env, index);
}

// installSession(index, remoteIndex, algorithm, txKey, rxKey, host, port)
Napi::Value UdpSocket::InstallSession(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (ThrowIfClosed(env)) return env.Undefined();
  if (!info[0].IsNumber() || !info[1].IsNumber() || !info[2].IsNumber() ||
      !info[3].IsTypedArray() || !info[4].IsTypedArray()) {
    ThrowCode(env, "ERR_HUBLESS_INVALID_ARGUMENT",
              "installSession(index, remoteIndex, algorithm, txKey, rxKey, host, port)");
    return env.Undefined();
  }
  Session* s = sessions_.Find(info[0].As<Napi::Number>().Uint32Value());
  if (s == nullptr) {
    ThrowCode(env, "ERR_HUBLESS_NO_SESSION", "no reserved session has this index");
    return env.Undefined();
  }
  if (s->installed) {
    ThrowCode(env, "ERR_HUBLESS_SESSION_INSTALLED", "this session already has keys; reserve a new index to rekey");
    return env.Undefined();
  }
  auto tx = info[3].As<Napi::Uint8Array>();
  auto rx = info[4].As<Napi::Uint8Array>();
  if (tx.ByteLength() != kKeySize || rx.ByteLength() != kKeySize) {
    ThrowCode(env, "ERR_HUBLESS_INVALID_ARGUMENT", "keys must be 32 bytes");
    return env.Undefined();
  }
  uint32_t algo = info[2].As<Napi::Number>().Uint32Value();
  if (algo != 1 && algo != 2) {
    ThrowCode(env, "ERR_HUBLESS_INVALID_ARGUMENT", "algorithm must be 1 (AES-256-GCM) or 2 (ChaCha20-Poly1305)");
    return env.Undefined();
  }
  auto a = static_cast<AeadAlgorithm>(algo);
  if (a == AeadAlgorithm::kAes256Gcm && !AesGcmAvailable()) {
    ThrowCode(env, "ERR_HUBLESS_AEAD_UNAVAILABLE", "AES-256-GCM is not available on this CPU");
    return env.Undefined();
  }
  sockaddr_storage peer;
  socklen_t peer_len;
  if (!ResolvePeer(env, info[5], info[6], &peer, &peer_len)) return env.Undefined();
  s->tx.Set(a, tx.Data());
  s->rx.Set(a, rx.Data());
  s->window.Reset();
  s->peer = peer;
  s->peer_len = peer_len;
  s->remote_index = info[1].As<Napi::Number>().Uint32Value();
  s->tx_counter = 0;
  s->installed = true;
  s->conn = s->local_index;
  conn_tx_[s->conn] = s->local_index;
  return env.Undefined();
}

// linkSession(index, toIndex): the key pair `index` (just installed by a rekey) joins the logical
// session of `toIndex`, so stream packets under either reach the same stream connection.
Napi::Value UdpSocket::LinkSession(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (ThrowIfClosed(env)) return env.Undefined();
  if (!info[0].IsNumber() || !info[1].IsNumber()) {
    ThrowCode(env, "ERR_HUBLESS_INVALID_ARGUMENT", "linkSession(index, toIndex)");
    return env.Undefined();
  }
  Session* s = sessions_.Find(info[0].As<Napi::Number>().Uint32Value());
  Session* to = sessions_.Find(info[1].As<Napi::Number>().Uint32Value());
  if (s == nullptr || to == nullptr || !s->installed || !to->installed) {
    ThrowCode(env, "ERR_HUBLESS_NO_SESSION", "linkSession needs two installed sessions");
    return env.Undefined();
  }
  if (s->conn == to->conn) return env.Undefined();
  auto own = conn_tx_.find(s->conn);
  if (own != conn_tx_.end() && own->second == s->local_index) conn_tx_.erase(own);
  s->conn = to->conn;
  return env.Undefined();
}

// setTxSession(index): the logical session of `index` sends its stream packets under it from now
// on (the key switch of a rekey). Packet numbers continue across key pairs (see StreamEngine).
Napi::Value UdpSocket::SetTxSession(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (ThrowIfClosed(env)) return env.Undefined();
  if (!info[0].IsNumber()) {
    ThrowCode(env, "ERR_HUBLESS_INVALID_ARGUMENT", "setTxSession(index)");
    return env.Undefined();
  }
  Session* s = sessions_.Find(info[0].As<Napi::Number>().Uint32Value());
  if (s == nullptr || !s->installed) {
    ThrowCode(env, "ERR_HUBLESS_NO_SESSION", "no installed session has this index");
    return env.Undefined();
  }
  conn_tx_[s->conn] = s->local_index;
  return env.Undefined();
}

Napi::Value UdpSocket::RemoveSession(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsNumber()) {
    ThrowCode(env, "ERR_HUBLESS_INVALID_ARGUMENT", "removeSession(index)");
    return env.Undefined();
  }
  const uint32_t index = info[0].As<Napi::Number>().Uint32Value();
  // Removing the key pair a logical session sends on ends that session (and its streams);
  // retiring an older or unconfirmed pair does not.
  Session* s = sessions_.Find(index);
  if (s != nullptr && s->installed) {
    auto it = conn_tx_.find(s->conn);
    if (it != conn_tx_.end() && it->second == index) {
      const uint32_t conn = s->conn;
      conn_tx_.erase(it);
      if (streams_ != nullptr) streams_->OnSessionRemoved(conn);
    }
  }
  return Napi::Boolean::New(env, sessions_.Remove(index));
}

// sessionInfo(index, out: Float64Array) -> algorithm (1|2), 0 when reserved only, -1 if unknown.
// Fills `out` with the counters named by sessionStatNames.
Napi::Value UdpSocket::SessionInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsNumber() || !info[1].IsTypedArray()) {
    ThrowCode(env, "ERR_HUBLESS_INVALID_ARGUMENT", "sessionInfo(index, Float64Array)");
    return env.Undefined();
  }
  auto out = info[1].As<Napi::TypedArray>();
  if (out.TypedArrayType() != napi_float64_array || out.ElementLength() < kSsCount) {
    ThrowCode(env, "ERR_HUBLESS_INVALID_ARGUMENT", "sessionInfo needs a Float64Array of sessionStatNames.length");
    return env.Undefined();
  }
  Session* s = sessions_.Find(info[0].As<Napi::Number>().Uint32Value());
  if (s == nullptr) return Napi::Number::New(env, -1);
  double* d = reinterpret_cast<double*>(static_cast<uint8_t*>(out.ArrayBuffer().Data()) + out.ByteOffset());
  for (uint32_t i = 0; i < kSsCount; i++) d[i] = static_cast<double>(s->stats[i]);
  d[kSsTxCounter] = static_cast<double>(s->tx_counter);
  d[kSsRxHighest] = static_cast<double>(s->window.highest());
  return Napi::Number::New(env, s->installed ? static_cast<int>(s->tx.algorithm) : 0);
}

bool UdpSocket::ResolvePeer(Napi::Env env, const Napi::Value& host, const Napi::Value& port,
                            sockaddr_storage* out, socklen_t* len) {
  if (fd_ < 0) {
    ThrowCode(env, "ERR_HUBLESS_SOCKET_NOT_BOUND", "bind the socket first");
    return false;
  }
  if (!host.IsString() || !port.IsNumber()) {
    ThrowCode(env, "ERR_HUBLESS_INVALID_ARGUMENT", "peer host must be a string and port a number");
    return false;
  }
  int64_t p = port.As<Napi::Number>().Int64Value();
  if (p <= 0 || p > 65535) {
    ThrowCode(env, "ERR_HUBLESS_INVALID_ARGUMENT", "peer port must be in 1..65535");
    return false;
  }
  if (!ParseSockaddr(host.As<Napi::String>().Utf8Value(), static_cast<uint16_t>(p), family_, out, len)) {
    ThrowCode(env, "ERR_HUBLESS_ADDRESS_FAMILY",
              "peer host must be a numeric address this socket's family can reach");
    return false;
  }
  return true;
}

// send(index, dstPort, srcPort, payloads: Uint8Array[]) -> true if everything went to the
// kernel, false if some of it waits for the socket to drain (an 'onDrain' call follows).
Napi::Value UdpSocket::Send(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (ThrowIfClosed(env)) return env.Undefined();
  if (!info[0].IsNumber() || !info[1].IsNumber() || !info[2].IsNumber() || !info[3].IsArray()) {
    ThrowCode(env, "ERR_HUBLESS_INVALID_ARGUMENT", "send(index, dstPort, srcPort, payloads[])");
    return env.Undefined();
  }
  const uint32_t index = info[0].As<Napi::Number>().Uint32Value();
  const int64_t dst = info[1].As<Napi::Number>().Int64Value();
  const int64_t src = info[2].As<Napi::Number>().Int64Value();
  if (dst < 0 || dst > 65535 || src < 0 || src > 65535) {
    ThrowCode(env, "ERR_HUBLESS_INVALID_ARGUMENT", "ports must be in 0..65535");
    return env.Undefined();
  }
  Napi::Array list = info[3].As<Napi::Array>();
  const uint32_t n = list.Length();
  // First pass: validate everything, so a bad element sends nothing.
  in_ptr_.resize(n);
  in_len_.resize(n);
  // Raw N-API here: two calls per element instead of the wrapper's half dozen (this loop runs
  // once per datagram sent).
  for (uint32_t i = 0; i < n; i++) {
    napi_value v;
    napi_typedarray_type type;
    size_t length;
    void* data;
    if (napi_get_element(env, list, i, &v) != napi_ok ||
        napi_get_typedarray_info(env, v, &type, &length, &data, nullptr, nullptr) != napi_ok ||
        type != napi_uint8_array) {
      if (env.IsExceptionPending()) env.GetAndClearPendingException();
      ThrowCode(env, "ERR_HUBLESS_INVALID_ARGUMENT", "payloads must be Uint8Arrays or Buffers");
      return env.Undefined();
    }
    if (length > kMaxDatagramPayload) {
      ThrowCode(env, "ERR_HUBLESS_DATAGRAM_TOO_LARGE",
                "a datagram payload is larger than " + std::to_string(kMaxDatagramPayload) + " bytes");
      return env.Undefined();
    }
    in_ptr_[i] = static_cast<const uint8_t*>(data);
    in_len_[i] = length;
  }
  Session* s = sessions_.Find(index);
  if (s == nullptr || !s->installed) {
    ThrowCode(env, "ERR_HUBLESS_NO_SESSION", "no installed session has this index");
    return env.Undefined();
  }
  if (s->tx_counter + n >= kCounterLimit) {
    ThrowCode(env, "ERR_HUBLESS_KEY_EXHAUSTED", "this session's key has sent too many packets; rekey");
    return env.Undefined();
  }
  uint8_t ports[kPortsSize];
  StoreBE16(ports, static_cast<uint16_t>(dst));
  StoreBE16(ports + 2, static_cast<uint16_t>(src));
  for (uint32_t i = 0; i < n; i++) {
    const size_t plen = kPortsSize + in_len_[i];
    const size_t wire = kHeaderSize + plen + kTagSize;
    if (tx_used_ + wire > tx_buf_.size()) FlushTx(s->peer, s->peer_len);
    uint8_t* p = tx_buf_.data() + tx_used_;
    FrameHeader h{static_cast<uint8_t>(PacketType::kDatagram), static_cast<uint16_t>(plen + kTagSize),
                  s->remote_index, s->tx_counter};
    WriteFrame(p, h);
    memcpy(p + kHeaderSize, ports, kPortsSize);
    if (in_len_[i] != 0) memcpy(p + kHeaderSize + kPortsSize, in_ptr_[i], in_len_[i]);
    s->tx.Seal(p + kHeaderSize, p + kHeaderSize, plen, p, kHeaderSize, s->tx_counter);
    s->tx_counter++;
    tx_used_ += wire;
    tx_sizes_.push_back(static_cast<uint16_t>(wire));
    s->stats[kSsTxPackets]++;
    s->stats[kSsTxBytes] += in_len_[i];
  }
  FlushTx(s->peer, s->peer_len);
  return Napi::Boolean::New(env, pending_.empty());
}

// Cuts the staged segments into GSO groups (same size, the last of a group may be shorter) and
// hands up to kSendBatch groups to the kernel per sendmmsg: with GSO a 1024-datagram batch is one
// syscall; without it, still 64 datagrams per syscall. What the kernel refuses waits in the queue.
void UdpSocket::FlushTx(const sockaddr_storage& to, socklen_t to_len) {
  groups_.clear();
  size_t off = 0, i = 0;
  const size_t count = tx_sizes_.size();
  while (i < count) {
    const uint16_t seg = tx_sizes_[i];
    size_t bytes = seg, segs = 1;
    i++;
    if (gso_) {
      while (i < count && segs < kMaxGsoSegments && bytes + tx_sizes_[i] <= kMaxGsoBytes &&
             tx_sizes_[i] <= seg) {
        const bool shorter = tx_sizes_[i] < seg;
        bytes += tx_sizes_[i];
        segs++;
        i++;
        if (shorter) break;  // only the last segment of a GSO train may be short
      }
    }
    groups_.push_back({off, bytes, static_cast<uint16_t>(segs > 1 ? seg : 0)});
    off += bytes;
  }
  size_t g = pending_.empty() ? SendGroups(to, to_len) : 0;
  for (; g < groups_.size(); g++) {
    Enqueue(tx_buf_.data() + groups_[g].off, groups_[g].bytes, groups_[g].segment, to, to_len);
  }
  tx_used_ = 0;
  tx_sizes_.clear();
  if (!pending_.empty()) UpdatePoll();
}

// Errors with which the kernel refuses a GSO send that the same datagrams sent one by one pass.
// No checksum offload on the path (EIO, EINVAL, EOPNOTSUPP on older kernels) holds for the
// socket: GSO goes off. A path MTU below the segment size (EMSGSIZE; single datagrams are
// fragmented instead) holds for one destination only: that train is split, GSO stays on, so a
// peer behind a small-MTU path costs the others nothing.
static bool GsoUnsupported(int err) { return err == EIO || err == EINVAL || err == EOPNOTSUPP; }

// Sends groups_ in order with sendmmsg; returns how many went out (the rest must be queued).
size_t UdpSocket::SendGroups(const sockaddr_storage& to, socklen_t to_len) {
  size_t g = 0;
  while (g < groups_.size()) {
    if (!gso_ && groups_[g].segment != 0) {
      // GSO was found unusable after this group was cut: send it segment by segment.
      if (!SendGroupAlone(g, false, to, to_len)) return g;
      g++;
      continue;
    }
    const size_t n = std::min<size_t>(kSendBatch, groups_.size() - g);
    for (size_t k = 0; k < n; k++) {
      const Group& gr = groups_[g + k];
      tx_iov_[k] = {tx_buf_.data() + gr.off, gr.bytes};
      msghdr& m = tx_msgs_[k].msg_hdr;
      m = msghdr{};
      m.msg_name = const_cast<sockaddr_storage*>(&to);
      m.msg_namelen = to_len;
      m.msg_iov = &tx_iov_[k];
      m.msg_iovlen = 1;
      if (gr.segment != 0) {
        char* cbuf = tx_cmsg_.data() + k * kTxCmsgSize;
        m.msg_control = cbuf;
        m.msg_controllen = CMSG_SPACE(sizeof(uint16_t));
        cmsghdr* c = CMSG_FIRSTHDR(&m);
        c->cmsg_level = SOL_UDP;
        c->cmsg_type = UDP_SEGMENT;
        c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
        memcpy(CMSG_DATA(c), &gr.segment, sizeof gr.segment);
      }
    }
    stats_[kStTxSyscalls]++;
    // One group (a lone datagram, or one GSO train): sendmsg skips sendmmsg's per-call setup.
    const int r = n == 1 ? (sendmsg(fd_, &tx_msgs_[0].msg_hdr, 0) >= 0 ? 1 : -1)
                         : sendmmsg(fd_, tx_msgs_.data(), static_cast<unsigned>(n), 0);
    if (r > 0) {
      for (int k = 0; k < r; k++) {
        const Group& gr = groups_[g + k];
        stats_[kStTxDatagrams] += static_cast<double>(gr.segment != 0 ? (gr.bytes + gr.segment - 1) / gr.segment : 1);
        stats_[kStTxBytes] += static_cast<double>(gr.bytes);
        if (gr.segment != 0) stats_[kStTxGsoSends]++;
      }
      g += static_cast<size_t>(r);
      continue;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) {
      stats_[kStTxEagain]++;
      return g;
    }
    if (groups_[g].segment != 0 && GsoUnsupported(errno)) {
      gso_ = false;  // the loop above splits from here on
      continue;
    }
    if (groups_[g].segment != 0 && errno == EMSGSIZE) {
      if (!SendGroupAlone(g, true, to, to_len)) return g;
      g++;
      continue;
    }
    // ECONNREFUSED from an earlier ICMP and the like: UDP promises no delivery, count and go on.
    stats_[kStTxErrors]++;
    g++;
  }
  return g;
}

// Sends group g on its own: one datagram at a time (split), else through SendSegments. False
// when the kernel pushed back; the group then holds what is left of it, to be queued.
bool UdpSocket::SendGroupAlone(size_t g, bool split, const sockaddr_storage& to, socklen_t to_len) {
  Group& gr = groups_[g];
  const uint8_t* p = tx_buf_.data() + gr.off;
  const size_t sent = split ? SendSplit(p, gr.bytes, gr.segment, to, to_len)
                            : SendSegments(p, gr.bytes, gr.segment, to, to_len);
  if (sent == gr.bytes) return true;
  gr = {gr.off + sent, gr.bytes - sent, gr.segment};
  return false;
}

// Sends [p, p + bytes) as datagrams of `segment` bytes (0: one datagram), as one GSO send where
// the socket can. Returns how many bytes left, always a whole number of segments.
size_t UdpSocket::SendSegments(const uint8_t* p, size_t bytes, uint16_t segment,
                               const sockaddr_storage& to, socklen_t to_len) {
  if (segment == 0 || bytes <= segment) {
    return SendOne(p, bytes, 0, to, to_len) == SendResult::kSent ? bytes : 0;
  }
  if (gso_) {
    switch (SendOne(p, bytes, segment, to, to_len)) {
      case SendResult::kSent: return bytes;
      case SendResult::kAgain: return 0;
      case SendResult::kNoGso: gso_ = false; break;  // e.g. no checksum offload on this path
      case SendResult::kSplit: break;
    }
  }
  return SendSplit(p, bytes, segment, to, to_len);
}

// Sends [p, p + bytes) one datagram of `segment` bytes at a time; returns the bytes sent.
size_t UdpSocket::SendSplit(const uint8_t* p, size_t bytes, uint16_t segment, const sockaddr_storage& to,
                            socklen_t to_len) {
  size_t off = 0;
  while (off < bytes) {
    const size_t len = std::min<size_t>(segment, bytes - off);
    if (SendOne(p + off, len, 0, to, to_len) != SendResult::kSent) break;
    off += len;
  }
  return off;
}

UdpSocket::SendResult UdpSocket::SendOne(const uint8_t* p, size_t bytes, uint16_t segment,
                                         const sockaddr_storage& to, socklen_t to_len) {
  iovec iov{const_cast<uint8_t*>(p), bytes};
  msghdr m{};
  m.msg_name = const_cast<sockaddr_storage*>(&to);
  m.msg_namelen = to_len;
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  alignas(cmsghdr) char cbuf[CMSG_SPACE(sizeof(uint16_t))];
  if (segment != 0) {
    m.msg_control = cbuf;
    m.msg_controllen = sizeof cbuf;
    cmsghdr* c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_UDP;
    c->cmsg_type = UDP_SEGMENT;
    c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
    memcpy(CMSG_DATA(c), &segment, sizeof segment);
  }
  for (;;) {
    stats_[kStTxSyscalls]++;
    if (sendmsg(fd_, &m, 0) >= 0) {
      stats_[kStTxDatagrams] += static_cast<double>(segment != 0 ? (bytes + segment - 1) / segment : 1);
      stats_[kStTxBytes] += static_cast<double>(bytes);
      if (segment != 0) stats_[kStTxGsoSends]++;
      return SendResult::kSent;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) {
      stats_[kStTxEagain]++;
      return SendResult::kAgain;
    }
    if (segment != 0 && GsoUnsupported(errno)) return SendResult::kNoGso;
    if (segment != 0 && errno == EMSGSIZE) return SendResult::kSplit;
    // ECONNREFUSED from an earlier ICMP and the like: UDP promises no delivery, count and go on.
    stats_[kStTxErrors]++;
    return SendResult::kSent;
  }
}

void UdpSocket::Enqueue(const uint8_t* p, size_t bytes, uint16_t segment, const sockaddr_storage& to,
                        socklen_t to_len) {
  if (bytes == 0) return;
  if (pending_bytes_ + bytes > kMaxPendingBytes) {
    stats_[kStDropQueueFull] += static_cast<double>(segment != 0 ? (bytes + segment - 1) / segment : 1);
    return;
  }
  Pending q;
  q.bytes.assign(p, p + bytes);
  q.segment = segment;
  q.to = to;
  q.to_len = to_len;
  pending_.push_back(std::move(q));
  pending_bytes_ += bytes;
  stats_[kStPendingBytes] = static_cast<double>(pending_bytes_);
}

bool UdpSocket::DrainPending() {
  while (!pending_.empty()) {
    Pending& q = pending_.front();
    const size_t left = q.bytes.size() - q.sent;
    const size_t sent = SendSegments(q.bytes.data() + q.sent, left, q.segment, q.to, q.to_len);
    q.sent += sent;
    pending_bytes_ -= sent;
    stats_[kStPendingBytes] = static_cast<double>(pending_bytes_);
    if (sent < left) return false;
    pending_.pop_front();
  }
  return true;
}

// sendControl(type, receiver, counter, body, host, port): an unsealed handshake-class packet.
// The header is written here so the wire format has one source of truth.
Napi::Value UdpSocket::SendControl(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (ThrowIfClosed(env)) return env.Undefined();
  if (!info[0].IsNumber() || !info[1].IsNumber() || !info[2].IsNumber() || !info[3].IsTypedArray()) {
    ThrowCode(env, "ERR_HUBLESS_INVALID_ARGUMENT", "sendControl(type, receiver, counter, body, host, port)");
    return env.Undefined();
  }
  const uint32_t type = info[0].As<Napi::Number>().Uint32Value();
  if (type > 0xFF || !IsKnownType(static_cast<uint8_t>(type)) || IsSealedType(static_cast<uint8_t>(type))) {
    ThrowCode(env, "ERR_HUBLESS_INVALID_ARGUMENT", "sendControl: not a control packet type");
    return env.Undefined();
  }
  auto body = info[3].As<Napi::Uint8Array>();
  if (body.ByteLength() > kMaxDatagram - kHeaderSize) {
    ThrowCode(env, "ERR_HUBLESS_DATAGRAM_TOO_LARGE", "control body larger than one datagram");
    return env.Undefined();
  }
  sockaddr_storage to;
  socklen_t to_len;
  if (!ResolvePeer(env, info[4], info[5], &to, &to_len)) return env.Undefined();
  uint8_t pkt[kMaxDatagram];
  const double counter = info[2].As<Napi::Number>().DoubleValue();
  FrameHeader h{static_cast<uint8_t>(type), static_cast<uint16_t>(body.ByteLength()),
                info[1].As<Napi::Number>().Uint32Value(),
                counter > 0 ? static_cast<uint64_t>(counter) : 0};
  WriteFrame(pkt, h);
  memcpy(pkt + kHeaderSize, body.Data(), body.ByteLength());
  const size_t size = kHeaderSize + body.ByteLength();
  const bool sent = pending_.empty() && SendOne(pkt, size, 0, to, to_len) == SendResult::kSent;
  if (!sent) Enqueue(pkt, size, 0, to, to_len);
  if (!pending_.empty()) UpdatePoll();
  return Napi::Boolean::New(env, sent);
}

Napi::Value UdpSocket::SetRef(const Napi::CallbackInfo& info) {
  refed_ = info[0].ToBoolean().Value();
  if (poll_ != nullptr && !closed_) {
    if (refed_) uv_ref(reinterpret_cast<uv_handle_t*>(poll_));
    else uv_unref(reinterpret_cast<uv_handle_t*>(poll_));
  }
  return info.Env().Undefined();
}

Napi::Value UdpSocket::Close(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (closed_) return env.Undefined();
  closed_ = true;
  if (streams_ != nullptr) {
    StreamEngine* e = streams_;
    streams_ = nullptr;
    e->OnSocketClosing();
  }
  pending_.clear();
  pending_bytes_ = 0;
  stats_[kStPendingBytes] = 0;
  if (poll_ != nullptr) {
    uv_poll_stop(poll_);
    uv_close(reinterpret_cast<uv_handle_t*>(poll_), OnClosed);
  } else if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
  return env.Undefined();
}

void UdpSocket::OnClosed(uv_handle_t* handle) {
  auto* self = static_cast<UdpSocket*>(handle->data);
  delete reinterpret_cast<uv_poll_t*>(handle);
  self->poll_ = nullptr;
  ::close(self->fd_);
  self->fd_ = -1;
  self->Unref();  // from here the GC may collect the socket
}

void UdpSocket::UpdatePoll() {
  if (poll_ == nullptr || closed_) return;
  const int events = UV_READABLE | (pending_.empty() ? 0 : UV_WRITABLE);
  if (events == poll_events_) return;
  poll_events_ = events;
  uv_poll_start(poll_, events, OnPoll);
}

void UdpSocket::OnPoll(uv_poll_t* handle, int status, int events) {
  auto* self = static_cast<UdpSocket*>(handle->data);
  if (self->closed_) return;
  if (status < 0) return;  // transient poll error; the next event retries
  if (events & UV_WRITABLE) self->OnWritable();
  if (!self->closed_ && (events & UV_READABLE)) self->OnReadable();
}

void UdpSocket::OnWritable() {
  if (!DrainPending()) return;
  UpdatePoll();
  if (streams_ != nullptr) streams_->OnSendUnblocked();
  if (closed_) return;
  Napi::Env env = Env();
  Napi::HandleScope scope(env);
  on_drain_.MakeCallback(Value(), {}, *async_);
  if (env.IsExceptionPending()) {
    Napi::Error e = env.GetAndClearPendingException();
    napi_fatal_exception(env, e.Value());
  }
}

void UdpSocket::OnReadable() {
  const int entries = static_cast<int>(rx_msgs_.size());
  uint32_t budget = kRecvDatagramsPerPoll;
  while (budget > 0 && !closed_) {
    // The kernel writes back only the lengths and flags of the entries it filled: reset those
    // (one datagram per wake-up is the latency-bound case; all 64 were reset every time).
    for (int i = 0; i < rx_touched_; i++) {
      msghdr& m = rx_msgs_[i].msg_hdr;
      m.msg_namelen = sizeof(sockaddr_storage);
      m.msg_controllen = gro_ ? kCmsgSize : 0;
      m.msg_flags = 0;
    }
    int n = recvmmsg(fd_, rx_msgs_.data(), entries, MSG_DONTWAIT, nullptr);
    stats_[kStRxSyscalls]++;
    rx_touched_ = n > 0 ? n : 0;
    if (n <= 0) break;
    budget = static_cast<uint32_t>(n) >= budget ? 0 : budget - static_cast<uint32_t>(n);
    for (int i = 0; i < n && !closed_; i++) {
      const msghdr& m = rx_msgs_[i].msg_hdr;
      const uint8_t* p = rx_buf_.data() + i * rx_entry_size_;
      const size_t len = rx_msgs_[i].msg_len;
      size_t seg = len;
      if (gro_) {
        for (cmsghdr* c = CMSG_FIRSTHDR(&m); c != nullptr; c = CMSG_NXTHDR(const_cast<msghdr*>(&m), c)) {
          if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO) {
            int gso_size;
            memcpy(&gso_size, CMSG_DATA(c), sizeof gso_size);
            if (gso_size > 0) seg = static_cast<size_t>(gso_size);
          }
        }
      }
      if (len == 0) {
        ProcessDatagram(p, 0, rx_addr_[i]);  // counted as too short like any other runt
        continue;
      }
      for (size_t off = 0; off < len && !closed_; off += seg) {
        ProcessDatagram(p + off, std::min(seg, len - off), rx_addr_[i]);
      }
    }
    if (streams_ != nullptr && !closed_) streams_->OnRecvBatchEnd();
    if (n < entries) break;
  }
  if (!closed_) Flush();
  if (!closed_ && streams_ != nullptr) streams_->OnReadableDone();
}

// The session a sealed packet is for, if it has keys and the counter may still be fresh; counts
// the drop otherwise. Runs before any decryption work.
Session* UdpSocket::OpenableSession(const FrameHeader& h) {
  Session* s = sessions_.Find(h.receiver);
  if (s == nullptr) {
    stats_[kStDropUnknownSession]++;
    return nullptr;
  }
  if (!s->installed) {
    stats_[kStDropNoKey]++;
    return nullptr;
  }
  switch (s->window.Check(h.counter)) {
    case ReplayWindow::Verdict::kTooOld:
      stats_[kStDropTooOld]++;
      s->stats[kSsTooOld]++;
      return nullptr;
    case ReplayWindow::Verdict::kDuplicate:
      stats_[kStDropReplay]++;
      s->stats[kSsReplays]++;
      return nullptr;
    case ReplayWindow::Verdict::kFresh:
      break;
  }
  return s;
}

void UdpSocket::ProcessDatagram(const uint8_t* p, size_t n, const sockaddr_storage& from) {
  stats_[kStRxDatagrams]++;
  stats_[kStRxBytes] += static_cast<double>(n);
  FrameHeader h;
  FrameError e = ParseFrame(p, n, &h);
  if (e != FrameError::kOk) {
    if (e == FrameError::kNotHubless && IsStun(p, n)) {
      if (n > kMaxDatagram) {
        stats_[kStDropControlSize]++;
        return;
      }
      stats_[kStRxStun]++;
      PushControl(0, 0, 0, p, n, from);
      return;
    }
    ToStat(e, stats_);
    return;
  }
  if (!IsSealedType(h.type)) {
    if (!ControlBodySizeOk(h.type, h.length)) {
      stats_[kStDropControlSize]++;
      return;
    }
    stats_[kStRxControl]++;
    PushControl(h.type, h.receiver, h.counter, p + kHeaderSize, h.length, from);
    return;
  }
  if (h.type == static_cast<uint8_t>(PacketType::kStream)) {
    ProcessStreamPacket(p, n, h);
    return;
  }
  // Make room first: Flush() runs JS, which may remove sessions, so look the session up after.
  const size_t plain = h.length - kTagSize;
  if (slab_used_ + plain > slab_cap_ || data_count_ == kMaxDataRecords) {
    Flush();
    if (closed_) return;
  }
  Session* s = OpenableSession(h);
  if (s == nullptr) return;
  uint8_t* out = slab_ + slab_used_;
  if (!s->rx.Open(out, p + kHeaderSize, h.length, p, kHeaderSize, h.counter)) {
    stats_[kStDropAuth]++;
    s->stats[kSsAuthFailures]++;
    return;
  }
  s->window.Accept(h.counter);
  const size_t payload = plain - kPortsSize;
  s->stats[kSsRxPackets]++;
  s->stats[kSsRxBytes] += payload;
  uint32_t* r = meta_ + data_count_ * kDataRecordWords;
  r[0] = s->local_index;
  r[1] = static_cast<uint32_t>(LoadBE16(out)) << 16 | LoadBE16(out + 2);
  r[2] = static_cast<uint32_t>(slab_used_ + kPortsSize);
  r[3] = static_cast<uint32_t>(payload);
  data_count_++;
  slab_used_ += plain;
}

void UdpSocket::PushControl(uint8_t type, uint32_t receiver, uint64_t counter, const uint8_t* body,
                            size_t len, const sockaddr_storage& from) {
  if (slab_used_ + len > slab_cap_ || ctrl_count_ == kMaxCtrlRecords) {
    Flush();
    if (closed_) return;
  }
  memcpy(slab_ + slab_used_, body, len);
  uint32_t* r = meta_ + kMaxDataRecords * kDataRecordWords + ctrl_count_ * kCtrlRecordWords;
  r[0] = type;
  r[1] = receiver;
  r[2] = static_cast<uint32_t>(counter);
  r[3] = static_cast<uint32_t>(counter >> 32);
  r[4] = static_cast<uint32_t>(slab_used_);
  r[5] = static_cast<uint32_t>(len);
  SockaddrToWords(from, r + 6);
  r[11] = 0;
  ctrl_count_++;
  slab_used_ += len;
}

void UdpSocket::Flush() {
  if (data_count_ == 0 && ctrl_count_ == 0) return;
  if (in_batch_) return;  // a re-entrant call from JS inside the callback: the outer one flushes
  Napi::Env env = Env();
  Napi::HandleScope scope(env);
  const uint32_t d = data_count_, c = ctrl_count_;
  stats_[kStBatches]++;
  in_batch_ = true;
  on_batch_.MakeCallback(Value(), {Napi::Number::New(env, d), Napi::Number::New(env, c)}, *async_);
  in_batch_ = false;
  data_count_ = 0;
  ctrl_count_ = 0;
  slab_used_ = 0;
  if (env.IsExceptionPending()) {
    Napi::Error e = env.GetAndClearPendingException();
    napi_fatal_exception(env, e.Value());
  }
}

// Stream packets (type 0x11) open into a stack buffer and go to the engine; the replay window
// and authentication rules are the datagram's, so the engine only ever sees authentic, fresh
// packet numbers.
void UdpSocket::ProcessStreamPacket(const uint8_t* p, size_t n, const FrameHeader& h) {
  if (streams_ == nullptr || n > kMaxDatagram) {
    stats_[kStDropStream]++;
    return;
  }
  Session* s = OpenableSession(h);
  if (s == nullptr) return;
  uint8_t plain[kMaxDatagram];
  if (!s->rx.Open(plain, p + kHeaderSize, h.length, p, kHeaderSize, h.counter)) {
    stats_[kStDropAuth]++;
    s->stats[kSsAuthFailures]++;
    return;
  }
  s->window.Accept(h.counter);
  const size_t len = h.length - kTagSize;
  s->stats[kSsRxPackets]++;
  s->stats[kSsRxBytes] += len;
  streams_->OnPacket(s, h.counter, plain, len);
}

bool UdpSocket::AttachStreams(StreamEngine* engine) {
  if (engine == nullptr) {
    streams_ = nullptr;
    return true;
  }
  if (closed_ || fd_ < 0 || streams_ != nullptr) return false;
  streams_ = engine;
  return true;
}

uint8_t* UdpSocket::StreamPacketBegin(Session* s) {
  if (tx_used_ + kMaxDatagram > tx_buf_.size()) FlushTx(s->peer, s->peer_len);
  return tx_buf_.data() + tx_used_ + kHeaderSize;
}

void UdpSocket::StreamPacketCommit(Session* s, size_t plain_len) {
  uint8_t* p = tx_buf_.data() + tx_used_;
  const size_t wire = kHeaderSize + plain_len + kTagSize;
  FrameHeader h{static_cast<uint8_t>(PacketType::kStream), static_cast<uint16_t>(plain_len + kTagSize),
                s->remote_index, s->tx_counter};
  WriteFrame(p, h);
  s->tx.Seal(p + kHeaderSize, p + kHeaderSize, plain_len, p, kHeaderSize, s->tx_counter);
  s->tx_counter++;
  s->stats[kSsTxPackets]++;
  s->stats[kSsTxBytes] += plain_len;
  if (faults_.active()) {
    const uint64_t now = NowUs();
    switch (faults_.Next()) {
      case FaultInjector::Action::kDrop:
        return;
      case FaultInjector::Action::kHold:  // reordered: arrives 1-2 ms (plus any delay) later
        faults_.Hold(p, wire, now + faults_.delay_us() + 1000, s->peer, s->peer_len);
        return;
      case FaultInjector::Action::kDuplicate:
        if (faults_.delay_us() > 0) {
          faults_.Hold(p, wire, now + faults_.delay_us(), s->peer, s->peer_len);
        } else {
          uint8_t copy[kMaxDatagram];
          memcpy(copy, p, wire);
          tx_used_ += wire;
          tx_sizes_.push_back(static_cast<uint16_t>(wire));
          if (tx_used_ + wire > tx_buf_.size()) FlushTx(s->peer, s->peer_len);
          p = tx_buf_.data() + tx_used_;
          memcpy(p, copy, wire);
        }
        break;
      case FaultInjector::Action::kSend:
        break;
    }
    if (faults_.delay_us() > 0) {
      faults_.Hold(p, wire, now + faults_.delay_us(), s->peer, s->peer_len);
      return;
    }
  }
  tx_used_ += wire;
  tx_sizes_.push_back(static_cast<uint16_t>(wire));
}

void UdpSocket::FaultsRelease(uint64_t now_us) {
  auto& q = faults_.held();
  while (!q.empty() && q.front().release_us <= now_us && !closed_) {
    FaultInjector::Held& h = q.front();
    const size_t sent = pending_.empty() ? SendSegments(h.bytes.data(), h.bytes.size(), 0, h.to, h.to_len) : 0;
    if (sent < h.bytes.size()) Enqueue(h.bytes.data(), h.bytes.size(), 0, h.to, h.to_len);
    q.pop_front();
  }
  if (!pending_.empty()) UpdatePoll();
}

}  // namespace hubless
