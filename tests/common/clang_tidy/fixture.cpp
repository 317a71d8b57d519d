// Not built: the input of clang_tidy_config_test, which runs clang-tidy with the
// repository's .clang-tidy on it. Each marked line must be reported; the rest
// must not.
#include <stdexcept>
#include <string>

namespace crmsync::tidy_fixture {

class Holder {
 public:
  bool ok() const { return ok_; }  // an accessor may be lower_case
  void Check() const noexcept {    // reported: bugprone-exception-escape
    if (!ok_) throw std::runtime_error("not ok");
  }

 private:
  bool ok_ = false;
};

int bad_name() {  // reported: readability-identifier-naming
  return 1;
}

std::string Joined(const std::string& a, const std::string& b) {
  std::string out;
  for (int i = 0; i < 3; ++i) out = out + a + b;  // reported: performance-inefficient-string-concatenation
  return out;
}

}  // namespace crmsync::tidy_fixture
