// Test certificates made in memory by the test itself (OpenSSL): a CA, a
// server certificate for 127.0.0.1/localhost signed by it, and self-signed
// client certificates for certificate-based OAuth.
#pragma once

#include <string>

namespace crmsync::testing_support {

struct KeyPair {
  std::string cert_pem;
  std::string key_pem;
};

struct TestPki {
  KeyPair ca;
  KeyPair server;  // SAN IP:127.0.0.1, DNS:localhost; signed by ca
};

TestPki MakeTestPki();
KeyPair MakeSelfSignedCert(const std::string& common_name);

}  // namespace crmsync::testing_support
