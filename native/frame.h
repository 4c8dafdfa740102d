// The hubless packet header: one codec for every packet kind (docs/PROTOCOL.md, "Header").
//
//   0       1       2               4                               8
//   +-------+-------+---------------+-------------------------------+
//   | magic | type  | length (BE)   | receiver index (BE)           |
//   +-------+-------+---------------+-------------------------------+
//   | counter (64-bit BE)                                           |
//   +---------------------------------------------------------------+
//
// magic = 0b11 << 6 | version. The top two bits 11 never start a STUN message (00), so STUN
// shares the socket and is told apart by its first byte and magic cookie.
#pragma once
#include <cstddef>
#include <cstdint>

namespace hubless {

constexpr uint8_t kVersion = 1;
constexpr uint8_t kMagicMask = 0xC0;
constexpr uint8_t kMagic = 0xC0 | kVersion;
constexpr size_t kHeaderSize = 16;
constexpr size_t kTagSize = 16;
// The largest UDP payload that crosses a 1280-byte path over IPv6 (1280 - 40 - 8).
constexpr size_t kMaxDatagram = 1232;
// Sealed datagram plaintext starts with destination and source virtual ports.
constexpr size_t kPortsSize = 4;
constexpr size_t kMaxDatagramPayload = kMaxDatagram - kHeaderSize - kTagSize - kPortsSize;

enum class PacketType : uint8_t {
  kHandshakeInit = 0x01,
  kHandshakeResponse = 0x02,
  kCookieReply = 0x03,
  kDatagram = 0x10,  // sealed: ports + payload
  kStream = 0x11,    // sealed: stream frames (native/stream_wire.h)
};

// Whether a type's body is AEAD-sealed under a session key (and so needs room for a tag).
bool IsSealedType(uint8_t type);
// Whether a type is one this version knows.
bool IsKnownType(uint8_t type);

// Body sizes a handshake-class type can have (docs/PROTOCOL.md, "Handshake"): the fixed layout,
// plus room for payload fields of later versions. Others never reach JS.
struct BodyBounds {
  uint16_t min, max;
};
constexpr BodyBounds kInitiationBody{188, 388};
constexpr BodyBounds kResponseBody{96, 340};
constexpr BodyBounds kCookieReplyBody{56, 56};
bool ControlBodySizeOk(uint8_t type, size_t length);

struct FrameHeader {
  uint8_t type;
  uint16_t length;  // bytes after the header
  uint32_t receiver;
  uint64_t counter;
};

enum class FrameError : int {
  kOk = 0,
  kShort,         // fewer bytes than a header
  kNotHubless,    // top bits are not 11
  kBadVersion,    // hubless, but a version this build does not speak
  kBadLength,     // length field disagrees with the datagram size
  kUnknownType,
  kTruncatedTag,  // sealed type whose body cannot hold a tag (and, for datagrams, the ports)
};

const char* FrameErrorCode(FrameError e);

// Validates and decodes a header in place; `size` is the whole datagram.
FrameError ParseFrame(const uint8_t* p, size_t size, FrameHeader* out);
void WriteFrame(uint8_t* p, const FrameHeader& h);

inline uint16_t LoadBE16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
inline uint32_t LoadBE32(const uint8_t* p) {
  uint32_t v;
  __builtin_memcpy(&v, p, 4);
  return __builtin_bswap32(v);
}
inline uint64_t LoadBE64(const uint8_t* p) {
  uint64_t v;
  __builtin_memcpy(&v, p, 8);
  return __builtin_bswap64(v);
}
inline void StoreBE16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
inline void StoreBE32(uint8_t* p, uint32_t v) {
  v = __builtin_bswap32(v);
  __builtin_memcpy(p, &v, 4);
}
inline void StoreBE64(uint8_t* p, uint64_t v) {
  v = __builtin_bswap64(v);
  __builtin_memcpy(p, &v, 8);
}

}  // namespace hubless
