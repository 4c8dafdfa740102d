// Socket-wide counters, written by native code into a Float64Array that JS owns and reads
// without a call (integers stay exact up to 2^53). Names are exported to JS in this order.
#pragma once
#include <cstdint>

namespace hubless {

enum SocketStat : uint32_t {
  kStRxDatagrams,       // UDP datagrams (GRO segments counted one by one)
  kStRxBytes,
  kStRxSyscalls,
  kStTxDatagrams,
  kStTxBytes,
  kStTxSyscalls,
  kStTxGsoSends,        // sends that carried more than one segment
  kStTxEagain,
  kStTxErrors,
  kStBatches,           // calls into JS with received data
  kStRxControl,         // handshake-type packets handed to JS
  kStRxStun,
  kStDropShort,
  kStDropNotHubless,
  kStDropVersion,
  kStDropLength,
  kStDropType,
  kStDropTruncated,
  kStDropUnknownSession,
  kStDropNoKey,
  kStDropAuth,
  kStDropReplay,
  kStDropTooOld,
  kStDropControlSize,   // handshake-type packet of a size its type never has (or STUN > 1232 B)
  kStDropQueueFull,     // send queue over its bound while the kernel pushed back
  kStPendingBytes,      // gauge: ciphertext waiting for the socket to become writable
  kStDropStream,        // stream packet (0x11) with no stream engine attached, or oversized
  kStCount
};

extern const char* const kSocketStatNames[kStCount];

}  // namespace hubless
