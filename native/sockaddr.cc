#include "sockaddr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

namespace hubless {

bool ParseSockaddr(const std::string& host, uint16_t port, int family, sockaddr_storage* out,
                   socklen_t* len) {
  memset(out, 0, sizeof *out);
  in_addr v4;
  in6_addr v6;
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) {
    if (family == AF_INET) {
      auto* a = reinterpret_cast<sockaddr_in*>(out);
      a->sin_family = AF_INET;
      a->sin_port = htons(port);
      a->sin_addr = v4;
      *len = sizeof(sockaddr_in);
      return true;
    }
    // v4-mapped, for a dual-stack IPv6 socket
    auto* a = reinterpret_cast<sockaddr_in6*>(out);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(port);
    a->sin6_addr.s6_addr[10] = 0xff;
    a->sin6_addr.s6_addr[11] = 0xff;
    memcpy(&a->sin6_addr.s6_addr[12], &v4, 4);
    *len = sizeof(sockaddr_in6);
    return true;
  }
  if (family == AF_INET6 && inet_pton(AF_INET6, host.c_str(), &v6) == 1) {
    auto* a = reinterpret_cast<sockaddr_in6*>(out);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(port);
    a->sin6_addr = v6;
    *len = sizeof(sockaddr_in6);
    return true;
  }
  return false;
}

Napi::Object SockaddrToObject(Napi::Env env, const sockaddr_storage& ss) {
  Napi::Object o = Napi::Object::New(env);
  char buf[INET6_ADDRSTRLEN] = "";
  if (ss.ss_family == AF_INET) {
    auto* a = reinterpret_cast<const sockaddr_in*>(&ss);
    inet_ntop(AF_INET, &a->sin_addr, buf, sizeof buf);
    o.Set("port", Napi::Number::New(env, ntohs(a->sin_port)));
    o.Set("family", Napi::Number::New(env, 4));
  } else {
    auto* a = reinterpret_cast<const sockaddr_in6*>(&ss);
    inet_ntop(AF_INET6, &a->sin6_addr, buf, sizeof buf);
    o.Set("port", Napi::Number::New(env, ntohs(a->sin6_port)));
    o.Set("family", Napi::Number::New(env, 6));
  }
  o.Set("address", Napi::String::New(env, buf));
  return o;
}

void SockaddrToWords(const sockaddr_storage& ss, uint32_t* words) {
  memset(words + 1, 0, 16);
  if (ss.ss_family == AF_INET) {
    auto* a = reinterpret_cast<const sockaddr_in*>(&ss);
    words[0] = 4u << 16 | ntohs(a->sin_port);
    memcpy(words + 1, &a->sin_addr, 4);
  } else {
    auto* a = reinterpret_cast<const sockaddr_in6*>(&ss);
    words[0] = 6u << 16 | ntohs(a->sin6_port);
    memcpy(words + 1, &a->sin6_addr, 16);
  }
}

}  // namespace hubless
