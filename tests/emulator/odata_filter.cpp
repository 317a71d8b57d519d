#include "tests/emulator/odata_filter.h"

#include <cctype>
#include <cmath>
#include <cstdlib>

#include "tests/emulator/api_error.h"
#include "tests/emulator/http_message.h"
#include "tests/emulator/time_text.h"

namespace crmsync::emulator {
namespace {

constexpr int kMaxDepth = 64;

enum class Category { kAny, kString, kNumber, kBool, kGuid, kTime };

Category CategoryOf(AttrType t) {
  switch (t) {
    case AttrType::kString:
    case AttrType::kMemo: return Category::kString;
    case AttrType::kBool: return Category::kBool;
    case AttrType::kPrimaryKey:
    case AttrType::kGuid:
    case AttrType::kLookup: return Category::kGuid;
    case AttrType::kDateTime:
    case AttrType::kDate: return Category::kTime;
    default: return Category::kNumber;
  }
}

Category CategoryOf(const FilterLiteral& l) {
  switch (l.kind) {
    case FilterLiteral::Kind::kNull: return Category::kAny;
    case FilterLiteral::Kind::kBool: return Category::kBool;
    case FilterLiteral::Kind::kNumber: return Category::kNumber;
    case FilterLiteral::Kind::kString: return Category::kString;
    case FilterLiteral::Kind::kGuid: return Category::kGuid;
    case FilterLiteral::Kind::kDateTime:
    case FilterLiteral::Kind::kDate: return Category::kTime;
  }
  return Category::kAny;
}

std::string EdmNameOf(const FilterLiteral& l) {
  switch (l.kind) {
    case FilterLiteral::Kind::kNull: return "<null>";
    case FilterLiteral::Kind::kBool: return "Edm.Boolean";
    case FilterLiteral::Kind::kNumber:
      return l.text.find_first_of(".eE") == std::string::npos ? "Edm.Int32" : "Edm.Decimal";
    case FilterLiteral::Kind::kString: return "Edm.String";
    case FilterLiteral::Kind::kGuid: return "Edm.Guid";
    case FilterLiteral::Kind::kDateTime: return "Edm.DateTimeOffset";
    case FilterLiteral::Kind::kDate: return "Edm.Date";
  }
  return "Edm.String";
}

std::string OperatorKind(std::string_view op) {
  if (op == "eq") return "Equal";
  if (op == "ne") return "NotEqual";
  if (op == "gt") return "GreaterThan";
  if (op == "ge") return "GreaterThanOrEqual";
  if (op == "lt") return "LessThan";
  return "LessThanOrEqual";
}

bool IsIdentStart(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) != 0 || c == '_';
}
bool IsIdentChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '.';
}
bool IsHex(char c) {
  return std::isxdigit(static_cast<unsigned char>(c)) != 0;
}
bool IsDigit(char c) {
  return c >= '0' && c <= '9';
}

// Length of a GUID at the start of `s` (36) or 0.
std::size_t GuidLength(std::string_view s) {
  if (s.size() < 36) return 0;
  for (std::size_t i = 0; i < 36; ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : !IsHex(s[i])) return 0;
  }
  if (s.size() > 36 && (IsIdentChar(s[36]) || s[36] == '-')) return 0;
  return 36;
}

// Length of a date (10) or date-time literal at the start of `s`, 0 if none.
std::size_t DateLength(std::string_view s, bool& has_time) {
  has_time = false;
  if (s.size() < 10) return 0;
  for (std::size_t i = 0; i < 10; ++i) {
    if (i == 4 || i == 7 ? s[i] != '-' : !IsDigit(s[i])) return 0;
  }
  if (s.size() == 10 || s[10] != 'T') return (s.size() > 10 && IsIdentChar(s[10])) ? 0 : 10;
  std::size_t i = 11;
  while (i < s.size() && (IsDigit(s[i]) || s[i] == ':' || s[i] == '.' || s[i] == 'Z' || s[i] == '+' || s[i] == '-'))
    ++i;
  has_time = true;
  return i;
}

class Parser {
 public:
  Parser(std::string_view text, const EntityDef& entity, const Metadata& metadata, const AliasLookup& aliases,
         std::string_view whole, int depth)
      : s_(text), entity_(entity), metadata_(metadata), aliases_(aliases), whole_(whole), depth_(depth) {}

  Result<std::unique_ptr<FilterNode>> ParseAll() {
    auto node = ParseOr();
    if (!node.ok()) return node;
    SkipWs();
    if (pos_ != s_.size()) return SyntaxError();
    return node;
  }

  // Parses one operand and requires the whole text to be consumed (aliases).
  Result<std::unique_ptr<FilterNode>> ParseOperandOnly() {
    auto node = ParseOperand();
    if (!node.ok()) return node;
    SkipWs();
    if (pos_ != s_.size()) return SyntaxError();
    return node;
  }

 private:
  Status SyntaxError() const {
    return ApiError(400, "0x0",
                    "Syntax error at position " + std::to_string(pos_) + " in '" + std::string(whole_) + "'.");
  }

  void SkipWs() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t')) ++pos_;
  }

  // True (and consumes) when the next word is `w` followed by a non-identifier character.
  bool TakeWord(std::string_view w) {
    SkipWs();
    if (s_.substr(pos_, w.size()) != w) return false;
    const std::size_t end = pos_ + w.size();
    if (end < s_.size() && (IsIdentChar(s_[end]) || s_[end] == '/')) return false;
    pos_ = end;
    return true;
  }

  Result<std::unique_ptr<FilterNode>> ParseOr() {
    if (++depth_ > kMaxDepth) return ApiError(400, "0x0", "The filter expression is nested too deeply.");
    auto left = ParseAnd();
    if (!left.ok()) return left;
    std::unique_ptr<FilterNode> node = std::move(left).value();
    while (TakeWord("or")) {
      auto right = ParseAnd();
      if (!right.ok()) return right;
      node = Binary(FilterNode::Kind::kOr, std::move(node), std::move(right).value());
    }
    --depth_;
    return node;
  }

  Result<std::unique_ptr<FilterNode>> ParseAnd() {
    auto left = ParseUnary();
    if (!left.ok()) return left;
    std::unique_ptr<FilterNode> node = std::move(left).value();
    while (TakeWord("and")) {
      auto right = ParseUnary();
      if (!right.ok()) return right;
      node = Binary(FilterNode::Kind::kAnd, std::move(node), std::move(right).value());
    }
    return node;
  }

  static std::unique_ptr<FilterNode> Binary(FilterNode::Kind k, std::unique_ptr<FilterNode> a,
                                            std::unique_ptr<FilterNode> b) {
    auto n = std::make_unique<FilterNode>();
    n->kind = k;
    n->children.push_back(std::move(a));
    n->children.push_back(std::move(b));
    return n;
  }

  Result<std::unique_ptr<FilterNode>> ParseUnary() {
    if (TakeWord("not")) {
      if (++depth_ > kMaxDepth) return ApiError(400, "0x0", "The filter expression is nested too deeply.");
      auto inner = ParseUnary();
      --depth_;
      if (!inner.ok()) return inner;
      auto n = std::make_unique<FilterNode>();
      n->kind = FilterNode::Kind::kNot;
      n->children.push_back(std::move(inner).value());
      return n;
    }
    return ParseComparison();
  }

  static bool IsBoolean(const FilterNode& n) {
    switch (n.kind) {
      case FilterNode::Kind::kProperty: return n.attr->type == AttrType::kBool;
      case FilterNode::Kind::kLiteral: return n.literal.kind == FilterLiteral::Kind::kBool;
      default: return true;
    }
  }

  Result<std::unique_ptr<FilterNode>> ParseComparison() {
    auto left = ParseOperand();
    if (!left.ok()) return left;
    std::unique_ptr<FilterNode> lhs = std::move(left).value();
    for (std::string_view op : {"eq", "ne", "gt", "ge", "lt", "le"}) {
      if (!TakeWord(op)) continue;
      auto right = ParseOperand();
      if (!right.ok()) return right;
      std::unique_ptr<FilterNode> rhs = std::move(right).value();
      CRMSYNC_RETURN_IF_ERROR(CheckComparable(*lhs, *rhs, op));
      auto n = Binary(FilterNode::Kind::kCompare, std::move(lhs), std::move(rhs));
      n->op = std::string(op);
      return n;
    }
    if (!IsBoolean(*lhs)) return SyntaxError();
    return lhs;
  }

  static std::string EdmName(const FilterNode& n) {
    if (n.kind == FilterNode::Kind::kProperty) return std::string(EdmTypeName(n.attr->type));
    if (n.kind == FilterNode::Kind::kLiteral) return EdmNameOf(n.literal);
    return "Edm.Boolean";
  }
  static Category CategoryOfNode(const FilterNode& n) {
    if (n.kind == FilterNode::Kind::kProperty) return CategoryOf(n.attr->type);
    if (n.kind == FilterNode::Kind::kLiteral) return CategoryOf(n.literal);
    return Category::kBool;
  }

  Status CheckComparable(const FilterNode& a, const FilterNode& b, std::string_view op) const {
    const Category ca = CategoryOfNode(a);
    const Category cb = CategoryOfNode(b);
    if (ca == Category::kAny || cb == Category::kAny || ca == cb) return Status::Ok();
    return ApiError(400, "0x0",
                    "A binary operator with incompatible types was detected. Found operand types '" + EdmName(a) +
                        "' and '" + EdmName(b) + "' for operator kind '" + OperatorKind(op) + "'.");
  }

  Result<std::string> ParseStringLiteral() {
    // at the opening quote
    std::string out;
    ++pos_;
    while (true) {
      if (pos_ >= s_.size())
        return ApiError(400, "0x0",
                        "There is an unterminated string literal at position " + std::to_string(pos_) + " in '" +
                            std::string(whole_) + "'.");
      const char c = s_[pos_++];
      if (c == '\'') {
        if (pos_ < s_.size() && s_[pos_] == '\'') {
          out += '\'';
          ++pos_;
          continue;
        }
        return out;
      }
      out += c;
    }
  }

  static std::unique_ptr<FilterNode> LiteralNode(FilterLiteral l) {
    auto n = std::make_unique<FilterNode>();
    n->kind = FilterNode::Kind::kLiteral;
    n->literal = std::move(l);
    return n;
  }

  Result<std::unique_ptr<FilterNode>> ParseOperand() {
    SkipWs();
    if (pos_ >= s_.size()) return SyntaxError();
    const char c = s_[pos_];
    if (c == '(') {
      ++pos_;
      auto inner = ParseOr();
      if (!inner.ok()) return inner;
      SkipWs();
      if (pos_ >= s_.size() || s_[pos_] != ')') return SyntaxError();
      ++pos_;
      return inner;
    }
    if (c == '\'') {
      auto str = ParseStringLiteral();
      if (!str.ok()) return str.status();
      FilterLiteral l;
      l.kind = FilterLiteral::Kind::kString;
      l.text = std::move(str).value();
      return LiteralNode(std::move(l));
    }
    if (c == '@') {
      std::size_t end = pos_ + 1;
      while (end < s_.size() && IsIdentChar(s_[end])) ++end;
      const std::string_view name = s_.substr(pos_, end - pos_);
      std::optional<std::string> text = aliases_ ? aliases_(name) : std::nullopt;
      if (!text) return ApiError(400, "0x0", "The parameter alias '" + std::string(name) + "' is not defined.");
      if (depth_ > kMaxDepth) return ApiError(400, "0x0", "The filter expression is nested too deeply.");
      Parser sub(*text, entity_, metadata_, aliases_, *text, depth_ + 8);
      auto node = sub.ParseOperandOnly();
      if (!node.ok()) return node;
      pos_ = end;
      return node;
    }
    if (std::size_t n = GuidLength(s_.substr(pos_)); n > 0) {
      FilterLiteral l;
      l.kind = FilterLiteral::Kind::kGuid;
      l.text = ToLower(s_.substr(pos_, n));
      pos_ += n;
      return LiteralNode(std::move(l));
    }
    bool has_time = false;
    if (std::size_t n = DateLength(s_.substr(pos_), has_time); n > 0) {
      const std::string_view text = s_.substr(pos_, n);
      auto tp = ParseIsoSeconds(text);
      if (!tp)
        return ApiError(400, "0x0",
                        "Unrecognized '" + std::string(has_time ? "Edm.DateTimeOffset" : "Edm.Date") + "' literal '" +
                            std::string(text) + "' at '" + std::to_string(pos_) + "' in '" + std::string(whole_) +
                            "'.");
      FilterLiteral l;
      l.kind = has_time ? FilterLiteral::Kind::kDateTime : FilterLiteral::Kind::kDate;
      l.text = std::string(text);
      l.time = *tp;
      pos_ += n;
      return LiteralNode(std::move(l));
    }
    if (IsDigit(c) || ((c == '-' || c == '+') && pos_ + 1 < s_.size() && IsDigit(s_[pos_ + 1]))) {
      std::size_t end = pos_ + 1;
      while (end < s_.size() && (IsDigit(s_[end]) || s_[end] == '.')) ++end;
      if (end < s_.size() && (s_[end] == 'e' || s_[end] == 'E')) {
        ++end;
        if (end < s_.size() && (s_[end] == '+' || s_[end] == '-')) ++end;
        while (end < s_.size() && IsDigit(s_[end])) ++end;
      }
      std::string text(s_.substr(pos_, end - pos_));
      if (end < s_.size() && std::string_view("mMdDfFlL").find(s_[end]) != std::string_view::npos) ++end;
      if (end < s_.size() && IsIdentChar(s_[end])) return SyntaxError();
      char* parse_end = nullptr;
      const double v = std::strtod(text.c_str(), &parse_end);
      if (parse_end != text.c_str() + text.size() || !std::isfinite(v)) return SyntaxError();
      FilterLiteral l;
      l.kind = FilterLiteral::Kind::kNumber;
      l.number = v;
      l.text = std::move(text);
      pos_ = end;
      return LiteralNode(std::move(l));
    }
    if (!IsIdentStart(c)) return SyntaxError();
    std::size_t end = pos_;
    while (end < s_.size() && (IsIdentChar(s_[end]) || s_[end] == '/')) ++end;
    const std::string_view ident = s_.substr(pos_, end - pos_);
    const std::size_t ident_pos = pos_;
    pos_ = end;
    if (ident == "null" || ident == "true" || ident == "false") {
      FilterLiteral l;
      l.kind = ident == "null" ? FilterLiteral::Kind::kNull : FilterLiteral::Kind::kBool;
      l.boolean = ident == "true";
      l.text = std::string(ident);
      return LiteralNode(std::move(l));
    }
    SkipWs();
    if (pos_ < s_.size() && s_[pos_] == '(') {
      ++pos_;
      return ParseFunction(ident, ident_pos);
    }
    return ResolveProperty(ident);
  }

  Result<std::unique_ptr<FilterNode>> ResolveProperty(std::string_view path) const {
    auto n = std::make_unique<FilterNode>();
    n->kind = FilterNode::Kind::kProperty;
    const auto slash = path.find('/');
    if (slash == std::string_view::npos) {
      n->attr = entity_.FindByReadName(path);
      if (n->attr == nullptr) return UnknownProperty(std::string(path), entity_.TypeName());
      return n;
    }
    const std::string_view nav = path.substr(0, slash);
    const std::string_view rest = path.substr(slash + 1);
    auto target = entity_.FindNav(nav);
    if (!target) return UnknownProperty(std::string(nav), entity_.TypeName());
    const EntityDef* related = metadata_.ByLogical(target->target);
    if (related == nullptr || rest.find('/') != std::string_view::npos) {
      return UnknownProperty(std::string(rest), entity_.TypeName());
    }
    n->attr = related->FindByReadName(rest);
    if (n->attr == nullptr) return UnknownProperty(std::string(rest), related->TypeName());
    n->via = target->attribute;
    n->via_target = target->target;
    return n;
  }

  Result<std::unique_ptr<FilterNode>> ParseFunction(std::string_view name, std::size_t name_pos) {
    auto n = std::make_unique<FilterNode>();
    n->kind = FilterNode::Kind::kFunction;
    if (name == "contains" || name == "startswith" || name == "endswith") {
      n->op = std::string(name);
      auto prop = ParseOperand();
      if (!prop.ok()) return prop;
      SkipWs();
      if (pos_ >= s_.size() || s_[pos_] != ',') return SyntaxError();
      ++pos_;
      auto lit = ParseOperand();
      if (!lit.ok()) return lit;
      SkipWs();
      if (pos_ >= s_.size() || s_[pos_] != ')') return SyntaxError();
      ++pos_;
      const FilterNode& p = *prop.value();
      const FilterNode& l = *lit.value();
      if (p.kind != FilterNode::Kind::kProperty || CategoryOf(p.attr->type) != Category::kString ||
          l.kind != FilterNode::Kind::kLiteral || l.literal.kind != FilterLiteral::Kind::kString) {
        return ApiError(400, "0x0",
                        "No function signature for the function with name '" + std::string(name) +
                            "' matches the specified arguments. The function signatures considered are: " +
                            std::string(name) + "(Edm.String Nullable=true, Edm.String Nullable=true).");
      }
      n->children.push_back(std::move(prop).value());
      n->children.push_back(std::move(lit).value());
      return n;
    }
    static constexpr std::string_view kPrefix = "Microsoft.Dynamics.CRM.";
    const std::string_view fn = name.starts_with(kPrefix) ? name.substr(kPrefix.size()) : std::string_view();
    if (fn != "In" && fn != "NotIn" && fn != "Between" && fn != "NotBetween") {
      pos_ = name_pos;
      return ApiError(400, "0x0", "An unknown function with name '" + std::string(name) + "' was found.");
    }
    n->op = std::string(fn);
    std::string property;
    std::vector<std::string> values;
    bool have_values = false;
    while (true) {
      SkipWs();
      std::size_t end = pos_;
      while (end < s_.size() && IsIdentChar(s_[end])) ++end;
      const std::string_view arg = s_.substr(pos_, end - pos_);
      pos_ = end;
      SkipWs();
      if (pos_ >= s_.size() || s_[pos_] != '=') return SyntaxError();
      ++pos_;
      SkipWs();
      if (arg == "PropertyName") {
        if (pos_ >= s_.size() || s_[pos_] != '\'') return SyntaxError();
        auto str = ParseStringLiteral();
        if (!str.ok()) return str.status();
        property = std::move(str).value();
      } else if (arg == "PropertyValues") {
        if (pos_ >= s_.size() || s_[pos_] != '[') return SyntaxError();
        ++pos_;
        have_values = true;
        while (true) {
          SkipWs();
          if (pos_ >= s_.size()) return SyntaxError();
          if (s_[pos_] == ']') {
            ++pos_;
            break;
          }
          const char q = s_[pos_];
          if (q != '"' && q != '\'') return SyntaxError();
          const auto close = s_.find(q, pos_ + 1);
          if (close == std::string_view::npos) return SyntaxError();
          values.emplace_back(s_.substr(pos_ + 1, close - pos_ - 1));
          pos_ = close + 1;
          SkipWs();
          if (pos_ < s_.size() && s_[pos_] == ',') ++pos_;
        }
      } else {
        return SyntaxError();
      }
      SkipWs();
      if (pos_ < s_.size() && s_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (pos_ < s_.size() && s_[pos_] == ')') {
        ++pos_;
        break;
      }
      return SyntaxError();
    }
    if (property.empty() || !have_values) return SyntaxError();
    auto prop = ResolveProperty(property);
    if (!prop.ok()) return prop;
    const bool between = fn == "Between" || fn == "NotBetween";
    if (between ? values.size() != 2 : values.empty()) {
      return ApiError(400, "0x0",
                      "Condition for attribute '" + property + "': expected " +
                          (between ? "2 values" : "at least one value") + ".");
    }
    for (const auto& v : values) {
      FilterLiteral l;
      switch (CategoryOf(prop.value()->attr->type)) {
        case Category::kNumber: {
          char* e = nullptr;
          l.number = std::strtod(v.c_str(), &e);
          if (v.empty() || e != v.c_str() + v.size()) {
            return ApiError(400, "0x0",
                            "Condition for attribute '" + property + "': expected argument(s) of type '" +
                                std::string(EdmTypeName(prop.value()->attr->type)) + "'.");
          }
          l.kind = FilterLiteral::Kind::kNumber;
          break;
        }
        case Category::kTime: {
          auto tp = ParseIsoSeconds(v);
          if (!tp) return ApiError(400, "0x0", "Condition for attribute '" + property + "': invalid date '" + v + "'.");
          l.kind = FilterLiteral::Kind::kDateTime;
          l.time = *tp;
          break;
        }
        case Category::kGuid:
          l.kind = FilterLiteral::Kind::kGuid;
          l.text = ToLower(v);
          break;
        case Category::kBool:
          l.kind = FilterLiteral::Kind::kBool;
          l.boolean = v == "true" || v == "1";
          break;
        default: l.kind = FilterLiteral::Kind::kString; l.text = v;
      }
      n->values.push_back(std::move(l));
    }
    n->children.push_back(std::move(prop).value());
    return n;
  }

  std::string_view s_;
  std::size_t pos_ = 0;
  const EntityDef& entity_;
  const Metadata& metadata_;
  const AliasLookup& aliases_;
  std::string_view whole_;
  int depth_;
};

// A comparable value taken from a record column or a literal.
struct Operand {
  bool null = true;
  Category cat = Category::kAny;
  std::string text;  // strings (lower case) and guids
  double number = 0;
  bool boolean = false;
  std::int64_t time = 0;
};

Operand FromJson(const AttributeDef& attr, const nlohmann::json* v) {
  Operand o;
  o.cat = CategoryOf(attr.type);
  if (v == nullptr || v->is_null()) return o;
  o.null = false;
  switch (o.cat) {
    case Category::kString: o.text = v->is_string() ? ToLower(v->get_ref<const std::string&>()) : ""; break;
    case Category::kGuid: o.text = v->is_string() ? v->get<std::string>() : ""; break;
    case Category::kNumber: o.number = v->is_number() ? v->get<double>() : 0; break;
    case Category::kBool: o.boolean = v->is_boolean() && v->get<bool>(); break;
    case Category::kTime: {
      auto tp = v->is_string() ? ParseIsoSeconds(v->get_ref<const std::string&>()) : std::nullopt;
      if (tp) o.time = *tp;
      break;
    }
    default: break;
  }
  return o;
}

Operand FromLiteral(const FilterLiteral& l) {
  Operand o;
  o.cat = CategoryOf(l);
  o.null = l.kind == FilterLiteral::Kind::kNull;
  o.text = l.kind == FilterLiteral::Kind::kString ? ToLower(l.text) : l.text;
  o.number = l.number;
  o.boolean = l.boolean;
  o.time = l.time;
  return o;
}

const nlohmann::json* ColumnValue(const FilterNode& prop, const StoredRecord& record, const RecordLookup& lookup) {
  const StoredRecord* source = &record;
  if (prop.via != nullptr) {
    auto it = record.fields.find(prop.via->name);
    if (it == record.fields.end() || !it->is_string()) return nullptr;
    auto target = record.lookup_targets.find(prop.via->name);
    if (target == record.lookup_targets.end() || target->second != prop.via_target || !lookup) return nullptr;
    source = lookup(prop.via_target, it->get_ref<const std::string&>());
    if (source == nullptr) return nullptr;
  }
  auto it = source->fields.find(prop.attr->name);
  return it == source->fields.end() ? nullptr : &*it;
}

Operand Evaluate(const FilterNode& n, const StoredRecord& record, const RecordLookup& lookup) {
  if (n.kind == FilterNode::Kind::kLiteral) return FromLiteral(n.literal);
  return FromJson(*n.attr, ColumnValue(n, record, lookup));
}

// <0, 0, >0 for two non-null operands of one category.
int Compare(const Operand& a, const Operand& b) {
  switch (a.cat == Category::kAny ? b.cat : a.cat) {
    case Category::kString:
    case Category::kGuid: return a.text.compare(b.text);
    case Category::kNumber: return a.number < b.number ? -1 : a.number > b.number ? 1 : 0;
    case Category::kBool: return static_cast<int>(a.boolean) - static_cast<int>(b.boolean);
    case Category::kTime: return a.time < b.time ? -1 : a.time > b.time ? 1 : 0;
    default: return 0;
  }
}

bool EvaluateCompare(const std::string& op, const Operand& a, const Operand& b) {
  if (a.null || b.null) {
    const bool both = a.null && b.null;
    if (op == "eq") return both;
    if (op == "ne") return !both;
    return false;
  }
  const int c = Compare(a, b);
  if (op == "eq") return c == 0;
  if (op == "ne") return c != 0;
  if (op == "gt") return c > 0;
  if (op == "ge") return c >= 0;
  if (op == "lt") return c < 0;
  return c <= 0;
}

}  // namespace

Result<std::unique_ptr<FilterNode>> ParseFilter(std::string_view text, const EntityDef& entity,
                                                const Metadata& metadata, const AliasLookup& aliases) {
  Parser p(text, entity, metadata, aliases, text, 0);
  return p.ParseAll();
}

bool EvaluateFilter(const FilterNode& node, const StoredRecord& record, const RecordLookup& lookup) {
  switch (node.kind) {
    case FilterNode::Kind::kOr:
      return EvaluateFilter(*node.children[0], record, lookup) || EvaluateFilter(*node.children[1], record, lookup);
    case FilterNode::Kind::kAnd:
      return EvaluateFilter(*node.children[0], record, lookup) && EvaluateFilter(*node.children[1], record, lookup);
    case FilterNode::Kind::kNot: return !EvaluateFilter(*node.children[0], record, lookup);
    case FilterNode::Kind::kCompare:
      return EvaluateCompare(node.op, Evaluate(*node.children[0], record, lookup),
                             Evaluate(*node.children[1], record, lookup));
    case FilterNode::Kind::kProperty: {
      const Operand o = Evaluate(node, record, lookup);
      return !o.null && o.boolean;
    }
    case FilterNode::Kind::kLiteral: return node.literal.boolean;
    case FilterNode::Kind::kFunction: {
      const Operand v = Evaluate(*node.children[0], record, lookup);
      if (node.op == "contains" || node.op == "startswith" || node.op == "endswith") {
        if (v.null) return false;
        const std::string& lit = node.children[1]->literal.text;
        std::string pattern = node.op == "startswith" ? lit + "%" : node.op == "endswith" ? "%" + lit : "%" + lit + "%";
        return LikeMatch(v.text, pattern);
      }
      if (v.null) return node.op == "NotIn" || node.op == "NotBetween" ? false : false;
      if (node.op == "In" || node.op == "NotIn") {
        bool found = false;
        for (const auto& l : node.values) {
          if (Compare(v, FromLiteral(l)) == 0) found = true;
        }
        return node.op == "In" ? found : !found;
      }
      const bool inside = Compare(v, FromLiteral(node.values[0])) >= 0 && Compare(v, FromLiteral(node.values[1])) <= 0;
      return node.op == "Between" ? inside : !inside;
    }
  }
  return false;
}

bool LikeMatch(std::string_view text, std::string_view pattern) {
  // Iterative matcher with backtracking on the last '%'.
  std::size_t t = 0, p = 0;
  std::size_t star_p = std::string_view::npos, star_t = 0;
  auto lower = [](char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); };
  auto match_one = [&](std::size_t& pi, char c) -> bool {
    // Matches pattern element at pi against c; advances pi past the element.
    const char pc = pattern[pi];
    if (pc == '_') {
      ++pi;
      return true;
    }
    if (pc == '[') {
      const auto close = pattern.find(']', pi + 1);
      if (close != std::string_view::npos && close > pi + 1) {
        std::string_view set = pattern.substr(pi + 1, close - pi - 1);
        bool negate = false;
        if (!set.empty() && set.front() == '^' && set.size() > 1) {
          negate = true;
          set.remove_prefix(1);
        }
        bool hit = false;
        for (std::size_t i = 0; i < set.size(); ++i) {
          if (i + 2 < set.size() && set[i + 1] == '-') {
            if (lower(c) >= lower(set[i]) && lower(c) <= lower(set[i + 2])) hit = true;
            i += 2;
          } else if (lower(set[i]) == lower(c)) {
            hit = true;
          }
        }
        pi = close + 1;
        return hit != negate;
      }
    }
    ++pi;
    return lower(pc) == lower(c);
  };
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '%') {
      star_p = ++p;
      star_t = t;
      continue;
    }
    std::size_t np = p;
    if (p < pattern.size() && match_one(np, text[t])) {
      p = np;
      ++t;
      continue;
    }
    if (star_p == std::string_view::npos) return false;
    p = star_p;
    t = ++star_t;
  }
  while (p < pattern.size() && pattern[p] == '%') ++p;
  return p == pattern.size();
}

int CompareValues(const AttributeDef& attr, const nlohmann::json& a, const nlohmann::json& b) {
  const Operand x = FromJson(attr, &a);
  const Operand y = FromJson(attr, &b);
  if (x.null || y.null) return static_cast<int>(!x.null) - static_cast<int>(!y.null);
  return Compare(x, y);
}

}  // namespace crmsync::emulator
