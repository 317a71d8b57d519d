#include "tests/support/test_pki.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <stdexcept>

namespace crmsync::testing_support {

namespace {

using PKeyPtr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using X509Ptr = std::unique_ptr<X509, decltype(&X509_free)>;

PKeyPtr NewKey() {
  EVP_PKEY* k = EVP_RSA_gen(2048);
  if (k == nullptr) throw std::runtime_error("EVP_RSA_gen failed");
  return {k, EVP_PKEY_free};
}

void AddExt(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (ext == nullptr) throw std::runtime_error("X509V3_EXT_conf_nid failed");
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

X509Ptr NewCert(EVP_PKEY* key, const std::string& cn, X509* issuer, EVP_PKEY* issuer_key, long serial) {
  X509Ptr cert(X509_new(), X509_free);
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600L * 24 * 30);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(cert.get(), issuer != nullptr ? X509_get_subject_name(issuer) : name);
  X509* effective_issuer = issuer != nullptr ? issuer : cert.get();
  if (issuer == nullptr && issuer_key == key) {
    AddExt(cert.get(), effective_issuer, NID_basic_constraints, "critical,CA:TRUE");
    AddExt(cert.get(), effective_issuer, NID_key_usage, "critical,keyCertSign,cRLSign,digitalSignature");
  }
  AddExt(cert.get(), effective_issuer, NID_subject_key_identifier, "hash");
  if (X509_sign(cert.get(), issuer_key, EVP_sha256()) == 0) throw std::runtime_error("X509_sign failed");
  return cert;
}

std::string CertPem(X509* cert) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, cert);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<std::size_t>(n));
  BIO_free(bio);
  return out;
}

std::string KeyPem(EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<std::size_t>(n));
  BIO_free(bio);
  return out;
}

}  // namespace

TestPki MakeTestPki() {
  TestPki pki;
  PKeyPtr ca_key = NewKey();
  X509Ptr ca = NewCert(ca_key.get(), "crmsync test CA", nullptr, ca_key.get(), 1);
  PKeyPtr server_key = NewKey();
  X509Ptr server(X509_new(), X509_free);
  {
    server = X509Ptr(X509_new(), X509_free);
    X509_set_version(server.get(), 2);
    ASN1_INTEGER_set(X509_get_serialNumber(server.get()), 2);
    X509_gmtime_adj(X509_getm_notBefore(server.get()), -3600);
    X509_gmtime_adj(X509_getm_notAfter(server.get()), 3600L * 24 * 30);
    X509_set_pubkey(server.get(), server_key.get());
    X509_NAME* name = X509_get_subject_name(server.get());
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("127.0.0.1"), -1, -1,
                               0);
    X509_set_issuer_name(server.get(), X509_get_subject_name(ca.get()));
    AddExt(server.get(), ca.get(), NID_basic_constraints, "critical,CA:FALSE");
    AddExt(server.get(), ca.get(), NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost");
    AddExt(server.get(), ca.get(), NID_ext_key_usage, "serverAuth");
    if (X509_sign(server.get(), ca_key.get(), EVP_sha256()) == 0) throw std::runtime_error("X509_sign failed");
  }
  pki.ca = {CertPem(ca.get()), KeyPem(ca_key.get())};
  pki.server = {CertPem(server.get()), KeyPem(server_key.get())};
  return pki;
}

KeyPair MakeSelfSignedCert(const std::string& common_name) {
  PKeyPtr key = NewKey();
  X509Ptr cert = NewCert(key.get(), common_name, nullptr, key.get(), 3);
  return {CertPem(cert.get()), KeyPem(key.get())};
}

}  // namespace crmsync::testing_support
