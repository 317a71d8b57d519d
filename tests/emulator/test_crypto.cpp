#include "tests/emulator/test_crypto.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <cstdlib>
#include <ctime>
#include <iostream>

#include "tests/emulator/auth.h"
#include "tests/support/test_pki.h"

namespace crmsync::emulator::testing {

namespace {

void Check(bool ok, const char* what) {
  if (!ok) {
    std::cerr << "test_crypto: " << what << " failed\n";
    std::abort();
  }
}

// The SHA-1 and SHA-256 digests of a PEM certificate's DER form.
void Digests(const std::string& cert_pem, std::string& sha1, std::string& sha256) {
  BIO* bio = BIO_new_mem_buf(cert_pem.data(), static_cast<int>(cert_pem.size()));
  X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  Check(cert != nullptr, "read cert");
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  X509_digest(cert, EVP_sha1(), md, &len);
  sha1.assign(reinterpret_cast<char*>(md), len);
  X509_digest(cert, EVP_sha256(), md, &len);
  sha256.assign(reinterpret_cast<char*>(md), len);
  X509_free(cert);
}

}  // namespace

KeyAndCert MakeSelfSigned(const std::string& common_name) {
  const auto pair = crmsync::testing_support::MakeSelfSignedCert(common_name);
  KeyAndCert out;
  out.key_pem = pair.key_pem;
  out.cert_pem = pair.cert_pem;
  Digests(out.cert_pem, out.sha1, out.sha256);
  return out;
}

TlsMaterial MakeTlsMaterial() {
  const auto pki = crmsync::testing_support::MakeTestPki();
  return {pki.ca.cert_pem, pki.server.cert_pem, pki.server.key_pem};
}

std::string SignJwt(const nlohmann::json& header, const nlohmann::json& payload, const std::string& key_pem, bool pss) {
  const std::string input = Base64UrlEncode(header.dump()) + "." + Base64UrlEncode(payload.dump());
  BIO* bio = BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size()));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  Check(key != nullptr, "read key");
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_PKEY_CTX* pctx = nullptr;
  Check(EVP_DigestSignInit_ex(ctx, &pctx, "SHA256", nullptr, nullptr, key, nullptr) == 1, "sign init");
  if (pss) {
    Check(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1, "pss padding");
    Check(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1, "pss salt");
  }
  std::size_t len = 0;
  const auto* data = reinterpret_cast<const unsigned char*>(input.data());
  Check(EVP_DigestSign(ctx, nullptr, &len, data, input.size()) == 1, "sign size");
  std::string sig(len, '\0');
  Check(EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len, data, input.size()) == 1, "sign");
  sig.resize(len);
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(key);
  return input + "." + Base64UrlEncode(sig);
}

std::string MakeAssertion(const KeyAndCert& credential, const AssertionSpec& spec) {
  nlohmann::json header = {{"alg", spec.pss ? "PS256" : "RS256"}, {"typ", "JWT"}};
  switch (spec.thumbprint) {
    case Thumbprint::kX5t: header["x5t"] = Base64UrlEncode(credential.sha1); break;
    case Thumbprint::kX5tS256: header["x5t#S256"] = Base64UrlEncode(credential.sha256); break;
    case Thumbprint::kKid: header["kid"] = Base64UrlEncode(credential.sha1); break;
  }
  std::string jti = spec.jti;
  if (jti.empty()) {
    unsigned char raw[16];
    RAND_bytes(raw, sizeof raw);
    jti = Base64UrlEncode(std::string(reinterpret_cast<char*>(raw), sizeof raw));
  }
  const std::int64_t now = std::time(nullptr);
  nlohmann::json payload = {{"aud", spec.audience}, {"iss", spec.client_id},          {"sub", spec.client_id},
                            {"jti", jti},           {"nbf", now + spec.nbf_offset_s}, {"exp", now + spec.exp_offset_s}};
  return SignJwt(header, payload, credential.key_pem, spec.pss);
}

}  // namespace crmsync::emulator::testing
