#include "tests/emulator/test_crypto.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdlib>
#include <ctime>
#include <iostream>

#include "tests/emulator/auth.h"

namespace crmsync::emulator::testing {

namespace {

void Check(bool ok, const char* what) {
  if (!ok) {
    std::cerr << "test_crypto: " << what << " failed\n";
    std::abort();
  }
}

std::string BioText(BIO* bio) {
  char* data = nullptr;
  const long n = BIO_ctrl(bio, BIO_CTRL_INFO, 0, &data);
  std::string out(data, static_cast<std::size_t>(n));
  BIO_free(bio);
  return out;
}

std::string KeyPem(EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  Check(PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr) == 1, "write key");
  return BioText(bio);
}

std::string CertPem(X509* cert) {
  BIO* bio = BIO_new(BIO_s_mem());
  Check(PEM_write_bio_X509(bio, cert) == 1, "write cert");
  return BioText(bio);
}

void AddExt(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  Check(ext != nullptr, "extension");
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

X509* NewCert(EVP_PKEY* key, const std::string& cn, X509* issuer, EVP_PKEY* issuer_key, long serial) {
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), serial);
  X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert), 7L * 24 * 3600);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(cert, issuer != nullptr ? X509_get_subject_name(issuer) : name);
  if (issuer == nullptr) {
    AddExt(cert, cert, NID_basic_constraints, "critical,CA:TRUE");
    AddExt(cert, cert, NID_key_usage, "critical,keyCertSign,cRLSign");
  }
  (void)issuer_key;
  return cert;
}

void Sign(X509* cert, EVP_PKEY* key) {
  Check(X509_sign(cert, key, EVP_sha256()) > 0, "X509_sign");
}

KeyAndCert Finish(EVP_PKEY* key, X509* cert) {
  KeyAndCert out;
  out.key_pem = KeyPem(key);
  out.cert_pem = CertPem(cert);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  X509_digest(cert, EVP_sha1(), md, &len);
  out.sha1.assign(reinterpret_cast<char*>(md), len);
  X509_digest(cert, EVP_sha256(), md, &len);
  out.sha256.assign(reinterpret_cast<char*>(md), len);
  return out;
}

}  // namespace

KeyAndCert MakeSelfSigned(const std::string& common_name) {
  EVP_PKEY* key = EVP_RSA_gen(2048);
  Check(key != nullptr, "EVP_RSA_gen");
  X509* cert = NewCert(key, common_name, nullptr, nullptr, 1);
  Sign(cert, key);
  KeyAndCert out = Finish(key, cert);
  X509_free(cert);
  EVP_PKEY_free(key);
  return out;
}

TlsMaterial MakeTlsMaterial() {
  EVP_PKEY* ca_key = EVP_RSA_gen(2048);
  Check(ca_key != nullptr, "EVP_RSA_gen");
  X509* ca = NewCert(ca_key, "crmsync emulator test CA", nullptr, nullptr, 1);
  Sign(ca, ca_key);
  EVP_PKEY* key = EVP_RSA_gen(2048);
  X509* cert = NewCert(key, "127.0.0.1", ca, ca_key, 2);
  AddExt(cert, ca, NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost");
  AddExt(cert, ca, NID_ext_key_usage, "serverAuth");
  Sign(cert, ca_key);
  TlsMaterial out;
  out.ca_pem = CertPem(ca);
  out.server_cert_pem = CertPem(cert);
  out.server_key_pem = KeyPem(key);
  X509_free(cert);
  X509_free(ca);
  EVP_PKEY_free(key);
  EVP_PKEY_free(ca_key);
  return out;
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
