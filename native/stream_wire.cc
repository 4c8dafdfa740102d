#include "stream_wire.h"

#include <cstring>

namespace hubless {

bool DecodeStreamFrame(const uint8_t* p, size_t n, DecodedFrame* f, size_t* used) {
  if (n == 0) return false;
  f->type = static_cast<StreamFrame>(p[0]);
  switch (f->type) {
    case StreamFrame::kPadding:
    case StreamFrame::kPing:
      *used = 1;
      return true;
    case StreamFrame::kAck: {
      if (n < kAckFrameFixed) return false;
      f->ack.largest = LoadBE64(p + 1);
      f->ack.delay_us = LoadBE32(p + 9);
      f->ack.count = p[13];
      f->ack.first = LoadBE32(p + 14);
      if (f->ack.count > kAckMaxRanges) return false;
      const size_t size = kAckFrameFixed + f->ack.count * kAckRangeSize;
      if (n < size) return false;
      if (f->ack.first > f->ack.largest) return false;
      f->ack.rest = p + kAckFrameFixed;
      *used = size;
      return true;
    }
    case StreamFrame::kStream: {
      if (n < kStreamFrameHeader) return false;
      StreamDataFrame& s = f->stream;
      s.flags = p[1];
      if (s.flags & ~(kStreamFlagFin | kStreamFlagOpen)) return false;
      s.id = LoadBE32(p + 2);
      s.offset = LoadBE64(p + 6);
      s.length = LoadBE16(p + 14);
      size_t size = kStreamFrameHeader;
      s.dst_port = s.src_port = 0;
      if (s.flags & kStreamFlagOpen) {
        if (n < size + kStreamFrameOpenExtra) return false;
        s.dst_port = LoadBE16(p + size);
        s.src_port = LoadBE16(p + size + 2);
        size += kStreamFrameOpenExtra;
      }
      if (n - size < s.length) return false;
      if (s.offset > kMaxStreamOffset || s.offset + s.length > kMaxStreamOffset) return false;
      s.data = p + size;
      *used = size + s.length;
      return true;
    }
    case StreamFrame::kMaxData:
    case StreamFrame::kDataBlocked:
      if (n < 9) return false;
      f->value = LoadBE64(p + 1);
      *used = 9;
      return true;
    case StreamFrame::kMaxStreamData:
    case StreamFrame::kStreamDataBlocked:
      if (n < 13) return false;
      f->id = LoadBE32(p + 1);
      f->value = LoadBE64(p + 5);
      *used = 13;
      return true;
    case StreamFrame::kResetStream:
      if (n < 17) return false;
      f->id = LoadBE32(p + 1);
      f->code = LoadBE32(p + 5);
      f->value = LoadBE64(p + 9);
      if (f->value > kMaxStreamOffset) return false;
      *used = 17;
      return true;
    case StreamFrame::kStopSending:
      if (n < 9) return false;
      f->id = LoadBE32(p + 1);
      f->code = LoadBE32(p + 5);
      *used = 9;
      return true;
  }
  return false;  // unknown frame type
}

size_t EncodeStreamHeader(uint8_t* p, uint8_t flags, uint32_t id, uint64_t offset, uint16_t length,
                          uint16_t dst, uint16_t src) {
  p[0] = static_cast<uint8_t>(StreamFrame::kStream);
  p[1] = flags;
  StoreBE32(p + 2, id);
  StoreBE64(p + 6, offset);
  StoreBE16(p + 14, length);
  if (flags & kStreamFlagOpen) {
    StoreBE16(p + 16, dst);
    StoreBE16(p + 18, src);
    return kStreamFrameHeader + kStreamFrameOpenExtra;
  }
  return kStreamFrameHeader;
}

size_t EncodeMaxData(uint8_t* p, uint64_t max) {
  p[0] = static_cast<uint8_t>(StreamFrame::kMaxData);
  StoreBE64(p + 1, max);
  return 9;
}

size_t EncodeMaxStreamData(uint8_t* p, uint32_t id, uint64_t max) {
  p[0] = static_cast<uint8_t>(StreamFrame::kMaxStreamData);
  StoreBE32(p + 1, id);
  StoreBE64(p + 5, max);
  return 13;
}

size_t EncodeResetStream(uint8_t* p, uint32_t id, uint32_t code, uint64_t final_size) {
  p[0] = static_cast<uint8_t>(StreamFrame::kResetStream);
  StoreBE32(p + 1, id);
  StoreBE32(p + 5, code);
  StoreBE64(p + 9, final_size);
  return 17;
}

size_t EncodeStopSending(uint8_t* p, uint32_t id, uint32_t code) {
  p[0] = static_cast<uint8_t>(StreamFrame::kStopSending);
  StoreBE32(p + 1, id);
  StoreBE32(p + 5, code);
  return 9;
}

size_t EncodeDataBlocked(uint8_t* p, uint64_t limit) {
  p[0] = static_cast<uint8_t>(StreamFrame::kDataBlocked);
  StoreBE64(p + 1, limit);
  return 9;
}

size_t EncodeStreamDataBlocked(uint8_t* p, uint32_t id, uint64_t limit) {
  p[0] = static_cast<uint8_t>(StreamFrame::kStreamDataBlocked);
  StoreBE32(p + 1, id);
  StoreBE64(p + 5, limit);
  return 13;
}

}  // namespace hubless
