#include "tests/support/temp_dir.h"

#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace crmsync::testing_support {

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string templ = std::string(base != nullptr ? base : "/tmp") + "/crmsync-test-XXXXXX";
  if (mkdtemp(templ.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = templ;
}

TempDir::~TempDir() {
  std::error_code ec;
  // Under ctest what a test leaves behind is kept until the secret_scan test
  // has looked through it (tests/CMakeLists.txt), then removed there.
  if (const char* keep = std::getenv("CRMSYNC_TEST_LEFTOVERS"); keep != nullptr && *keep != '\0') {
    const std::filesystem::path target = std::filesystem::path(keep) / std::filesystem::path(path_).filename();
    std::filesystem::create_directories(keep, ec);
    std::filesystem::rename(path_, target, ec);
    if (!ec) return;
    // Another file system: a copy (sockets and FIFOs are skipped), then removed as usual.
    std::filesystem::copy(path_, target, std::filesystem::copy_options::recursive, ec);
  }
  std::filesystem::remove_all(path_, ec);
}

std::string TempDir::WriteFile(std::string_view name, std::string_view content, unsigned mode) const {
  const std::filesystem::path full = std::filesystem::path(path_) / name;
  std::filesystem::create_directories(full.parent_path());
  {
    std::ofstream out(full, std::ios::binary | std::ios::trunc);
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    if (!out) throw std::runtime_error("cannot write " + full.string());
  }
  ::chmod(full.c_str(), mode);
  return full.string();
}

std::string TempDir::ReadFile(std::string_view name) const {
  std::ifstream in(std::filesystem::path(path_) / name, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace crmsync::testing_support
