// AEAD over libsodium: AES-256-GCM with a precomputed key schedule where the CPU has AES-NI and
// PCLMULQDQ, ChaCha20-Poly1305-IETF otherwise. Nonces follow Noise's transport convention for each
// cipher: 4 zero bytes then the 64-bit counter, big-endian for AES-GCM, little-endian for ChaCha.
#pragma once
#include <sodium.h>

#include <cstddef>
#include <cstdint>

namespace hubless {

enum class AeadAlgorithm : uint8_t { kAes256Gcm = 1, kChaCha20Poly1305 = 2 };

constexpr size_t kKeySize = 32;

// Call once before anything else; false when libsodium cannot initialise.
bool AeadInit();
bool AesGcmAvailable();
const char* AeadName(AeadAlgorithm a);

// One direction's key. AES keeps the expanded key state (512 bytes, 16-byte aligned), so per
// packet there is no key schedule to run.
struct alignas(16) AeadKey {
  crypto_aead_aes256gcm_state aes;
  uint8_t raw[kKeySize];
  AeadAlgorithm algorithm;

  // False if the algorithm is not usable on this CPU.
  bool Set(AeadAlgorithm a, const uint8_t* key);
  void Wipe();

  // c may equal m (in place). Writes mlen + 16 bytes to c.
  void Seal(uint8_t* c, const uint8_t* m, size_t mlen, const uint8_t* ad, size_t adlen,
            uint64_t counter) const {
    uint8_t nonce[12];
    Nonce(nonce, counter);
    SealNonce(c, m, mlen, ad, adlen, nonce);
  }
  // m may equal c. Returns false on authentication failure (m is then unspecified).
  bool Open(uint8_t* m, const uint8_t* c, size_t clen, const uint8_t* ad, size_t adlen,
            uint64_t counter) const {
    uint8_t nonce[12];
    Nonce(nonce, counter);
    return OpenNonce(m, c, clen, ad, adlen, nonce);
  }
  // The same with an explicit 12-byte nonce (known-answer tests use published nonces).
  void SealNonce(uint8_t* c, const uint8_t* m, size_t mlen, const uint8_t* ad, size_t adlen,
                 const uint8_t nonce[12]) const;
  bool OpenNonce(uint8_t* m, const uint8_t* c, size_t clen, const uint8_t* ad, size_t adlen,
                 const uint8_t nonce[12]) const;
  void Nonce(uint8_t nonce[12], uint64_t counter) const;
};

}  // namespace hubless
