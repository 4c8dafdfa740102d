// Frame codec for the plaintext of sealed stream packets (type 0x11): a packet is a sequence of
// frames, each starting with a one-byte frame type. docs/PROTOCOL.md ("Streams") draws each one.
// Every decoder checks lengths against the bytes left and returns false on anything malformed;
// the engine then drops the rest of the packet and counts it.
#pragma once
#include <cstddef>
#include <cstdint>

#include "frame.h"

namespace hubless {

// Largest plaintext of one stream packet: 1232 - 16 (header) - 16 (tag).
constexpr size_t kStreamPacketPlain = kMaxDatagram - kHeaderSize - kTagSize;

enum class StreamFrame : uint8_t {
  kPadding = 0x00,
  kPing = 0x01,
  kAck = 0x02,
  kStream = 0x03,
  kMaxData = 0x04,
  kMaxStreamData = 0x05,
  kResetStream = 0x06,
  kStopSending = 0x07,
  kDataBlocked = 0x08,
  kStreamDataBlocked = 0x09,
};

constexpr uint8_t kStreamFlagFin = 0x01;
constexpr uint8_t kStreamFlagOpen = 0x02;
constexpr size_t kStreamFrameHeader = 16;     // type, flags, id, offset, length
constexpr size_t kStreamFrameOpenExtra = 4;   // dst port, src port
constexpr size_t kAckMaxRanges = 32;          // beyond the first range
constexpr size_t kAckFrameFixed = 18;         // type, largest, delay, count, first range
constexpr size_t kAckRangeSize = 8;           // gap, length
constexpr uint64_t kMaxStreamOffset = 1ull << 62;

struct AckFrame {
  uint64_t largest;
  uint32_t delay_us;
  uint8_t count;        // additional ranges
  uint32_t first;       // packets below `largest` also acknowledged
  const uint8_t* rest;  // count * (gap u32, length u32)
};

struct StreamDataFrame {
  uint8_t flags;
  uint32_t id;
  uint64_t offset;
  uint16_t length;
  uint16_t dst_port, src_port;  // only with kStreamFlagOpen
  const uint8_t* data;
};

// Decoded frame; which fields are meaningful depends on type.
struct DecodedFrame {
  StreamFrame type;
  AckFrame ack;
  StreamDataFrame stream;
  uint32_t id;
  uint32_t code;
  uint64_t value;  // MAX_DATA / MAX_STREAM_DATA max, RESET final size, *_BLOCKED limit
};

// Decodes the frame at p[0..n). On success sets *used to its size and returns true.
bool DecodeStreamFrame(const uint8_t* p, size_t n, DecodedFrame* f, size_t* used);

// Encoders return bytes written; the caller guarantees room.
size_t EncodeStreamHeader(uint8_t* p, uint8_t flags, uint32_t id, uint64_t offset, uint16_t length,
                          uint16_t dst, uint16_t src);
size_t EncodeMaxData(uint8_t* p, uint64_t max);
size_t EncodeMaxStreamData(uint8_t* p, uint32_t id, uint64_t max);
size_t EncodeResetStream(uint8_t* p, uint32_t id, uint32_t code, uint64_t final_size);
size_t EncodeStopSending(uint8_t* p, uint32_t id, uint32_t code);
size_t EncodeDataBlocked(uint8_t* p, uint64_t limit);
size_t EncodeStreamDataBlocked(uint8_t* p, uint32_t id, uint64_t limit);
inline size_t EncodePing(uint8_t* p) {
  p[0] = static_cast<uint8_t>(StreamFrame::kPing);
  return 1;
}

}  // namespace hubless
