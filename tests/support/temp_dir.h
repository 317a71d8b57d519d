// TempDir: a fresh directory under $TMPDIR for one test, removed with its
// contents when the object goes away.
#pragma once

#include <string>
#include <string_view>

namespace crmsync::testing_support {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // Writes `content` to path()/name (creating parent folders) with `mode`; returns the full path.
  std::string WriteFile(std::string_view name, std::string_view content, unsigned mode = 0600) const;
  std::string ReadFile(std::string_view name) const;

 private:
  std::string path_;
};

}  // namespace crmsync::testing_support
