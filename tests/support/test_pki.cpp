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

struct CertSpec {
  std::string common_name;
  X509* issuer = nullptr;  // nullptr: self-signed
  EVP_PKEY* issuer_key = nullptr;
  long serial = 1;
  bool ca = false;
  const char* server_names = nullptr;  // subjectAltName for a server certificate
};

// A certificate for `key`; self-signed (with `key`) unless an issuer is given.
X509Ptr NewCert(EVP_PKEY* key, const CertSpec& spec) {
  X509Ptr cert(X509_new(), X509_free);
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), spec.serial);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600L * 24 * 30);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(spec.common_name.c_str()),
                             -1, -1, 0);
  X509* issuer = spec.issuer != nullptr ? spec.issuer : cert.get();
  X509_set_issuer_name(cert.get(), X509_get_subject_name(issuer));
  if (spec.ca) {
    AddExt(cert.get(), issuer, NID_basic_constraints, "critical,CA:TRUE");
    AddExt(cert.get(), issuer, NID_key_usage, "critical,keyCertSign,cRLSign,digitalSignature");
  } else if (spec.server_names != nullptr) {
    AddExt(cert.get(), issuer, NID_basic_constraints, "critical,CA:FALSE");
    AddExt(cert.get(), issuer, NID_subject_alt_name, spec.server_names);
    AddExt(cert.get(), issuer, NID_ext_key_usage, "serverAuth");
  }
  AddExt(cert.get(), issuer, NID_subject_key_identifier, "hash");
  EVP_PKEY* signer = spec.issuer_key != nullptr ? spec.issuer_key : key;
  if (X509_sign(cert.get(), signer, EVP_sha256()) == 0) throw std::runtime_error("X509_sign failed");
  return cert;
}

std::string BioText(BIO* bio) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<std::size_t>(n));
  BIO_free(bio);
  return out;
}

KeyPair Pem(X509* cert, EVP_PKEY* key) {
  BIO* cert_bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(cert_bio, cert);
  BIO* key_bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(key_bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  return {BioText(cert_bio), BioText(key_bio)};
}

}  // namespace

TestPki MakeTestPki() {
  PKeyPtr ca_key = NewKey();
  X509Ptr ca = NewCert(ca_key.get(), {.common_name = "crmsync test CA", .serial = 1, .ca = true});
  PKeyPtr server_key = NewKey();
  X509Ptr server = NewCert(server_key.get(), {.common_name = "127.0.0.1",
                                              .issuer = ca.get(),
                                              .issuer_key = ca_key.get(),
                                              .serial = 2,
                                              .server_names = "IP:127.0.0.1,DNS:localhost"});
  return {Pem(ca.get(), ca_key.get()), Pem(server.get(), server_key.get())};
}

KeyPair MakeSelfSignedCert(const std::string& common_name) {
  PKeyPtr key = NewKey();
  X509Ptr cert = NewCert(key.get(), {.common_name = common_name, .serial = 3});
  return Pem(cert.get(), key.get());
}

}  // namespace crmsync::testing_support
