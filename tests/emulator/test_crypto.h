// Test crypto: the certificates of tests/support/test_pki.h in the shapes the
// emulator's tests use (a test CA and server certificate for HTTPS; client
// certificates with their digests), and signed JWT client assertions (RS256, PS256).
// For tests and the benchmark only; functions abort on OpenSSL failures.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace crmsync::emulator::testing {

struct KeyAndCert {
  std::string key_pem;  // PKCS#8 private key
  std::string cert_pem;
  std::string sha1;  // raw digest of the certificate DER
  std::string sha256;
};

// A self-signed certificate (client credential) for `common_name`.
KeyAndCert MakeSelfSigned(const std::string& common_name);

struct TlsMaterial {
  std::string ca_pem;
  std::string server_cert_pem;  // signed by the CA, SAN IP:127.0.0.1 and DNS:localhost
  std::string server_key_pem;
};
TlsMaterial MakeTlsMaterial();

// header.payload.signature with RS256 (PKCS#1 v1.5) or PS256 (PSS) over SHA-256.
std::string SignJwt(const nlohmann::json& header, const nlohmann::json& payload, const std::string& key_pem, bool pss);

enum class Thumbprint { kX5t, kX5tS256, kKid };

struct AssertionSpec {
  std::string client_id;
  std::string audience;
  bool pss = false;
  Thumbprint thumbprint = Thumbprint::kX5t;
  std::int64_t nbf_offset_s = 0;  // relative to now
  std::int64_t exp_offset_s = 600;
  std::string jti;  // empty: a fresh random one
};
std::string MakeAssertion(const KeyAndCert& credential, const AssertionSpec& spec);

}  // namespace crmsync::emulator::testing
