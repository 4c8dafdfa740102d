#include "frame.h"

namespace hubless {

bool IsSealedType(uint8_t type) {
  return type == static_cast<uint8_t>(PacketType::kDatagram) ||
         type == static_cast<uint8_t>(PacketType::kStream);
}

bool IsKnownType(uint8_t type) {
  switch (static_cast<PacketType>(type)) {
    case PacketType::kHandshakeInit:
    case PacketType::kHandshakeResponse:
    case PacketType::kCookieReply:
    case PacketType::kDatagram:
    case PacketType::kStream:
      return true;
  }
  return false;
}

bool ControlBodySizeOk(uint8_t type, size_t length) {
  BodyBounds b;
  switch (static_cast<PacketType>(type)) {
    case PacketType::kHandshakeInit: b = kInitiationBody; break;
    case PacketType::kHandshakeResponse: b = kResponseBody; break;
    case PacketType::kCookieReply: b = kCookieReplyBody; break;
    default: return false;
  }
  return length >= b.min && length <= b.max;
}

const char* FrameErrorCode(FrameError e) {
  switch (e) {
    case FrameError::kOk: return "OK";
    case FrameError::kShort: return "ERR_HUBLESS_FRAME_SHORT";
    case FrameError::kNotHubless: return "ERR_HUBLESS_FRAME_NOT_HUBLESS";
    case FrameError::kBadVersion: return "ERR_HUBLESS_FRAME_VERSION";
    case FrameError::kBadLength: return "ERR_HUBLESS_FRAME_LENGTH";
    case FrameError::kUnknownType: return "ERR_HUBLESS_FRAME_TYPE";
    case FrameError::kTruncatedTag: return "ERR_HUBLESS_FRAME_TRUNCATED";
  }
  return "ERR_HUBLESS_FRAME";
}

FrameError ParseFrame(const uint8_t* p, size_t size, FrameHeader* out) {
  if (size < kHeaderSize) return FrameError::kShort;
  if ((p[0] & kMagicMask) != kMagicMask) return FrameError::kNotHubless;
  if (p[0] != kMagic) return FrameError::kBadVersion;
  const uint16_t length = LoadBE16(p + 2);
  if (size > kHeaderSize + 0xFFFF || length != size - kHeaderSize) return FrameError::kBadLength;
  const uint8_t type = p[1];
  if (!IsKnownType(type)) return FrameError::kUnknownType;
  if (IsSealedType(type)) {
    const size_t min = kTagSize + (type == static_cast<uint8_t>(PacketType::kDatagram) ? kPortsSize : 0);
    if (length < min) return FrameError::kTruncatedTag;
  }
  out->type = type;
  out->length = length;
  out->receiver = LoadBE32(p + 4);
  out->counter = LoadBE64(p + 8);
  return FrameError::kOk;
}

void WriteFrame(uint8_t* p, const FrameHeader& h) {
  p[0] = kMagic;
  p[1] = h.type;
  StoreBE16(p + 2, h.length);
  StoreBE32(p + 4, h.receiver);
  StoreBE64(p + 8, h.counter);
}

}  // namespace hubless
