// Socket address conversions between text, sockaddr and the word form used in batch metadata.
#pragma once
#include <napi.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>

namespace hubless {

// Parses a numeric host for a socket of `family`; IPv4 hosts become v4-mapped on IPv6 sockets.
bool ParseSockaddr(const std::string& host, uint16_t port, int family, sockaddr_storage* out,
                   socklen_t* len);
// { address, port, family: 4 | 6 }
Napi::Object SockaddrToObject(Napi::Env env, const sockaddr_storage& ss);
// words[0] = family (4|6) << 16 | port; words[1..4] = address bytes (IPv4 in words[1]).
void SockaddrToWords(const sockaddr_storage& ss, uint32_t* words);

}  // namespace hubless
