#include "common/json_text.h"

#include <algorithm>
#include <cctype>
#include <vector>

#include <nlohmann/json.hpp>

namespace crmsync {

namespace {

struct SyntaxError {
  int line = 1;
  std::string message;  // "invalid JSON: ..."
};

std::optional<SyntaxError> Parse(std::string_view text, nlohmann::json& out) {
  try {
    out = nlohmann::json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/true,
                                /*ignore_comments=*/true);
    return std::nullopt;
  } catch (const nlohmann::json::parse_error& e) {
    SyntaxError error;
    const std::size_t upto = std::min<std::size_t>(e.byte == 0 ? 0 : e.byte - 1, text.size());
    for (std::size_t i = 0; i < upto; ++i) {
      if (text[i] == '\n') ++error.line;
    }
    // nlohmann's message starts "[json.exception.parse_error.101] parse error at line 3, column 5: ..."
    const std::string what = e.what();
    const auto colon = what.find(": ", what.find("parse error"));
    error.message = "invalid JSON: " + (colon == std::string::npos ? what : what.substr(colon + 2));
    return error;
  } catch (const nlohmann::json::out_of_range& e) {
    // A number too large for a double (1e999): nlohmann throws this instead
    // of a parse_error, without a position. Its message quotes the number
    // ("[json.exception.out_of_range.406] number overflow parsing '1e999'"),
    // so the first place the text holds it gives the line.
    SyntaxError error;
    const std::string what = e.what();
    const auto open = what.find('\'');
    const auto close = what.rfind('\'');
    if (open != std::string::npos && close > open + 1) {
      const auto at = text.find(std::string_view(what).substr(open + 1, close - open - 1));
      if (at != std::string_view::npos) {
        error.line += static_cast<int>(std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(at), '\n'));
      }
    }
    const auto message = what.find("] ");
    error.message = "invalid JSON: " + (message == std::string::npos ? what : what.substr(message + 2));
    return error;
  }
}

}  // namespace

Status ParseJsonText(std::string_view text, nlohmann::json& out, int* error_line) {
  const auto error = Parse(text, out);
  if (!error) return Status::Ok();
  if (error_line != nullptr) *error_line = error->line;
  return InvalidArgument(std::to_string(error->line) + ": " + error->message);
}

std::optional<Diagnostic> ParseJsonFile(const std::string& file, std::string_view text, nlohmann::json& out) {
  auto error = Parse(text, out);
  if (!error) return std::nullopt;
  return Diagnostic{file, error->line, "", std::move(error->message)};
}

std::string JsonTypeName(const nlohmann::json& v) {
  if (v.is_number_integer()) return "an integer";
  if (v.is_number()) return "a number";
  if (v.is_string()) return "a string";
  if (v.is_boolean()) return "a boolean";
  if (v.is_null()) return "null";
  if (v.is_array()) return "an array";
  return "an object";
}

std::string AppendPointer(std::string_view pointer, std::string_view token) {
  std::string out(pointer);
  out += '/';
  for (char c : token) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

std::string AppendPointer(std::string_view pointer, std::size_t index) {
  return std::string(pointer) + "/" + std::to_string(index);
}

std::string PointerToPath(std::string_view pointer) {
  if (pointer.empty()) return "$";
  std::string out;
  std::size_t pos = 1;
  while (pos <= pointer.size()) {
    const std::size_t next = pointer.find('/', pos);
    std::string token(pointer.substr(pos, next == std::string_view::npos ? std::string_view::npos : next - pos));
    std::string unescaped;
    for (std::size_t i = 0; i < token.size(); ++i) {
      if (token[i] == '~' && i + 1 < token.size()) {
        unescaped += token[i + 1] == '1' ? '/' : '~';
        ++i;
      } else {
        unescaped += token[i];
      }
    }
    const bool numeric = !unescaped.empty() && std::all_of(unescaped.begin(), unescaped.end(),
                                                           [](unsigned char c) { return std::isdigit(c) != 0; });
    if (numeric) {
      out += "[" + unescaped + "]";
    } else {
      if (!out.empty()) out += '.';
      out += unescaped;
    }
    if (next == std::string_view::npos) break;
    pos = next + 1;
  }
  return out;
}

namespace {

// A forgiving scanner over JSON-with-comments text.
class Scanner {
 public:
  Scanner(std::string_view text, std::map<std::string, int, std::less<>>& lines) : text_(text), lines_(lines) {}

  void Run() {
    SkipSpace();
    ScanValue("");
  }

 private:
  void SkipSpace() {
    while (pos_ < text_.size()) {
      const char c = text_[pos_];
      if (c == '\n') {
        ++line_;
        ++pos_;
      } else if (c == ' ' || c == '\t' || c == '\r') {
        ++pos_;
      } else if (c == '/' && pos_ + 1 < text_.size() && text_[pos_ + 1] == '/') {
        while (pos_ < text_.size() && text_[pos_] != '\n') ++pos_;
      } else if (c == '/' && pos_ + 1 < text_.size() && text_[pos_ + 1] == '*') {
        pos_ += 2;
        while (pos_ + 1 < text_.size() && !(text_[pos_] == '*' && text_[pos_ + 1] == '/')) {
          if (text_[pos_] == '\n') ++line_;
          ++pos_;
        }
        pos_ += 2;
      } else {
        return;
      }
    }
  }

  bool ScanString(std::string* out) {
    if (pos_ >= text_.size() || text_[pos_] != '"') return false;
    ++pos_;
    while (pos_ < text_.size() && text_[pos_] != '"') {
      if (text_[pos_] == '\\' && pos_ + 1 < text_.size()) {
        const char e = text_[pos_ + 1];
        if (out != nullptr) {
          switch (e) {
            case 'n': *out += '\n'; break;
            case 't': *out += '\t'; break;
            case 'u': *out += "?"; break;  // keys with \u escapes are not looked up by tests of lines
            default: *out += e; break;
          }
        }
        pos_ += e == 'u' ? 6 : 2;
        continue;
      }
      if (text_[pos_] == '\n') ++line_;
      if (out != nullptr) *out += text_[pos_];
      ++pos_;
    }
    ++pos_;  // closing quote
    return true;
  }

  void ScanValue(const std::string& pointer) {
    if (pos_ >= text_.size() || ++depth_ > 256) return;
    const char c = text_[pos_];
    if (c == '{') {
      ++pos_;
      for (;;) {
        SkipSpace();
        if (pos_ >= text_.size()) return;
        if (text_[pos_] == '}') {
          ++pos_;
          break;
        }
        if (text_[pos_] == ',') {
          ++pos_;
          continue;
        }
        std::string key;
        const int key_line = line_;
        if (!ScanString(&key)) return;
        const std::string child = AppendPointer(pointer, key);
        lines_.emplace(child, key_line);
        SkipSpace();
        if (pos_ < text_.size() && text_[pos_] == ':') ++pos_;
        SkipSpace();
        ScanValue(child);
      }
    } else if (c == '[') {
      ++pos_;
      std::size_t index = 0;
      for (;;) {
        SkipSpace();
        if (pos_ >= text_.size()) return;
        if (text_[pos_] == ']') {
          ++pos_;
          break;
        }
        if (text_[pos_] == ',') {
          ++pos_;
          continue;
        }
        const std::string child = AppendPointer(pointer, index++);
        lines_.emplace(child, line_);
        const std::size_t before = pos_;
        ScanValue(child);
        if (pos_ == before) ++pos_;  // never loop on garbage
      }
    } else if (c == '"') {
      ScanString(nullptr);
    } else {
      while (pos_ < text_.size() && std::string_view(",]} \t\r\n/").find(text_[pos_]) == std::string_view::npos) {
        ++pos_;
      }
    }
    --depth_;
  }

  std::string_view text_;
  std::map<std::string, int, std::less<>>& lines_;
  std::size_t pos_ = 0;
  int line_ = 1;
  int depth_ = 0;
};

}  // namespace

JsonLineIndex JsonLineIndex::Build(std::string_view text) {
  JsonLineIndex index;
  Scanner(text, index.lines_).Run();
  return index;
}

int JsonLineIndex::LineOf(std::string_view pointer) const {
  std::string p(pointer);
  for (;;) {
    if (p.empty()) return 1;
    if (auto it = lines_.find(p); it != lines_.end()) return it->second;
    const auto slash = p.rfind('/');
    p = slash == std::string::npos ? "" : p.substr(0, slash);
  }
}

}  // namespace crmsync
