// Registers the native objects and the few free functions (frame codec and AEAD, exposed for
// tests, vectors and benchmarks). Everything else lives in its own file pair.
#include <napi.h>

#include <chrono>
#include <vector>

#include "aead.h"
#include "errors.h"
#include "frame.h"
#include "session.h"
#include "stats.h"
#include "stream_engine.h"
#include "udp_socket.h"

namespace hubless {
namespace {

bool KeyArg(Napi::Env env, const Napi::Value& v, const uint8_t** key) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array ||
      v.As<Napi::Uint8Array>().ByteLength() != kKeySize) {
    ThrowCode(env, "ERR_HUBLESS_INVALID_ARGUMENT", "key must be a 32-byte Uint8Array");
    return false;
  }
  *key = v.As<Napi::Uint8Array>().Data();
  return true;
}

bool AlgorithmArg(Napi::Env env, const Napi::Value& v, AeadAlgorithm* a) {
  const uint32_t n = v.IsNumber() ? v.As<Napi::Number>().Uint32Value() : 0;
  if (n != 1 && n != 2) {
    ThrowCode(env, "ERR_HUBLESS_INVALID_ARGUMENT", "algorithm must be 1 (AES-256-GCM) or 2 (ChaCha20-Poly1305)");
    return false;
  }
  *a = static_cast<AeadAlgorithm>(n);
  if (*a == AeadAlgorithm::kAes256Gcm && !AesGcmAvailable()) {
    ThrowCode(env, "ERR_HUBLESS_AEAD_UNAVAILABLE", "AES-256-GCM is not available on this CPU");
    return false;
  }
  return true;
}

bool BytesArg(Napi::Env env, const Napi::Value& v, Napi::Uint8Array* out) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    ThrowCode(env, "ERR_HUBLESS_INVALID_ARGUMENT", "expected a Uint8Array");
    return false;
  }
  *out = v.As<Napi::Uint8Array>();
  return true;
}

// Counter (number) or explicit 12-byte nonce (Uint8Array).
bool NonceArg(Napi::Env env, const Napi::Value& v, const AeadKey& k, uint8_t nonce[12]) {
  if (v.IsNumber()) {
    const double d = v.As<Napi::Number>().DoubleValue();
    if (!(d >= 0) || d > 9007199254740991.0) {
      ThrowCode(env, "ERR_HUBLESS_INVALID_ARGUMENT", "counter must be a safe non-negative integer");
      return false;
    }
    k.Nonce(nonce, static_cast<uint64_t>(d));
    return true;
  }
  if (v.IsTypedArray() && v.As<Napi::TypedArray>().TypedArrayType() == napi_uint8_array &&
      v.As<Napi::Uint8Array>().ByteLength() == 12) {
    memcpy(nonce, v.As<Napi::Uint8Array>().Data(), 12);
    return true;
  }
  ThrowCode(env, "ERR_HUBLESS_INVALID_ARGUMENT", "nonce must be a counter or a 12-byte Uint8Array");
  return false;
}

// aeadSeal(algorithm, key, counterOrNonce, ad, plaintext) -> ciphertext ‖ tag
Napi::Value AeadSeal(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  AeadAlgorithm a;
  const uint8_t* key;
  Napi::Uint8Array ad, m;
  if (!AlgorithmArg(env, info[0], &a) || !KeyArg(env, info[1], &key) || !BytesArg(env, info[3], &ad) ||
      !BytesArg(env, info[4], &m)) {
    return env.Undefined();
  }
  auto k = std::make_unique<AeadKey>();
  k->Set(a, key);
  uint8_t nonce[12];
  if (!NonceArg(env, info[2], *k, nonce)) return env.Undefined();
  Napi::Buffer<uint8_t> c = Napi::Buffer<uint8_t>::New(env, m.ByteLength() + kTagSize);
  k->SealNonce(c.Data(), m.Data(), m.ByteLength(), ad.Data(), ad.ByteLength(), nonce);
  k->Wipe();
  return c;
}

// aeadOpen(algorithm, key, counterOrNonce, ad, ciphertext) -> plaintext, or null when it fails to authenticate
Napi::Value AeadOpen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  AeadAlgorithm a;
  const uint8_t* key;
  Napi::Uint8Array ad, c;
  if (!AlgorithmArg(env, info[0], &a) || !KeyArg(env, info[1], &key) || !BytesArg(env, info[3], &ad) ||
      !BytesArg(env, info[4], &c)) {
    return env.Undefined();
  }
  auto k = std::make_unique<AeadKey>();
  k->Set(a, key);
  uint8_t nonce[12];
  if (!NonceArg(env, info[2], *k, nonce)) return env.Undefined();
  if (c.ByteLength() < kTagSize) return env.Null();
  Napi::Buffer<uint8_t> m = Napi::Buffer<uint8_t>::New(env, c.ByteLength() - kTagSize);
  const bool ok = k->OpenNonce(m.Data(), c.Data(), c.ByteLength(), ad.Data(), ad.ByteLength(), nonce);
  k->Wipe();
  return ok ? static_cast<Napi::Value>(m) : env.Null();
}

// aeadThroughput(algorithm, size, totalBytes) -> { sealSeconds, openSeconds }: the AEAD alone,
// in a native loop with a precomputed key state and a 16-byte header as AD, as on the data path.
Napi::Value AeadThroughput(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  AeadAlgorithm a;
  if (!AlgorithmArg(env, info[0], &a)) return env.Undefined();
  const size_t size = info[1].As<Napi::Number>().Uint32Value();
  const double total = info[2].As<Napi::Number>().DoubleValue();
  if (size == 0 || size > (1u << 20) || !(total > 0)) {
    ThrowCode(env, "ERR_HUBLESS_INVALID_ARGUMENT", "size in 1..1 MiB and totalBytes > 0");
    return env.Undefined();
  }
  uint8_t key[kKeySize];
  randombytes_buf(key, sizeof key);
  auto k = std::make_unique<AeadKey>();
  k->Set(a, key);
  std::vector<uint8_t> buf(size + kTagSize), ad(kHeaderSize, 0xC1);
  randombytes_buf(buf.data(), size);
  const uint64_t iters = static_cast<uint64_t>(total / size) + 1;
  std::vector<std::vector<uint8_t>> sealed;
  using Clock = std::chrono::steady_clock;
  auto t0 = Clock::now();
  for (uint64_t i = 0; i < iters; i++) k->Seal(buf.data(), buf.data(), size, ad.data(), ad.size(), i);
  auto t1 = Clock::now();
  // Open the last sealed packet repeatedly: same work per call as a stream of distinct ones.
  std::vector<uint8_t> out(size);
  bool ok = true;
  for (uint64_t i = 0; i < iters; i++) {
    ok &= k->Open(out.data(), buf.data(), size + kTagSize, ad.data(), ad.size(), iters - 1);
  }
  auto t2 = Clock::now();
  k->Wipe();
  if (!ok) {
    ThrowCode(env, "ERR_HUBLESS_INTERNAL", "AEAD self-check failed");
    return env.Undefined();
  }
  Napi::Object o = Napi::Object::New(env);
  o.Set("iterations", Napi::Number::New(env, static_cast<double>(iters)));
  o.Set("sealSeconds", Napi::Number::New(env, std::chrono::duration<double>(t1 - t0).count()));
  o.Set("openSeconds", Napi::Number::New(env, std::chrono::duration<double>(t2 - t1).count()));
  return o;
}

// frameDecode(bytes) -> { version, type, length, receiver, counter: bigint }; throws with the
// drop reason's code for a malformed header.
Napi::Value FrameDecode(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Uint8Array b;
  if (!BytesArg(env, info[0], &b)) return env.Undefined();
  FrameHeader h;
  FrameError e = ParseFrame(b.Data(), b.ByteLength(), &h);
  if (e != FrameError::kOk) {
    ThrowCode(env, FrameErrorCode(e), "malformed hubless frame");
    return env.Undefined();
  }
  Napi::Object o = Napi::Object::New(env);
  o.Set("version", Napi::Number::New(env, kVersion));
  o.Set("type", Napi::Number::New(env, h.type));
  o.Set("length", Napi::Number::New(env, h.length));
  o.Set("receiver", Napi::Number::New(env, h.receiver));
  o.Set("counter", Napi::BigInt::New(env, h.counter));
  return o;
}

// frameEncode(type, receiver, counter: bigint, body) -> header ‖ body
Napi::Value FrameEncode(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Uint8Array body;
  if (!info[0].IsNumber() || !info[1].IsNumber() || !info[2].IsBigInt() || !BytesArg(env, info[3], &body)) {
    if (!env.IsExceptionPending())
      ThrowCode(env, "ERR_HUBLESS_INVALID_ARGUMENT", "frameEncode(type, receiver, counter: bigint, body)");
    return env.Undefined();
  }
  if (body.ByteLength() > 0xFFFF) {
    ThrowCode(env, "ERR_HUBLESS_DATAGRAM_TOO_LARGE", "frame body larger than 65535 bytes");
    return env.Undefined();
  }
  bool lossless;
  FrameHeader h{static_cast<uint8_t>(info[0].As<Napi::Number>().Uint32Value()),
                static_cast<uint16_t>(body.ByteLength()), info[1].As<Napi::Number>().Uint32Value(),
                info[2].As<Napi::BigInt>().Uint64Value(&lossless)};
  Napi::Buffer<uint8_t> out = Napi::Buffer<uint8_t>::New(env, kHeaderSize + body.ByteLength());
  WriteFrame(out.Data(), h);
  memcpy(out.Data() + kHeaderSize, body.Data(), body.ByteLength());
  return out;
}

Napi::Array Names(Napi::Env env, const char* const* names, uint32_t n) {
  Napi::Array a = Napi::Array::New(env, n);
  for (uint32_t i = 0; i < n; i++) a.Set(i, Napi::String::New(env, names[i]));
  return a;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  if (!AeadInit()) {
    ThrowCode(env, "ERR_HUBLESS_SODIUM_INIT", "libsodium failed to initialise");
    return exports;
  }
  exports.Set("UdpSocket", UdpSocket::Init(env));
  exports.Set("StreamEngine", StreamEngine::Init(env));
  exports.Set("aeadSeal", Napi::Function::New(env, AeadSeal));
  exports.Set("aeadOpen", Napi::Function::New(env, AeadOpen));
  exports.Set("aeadThroughput", Napi::Function::New(env, AeadThroughput));
  exports.Set("frameDecode", Napi::Function::New(env, FrameDecode));
  exports.Set("frameEncode", Napi::Function::New(env, FrameEncode));

  Napi::Object c = Napi::Object::New(env);
  c.Set("version", Napi::Number::New(env, kVersion));
  c.Set("headerSize", Napi::Number::New(env, kHeaderSize));
  c.Set("tagSize", Napi::Number::New(env, kTagSize));
  c.Set("maxDatagram", Napi::Number::New(env, kMaxDatagram));
  c.Set("maxDatagramPayload", Napi::Number::New(env, kMaxDatagramPayload));
  c.Set("dataRecordWords", Napi::Number::New(env, kDataRecordWords));
  c.Set("ctrlRecordWords", Napi::Number::New(env, kCtrlRecordWords));
  c.Set("maxDataRecords", Napi::Number::New(env, kMaxDataRecords));
  c.Set("maxCtrlRecords", Napi::Number::New(env, kMaxCtrlRecords));
  c.Set("metaWords", Napi::Number::New(env, kMetaWords));
  c.Set("aesGcmAvailable", Napi::Boolean::New(env, AesGcmAvailable()));
  c.Set("sodiumVersion", Napi::String::New(env, sodium_version_string()));
  Napi::Object types = Napi::Object::New(env);
  types.Set("handshakeInit", Napi::Number::New(env, static_cast<int>(PacketType::kHandshakeInit)));
  types.Set("handshakeResponse", Napi::Number::New(env, static_cast<int>(PacketType::kHandshakeResponse)));
  types.Set("cookieReply", Napi::Number::New(env, static_cast<int>(PacketType::kCookieReply)));
  types.Set("datagram", Napi::Number::New(env, static_cast<int>(PacketType::kDatagram)));
  types.Set("stream", Napi::Number::New(env, static_cast<int>(PacketType::kStream)));
  c.Set("packetTypes", types);
  Napi::Object bounds = Napi::Object::New(env);
  auto pair = [&](const BodyBounds& b) {
    Napi::Array a = Napi::Array::New(env, 2);
    a.Set(0u, Napi::Number::New(env, b.min));
    a.Set(1u, Napi::Number::New(env, b.max));
    return a;
  };
  bounds.Set("handshakeInit", pair(kInitiationBody));
  bounds.Set("handshakeResponse", pair(kResponseBody));
  bounds.Set("cookieReply", pair(kCookieReplyBody));
  c.Set("controlBodyBounds", bounds);
  c.Set("streamEventWords", Napi::Number::New(env, kEventWords));
  c.Set("streamMaxEvents", Napi::Number::New(env, kMaxEvents));
  c.Set("streamStatNames", Names(env, kStreamStatNames, kSxCount));
  c.Set("streamSessionStatNames", Names(env, kConnStatNames, kCsCount));
  c.Set("socketStatNames", Names(env, kSocketStatNames, kStCount));
  c.Set("sessionStatNames", Names(env, kSessionStatNames, kSsCount));
  exports.Set("constants", c);
  return exports;
}

}  // namespace
}  // namespace hubless

static Napi::Object InitHubless(Napi::Env env, Napi::Object exports) { return hubless::Init(env, exports); }

NODE_API_MODULE(hubless, InitHubless)
