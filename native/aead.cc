#include "aead.h"

#include <cstring>

namespace hubless {

namespace {
bool g_aes = false;

inline void NonceBE(uint8_t n[12], uint64_t counter) {
  std::memset(n, 0, 4);
  for (int i = 0; i < 8; i++) n[4 + i] = static_cast<uint8_t>(counter >> (56 - 8 * i));
}
inline void NonceLE(uint8_t n[12], uint64_t counter) {
  std::memset(n, 0, 4);
  std::memcpy(n + 4, &counter, 8);  // x86-64 and aarch64 Linux are little-endian
}
}  // namespace

bool AeadInit() {
  if (sodium_init() < 0) return false;
  g_aes = crypto_aead_aes256gcm_is_available() == 1;
  return true;
}

bool AesGcmAvailable() { return g_aes; }

const char* AeadName(AeadAlgorithm a) {
  return a == AeadAlgorithm::kAes256Gcm ? "aes-256-gcm" : "chacha20-poly1305";
}

bool AeadKey::Set(AeadAlgorithm a, const uint8_t* key) {
  algorithm = a;
  std::memcpy(raw, key, kKeySize);
  if (a == AeadAlgorithm::kAes256Gcm) {
    if (!g_aes) return false;
    crypto_aead_aes256gcm_beforenm(&aes, key);
  }
  return true;
}

void AeadKey::Wipe() {
  sodium_memzero(&aes, sizeof aes);
  sodium_memzero(raw, sizeof raw);
}

void AeadKey::Nonce(uint8_t nonce[12], uint64_t counter) const {
  if (algorithm == AeadAlgorithm::kAes256Gcm) NonceBE(nonce, counter);
  else NonceLE(nonce, counter);
}

void AeadKey::SealNonce(uint8_t* c, const uint8_t* m, size_t mlen, const uint8_t* ad, size_t adlen,
                        const uint8_t nonce[12]) const {
  unsigned long long clen;
  if (algorithm == AeadAlgorithm::kAes256Gcm) {
    crypto_aead_aes256gcm_encrypt_afternm(c, &clen, m, mlen, ad, adlen, nullptr, nonce, &aes);
  } else {
    crypto_aead_chacha20poly1305_ietf_encrypt(c, &clen, m, mlen, ad, adlen, nullptr, nonce, raw);
  }
}

bool AeadKey::OpenNonce(uint8_t* m, const uint8_t* c, size_t clen, const uint8_t* ad, size_t adlen,
                        const uint8_t nonce[12]) const {
  unsigned long long mlen;
  if (algorithm == AeadAlgorithm::kAes256Gcm) {
    return crypto_aead_aes256gcm_decrypt_afternm(m, &mlen, nullptr, c, clen, ad, adlen, nonce, &aes) == 0;
  }
  return crypto_aead_chacha20poly1305_ietf_decrypt(m, &mlen, nullptr, c, clen, ad, adlen, nonce, raw) == 0;
}

}  // namespace hubless
