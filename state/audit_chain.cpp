#include "state/audit_chain.h"

#include <openssl/evp.h>

#include <cstdio>
#include <cstdlib>

namespace crmsync::state {

namespace {

// SHA-256 fetched once: with EVP_sha256() OpenSSL 3 looks the algorithm up
// again at every digest, which cost more than hashing an audit row.
// Deliberately never freed (nothing with a destructor at namespace scope).
const EVP_MD* Sha256() {
  static const EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  if (md == nullptr) std::abort();  // no SHA-256: the audit chain cannot be kept
  return md;
}

}  // namespace

std::string Sha256Hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(data.data(), data.size(), digest, &length, Sha256(), nullptr) != 1) std::abort();
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(std::size_t{length} * 2);
  for (unsigned int i = 0; i < length; ++i) {
    hex += kHex[digest[i] >> 4];
    hex += kHex[digest[i] & 15];
  }
  return hex;
}

std::string AuditRowHash(const AuditEntry& e) {
  std::string content;
  content.reserve(256 + e.fields.size());
  const auto put = [&](std::string_view field) {
    content += std::to_string(field.size());
    content += ':';
    content += field;
    content += ',';
  };
  put(std::to_string(e.seq));
  for (const std::string* f : {&e.at, &e.run_id, &e.mapping, &e.mapping_version, &e.action, &e.side, &e.local_key,
                               &e.remote_id, &e.fields, &e.outcome, &e.prev_hash}) {
    put(*f);
  }
  return Sha256Hex(content);
}

std::string SensitiveDigest(std::string_view display_text) {
  return "sha256:" + Sha256Hex(display_text);
}

}  // namespace crmsync::state
