// `crmsync crm NOUN VERB ...`: the local CRM store's records for people who
// do not write SQL. Nouns: every table of crm/schema.h with a noun (contact,
// salesperson, opportunity, order, order-line, interaction, segment,
// campaign, sales-cycle, ...); verbs: add, list, show, update, delete,
// import, export; segments also add-contacts, remove-contacts, refine,
// reapply and members (crm/segment.h), campaigns link-segment and
// unlink-segment, opportunities update --stage and close (crm/sales_cycle.h);
// and `setup show|set` for the marketing setup.
//
// The command line is built from crm/schema.h (one --COLUMN option per
// column), and the work is done by crm::Store, crm/csv.h and crm/text_io.h;
// this file only wires CLI11 to them (CLI11 is slow to compile: keep it here).
//
// Exit codes: 0 ok; 2 bad input (unknown record, invalid value, unreadable
// file) with a message naming the field and value; 1 other failures (the
// database is locked or unreadable).
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>

#include <nlohmann/json.hpp>

#include "crm/csv.h"
#include "crm/sales_cycle.h"
#include "crm/segment.h"
#include "crm/setup.h"
#include "crm/store.h"
#include "crm/text_io.h"
#include "daemon/cli.h"

namespace crmsync::daemon {

namespace {

struct CrmOptions {
  std::string database;
};

// A short filter flag of `list` and `export`: --company X means company_no = X.
struct Shortcut {
  std::string_view noun;
  std::string_view flag;
  std::string_view column;
};
constexpr Shortcut kShortcuts[] = {
    {"contact", "--type", "type"},
    {"contact", "--company", "company_no"},
    {"contact", "--salesperson", "salesperson_code"},
    {"contact", "--city", "city"},
    {"salesperson", "--blocked", "blocked"},
    {"opportunity", "--status", "status"},
    {"opportunity", "--contact", "contact_no"},
    {"opportunity", "--salesperson", "salesperson_code"},
    {"opportunity", "--stage", "sales_cycle_stage"},
    {"order", "--status", "status"},
    {"order", "--contact", "sell_to_contact_no"},
    {"order", "--opportunity", "opportunity_no"},
    {"order", "--salesperson", "salesperson_code"},
    {"order-line", "--order", "order_no"},
};

int ExitCodeFor(const Status& status) {
  switch (status.code()) {
    case StatusCode::kInvalidArgument:
    case StatusCode::kNotFound:
    case StatusCode::kAlreadyExists:
    case StatusCode::kConflict: return kExitUsage;
    default: return kExitRecordsFailed;
  }
}

std::string OptionName(std::string_view column) {
  std::string out = "--";
  for (char c : column) out += c == '_' ? '-' : c;
  return out;
}

// Everything one verb needs at run time; owned by the verb's callback.
struct Verb {
  const crm::TableSpec* spec = nullptr;
  std::string name;  // "contact add", for messages
  std::vector<std::string> key_parts;
  std::map<std::string, std::string> values;  // column -> typed text
  std::vector<std::pair<std::string, CLI::Option*>> field_options;
  std::map<std::string, std::string> filters;  // column -> typed text
  std::vector<std::pair<std::string, CLI::Option*>> filter_options;
  std::vector<std::string> where;
  std::string search;
  int limit = 0;
  bool json = false;
  std::string file;
  // Segment steps: --where criteria and --contact numbers.
  std::vector<std::string> contacts;
  crm::SegmentAction action = crm::SegmentAction::kAdd;
  // Opportunity: update --stage N; close --won|--lost --reason CODE [--date D].
  std::int64_t stage = 0;
  CLI::Option* stage_option = nullptr;
  bool won = false;
  bool lost = false;
  std::string reason;
  std::string date;

  // The columns given on the command line, in table order.
  std::vector<std::pair<std::string, std::string>> Given(
      const std::vector<std::pair<std::string, CLI::Option*>>& options,
      const std::map<std::string, std::string>& from) const {
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& [column, option] : options) {
      if (option->count() > 0) out.emplace_back(column, from.at(column));
    }
    return out;
  }
};

class CrmCli {
 public:
  CrmCli(CommandContext& context, std::shared_ptr<CrmOptions> options)
      : context_(context), options_(std::move(options)) {}

  CLI::App* AddNoun(CLI::App* crm, const crm::TableSpec& spec) {
    const std::string plural(spec.plural);
    CLI::App* noun = crm->add_subcommand(std::string(spec.noun), plural + " (table " + std::string(spec.name) + ")");
    noun->require_subcommand(1);
    noun->fallthrough();

    {
      auto verb = NewVerb(spec, "add");
      CLI::App* cmd = noun->add_subcommand(
          "add", "add a " + std::string(spec.label) + "; prints its key" +
                     (spec.series_setup_key.empty() ? "" : " (the next number of its series unless given)"));
      AddFieldOptions(cmd, *verb);
      cmd->callback([this, verb] { RunAdd(*verb); });
    }
    {
      auto verb = NewVerb(spec, "list");
      CLI::App* cmd = noun->add_subcommand("list", "list " + plural + " (filters combine with AND)");
      AddFilterOptions(cmd, *verb);
      cmd->add_option("--limit", verb->limit, "show at most this many");
      cmd->add_flag("--json", verb->json, "print one JSON array of objects with every column");
      cmd->callback([this, verb] { RunList(*verb); });
    }
    {
      auto verb = NewVerb(spec, "show");
      CLI::App* cmd = noun->add_subcommand("show", "show every column of one " + std::string(spec.label));
      AddKeyArguments(cmd, *verb);
      cmd->add_flag("--json", verb->json, "print one JSON object");
      cmd->callback([this, verb] { RunShow(*verb); });
    }
    {
      auto verb = NewVerb(spec, "update");
      CLI::App* cmd = noun->add_subcommand("update", "change the given columns of one " + std::string(spec.label) +
                                                         " (\"\" clears a column); prints its key");
      AddKeyArguments(cmd, *verb);
      AddFieldOptions(cmd, *verb);
      if (spec.table == crm::Table::kOpportunity) {
        verb->stage_option = cmd->add_option("--stage", verb->stage,
                                             "move it to this stage of its sales cycle: current_stage, completed_pct "
                                             "and probability follow the stage");
      }
      cmd->callback([this, verb] { RunUpdate(*verb); });
    }
    {
      auto verb = NewVerb(spec, "delete");
      CLI::App* cmd = noun->add_subcommand("delete", "delete one " + std::string(spec.label));
      AddKeyArguments(cmd, *verb);
      cmd->callback([this, verb] { RunDelete(*verb); });
    }
    {
      auto verb = NewVerb(spec, "import");
      CLI::App* cmd = noun->add_subcommand(
          "import", "add " + plural +
                        " from a CSV file whose first row names the columns; all or nothing: every bad row is "
                        "reported with its line number and nothing is added unless all rows are good");
      cmd->add_option("FILE", verb->file, "CSV file (- for standard input)")->required();
      cmd->callback([this, verb] { RunImport(*verb); });
    }
    {
      auto verb = NewVerb(spec, "export");
      CLI::App* cmd = noun->add_subcommand("export", "write " + plural + " as CSV with a header row of column names");
      AddFilterOptions(cmd, *verb);
      cmd->add_option("--output,-o", verb->file, "file to write (default: standard output)");
      cmd->callback([this, verb] { RunExport(*verb); });
    }
    return noun;
  }

  // `crm segment add-contacts|remove-contacts|refine|reapply|members`.
  void AddSegmentVerbs(CLI::App* noun) {
    const crm::TableSpec& spec = crm::SpecOf(crm::Table::kSegment);
    constexpr struct {
      const char* name;
      crm::SegmentAction action;
      const char* help;
    } kSteps[] = {
        {"add-contacts", crm::SegmentAction::kAdd, "add the contacts matching every criterion"},
        {"remove-contacts", crm::SegmentAction::kRemove, "remove the members matching every criterion"},
        {"refine", crm::SegmentAction::kRefine, "keep only the members matching every criterion"},
    };
    for (const auto& step : kSteps) {
      auto verb = NewVerb(spec, step.name);
      verb->action = step.action;
      CLI::App* cmd = noun->add_subcommand(
          step.name, std::string(step.help) +
                         "; the criteria are saved with the segment (reapply runs them again); prints the counts");
      AddKeyArguments(cmd, *verb);
      cmd->add_option("--where", verb->where,
                      "COLUMN OP VALUE over any contact column, OP one of =, !=, like, in: city=Paris, "
                      "\"type in person,company\", \"name like A%\" (repeatable; combined with AND)");
      cmd->add_option("--contact", verb->contacts, "this contact number (repeatable; must exist)");
      cmd->callback([this, verb] { RunSegmentStep(*verb); });
    }
    {
      auto verb = NewVerb(spec, "reapply");
      CLI::App* cmd = noun->add_subcommand(
          "reapply", "run the segment's saved criteria again, in order, from no members; prints the counts");
      AddKeyArguments(cmd, *verb);
      cmd->callback([this, verb] { RunSegmentReapply(*verb); });
    }
    {
      auto verb = NewVerb(spec, "members");
      CLI::App* cmd = noun->add_subcommand("members", "list the segment's member contacts");
      AddKeyArguments(cmd, *verb);
      cmd->add_flag("--json", verb->json, "print one JSON array of the contacts with every column");
      cmd->callback([this, verb] { RunSegmentMembers(*verb); });
    }
  }

  // `crm campaign link-segment|unlink-segment CAMPAIGN SEGMENT`.
  void AddCampaignVerbs(CLI::App* noun) {
    const crm::TableSpec& spec = crm::SpecOf(crm::Table::kCampaign);
    for (const bool link : {true, false}) {
      auto verb = NewVerb(spec, link ? "link-segment" : "unlink-segment");
      verb->key_parts.resize(2);
      CLI::App* cmd = noun->add_subcommand(
          link ? "link-segment" : "unlink-segment",
          link ? "target a segment's contacts with the campaign" : "stop targeting a segment with the campaign");
      cmd->add_option("NO", verb->key_parts[0], "the campaign's no")->required();
      cmd->add_option("SEGMENT", verb->key_parts[1], "the segment's no")->required();
      cmd->callback([this, verb, link] { RunCampaignLink(*verb, link); });
    }
  }

  // `crm opportunity close NO --won|--lost --reason CODE [--date D]`.
  void AddOpportunityVerbs(CLI::App* noun) {
    auto verb = NewVerb(crm::SpecOf(crm::Table::kOpportunity), "close");
    CLI::App* cmd =
        noun->add_subcommand("close", "close it as won or lost for a reason (a close-opportunity-code of that type)");
    AddKeyArguments(cmd, *verb);
    CLI::Option* won = cmd->add_flag("--won", verb->won, "it was won");
    cmd->add_flag("--lost", verb->lost, "it was lost")->excludes(won);
    cmd->add_option("--reason", verb->reason, "the close opportunity code")->required();
    cmd->add_option("--date", verb->date, "date closed, YYYY-MM-DD (default: today, UTC)");
    cmd->callback([this, verb] { RunOpportunityClose(*verb); });
  }

  // `crm setup show|set`: the marketing setup (crm/setup.h).
  void AddSetup(CLI::App* crm) {
    std::string keys;
    for (const auto& k : crm::SetupKeys()) keys += "\n  " + std::string(k.name) + ": " + std::string(k.help);
    CLI::App* noun = crm->add_subcommand(
        "setup", "marketing setup: number series, a new contact's defaults, what persons inherit from their company");
    noun->require_subcommand(1);
    {
      auto verb = std::make_shared<Verb>();
      verb->name = "setup show";
      CLI::App* cmd = noun->add_subcommand("show", "print every setup key with its value and meaning");
      cmd->add_flag("--json", verb->json, "print one JSON object of key: value (null when not set)");
      cmd->callback([this, verb] { RunSetupShow(*verb); });
    }
    {
      auto verb = std::make_shared<Verb>();
      verb->name = "setup set";
      verb->key_parts.resize(2);
      CLI::App* cmd =
          noun->add_subcommand("set", "set one setup key (\"\" clears a key that may be empty). Keys:" + keys);
      cmd->add_option("KEY", verb->key_parts[0], "the setup key")->required();
      cmd->add_option("VALUE", verb->key_parts[1], "its new value")->required();
      cmd->callback([this, verb] { RunSetupSet(*verb); });
    }
  }

 private:
  void RunSetupShow(const Verb& verb) {
    auto store = OpenStore(verb);
    if (!store) return;
    auto entries = crm::ReadSetup(store->db());
    if (!entries.ok()) return Fail(verb, entries.status());
    if (verb.json) {
      Record out;
      for (const auto& e : *entries) out[std::string(e.key->name)] = e.value ? Value::Text(*e.value) : Value();
      std::cout << crm::RecordToJsonText(out);
      return;
    }
    std::size_t width = 0;
    for (const auto& e : *entries) width = std::max(width, e.key->name.size());
    for (const auto& e : *entries) {
      std::string name(e.key->name);
      name.resize(width, ' ');
      std::string value = e.value.value_or("(not set)");
      std::cout << name << "  " << value << "  # " << e.key->help << "\n";
    }
  }

  void RunSetupSet(const Verb& verb) {
    auto store = OpenStore(verb);
    if (!store) return;
    if (Status s = crm::WriteSetup(store->db(), verb.key_parts[0], verb.key_parts[1]); !s.ok()) return Fail(verb, s);
    std::cout << verb.key_parts[0] << " = " << (verb.key_parts[1].empty() ? "(not set)" : verb.key_parts[1]) << "\n";
  }

  std::shared_ptr<Verb> NewVerb(const crm::TableSpec& spec, const std::string& verb) {
    auto v = std::make_shared<Verb>();
    v->spec = &spec;
    v->name = std::string(spec.noun) + " " + verb;
    return v;
  }

  void AddFieldOptions(CLI::App* cmd, Verb& verb) {
    for (const auto& column : verb.spec->columns) {
      if (column.read_only) continue;
      CLI::Option* option =
          cmd->add_option(OptionName(column.name), verb.values[std::string(column.name)], std::string(column.help));
      verb.field_options.emplace_back(std::string(column.name), option);
    }
  }

  void AddFilterOptions(CLI::App* cmd, Verb& verb) {
    for (const auto& s : kShortcuts) {
      if (s.noun != verb.spec->noun) continue;
      const std::string column(s.column);
      CLI::Option* option =
          cmd->add_option(std::string(s.flag), verb.filters[column], "only rows whose " + column + " is this");
      verb.filter_options.emplace_back(column, option);
    }
    cmd->add_option("--where", verb.where, "COLUMN=VALUE: only rows whose column has this value (repeatable)");
    cmd->add_option("--search", verb.search, "only rows with this text in any text column (case-insensitive)");
  }

  void AddKeyArguments(CLI::App* cmd, Verb& verb) {
    verb.key_parts.resize(verb.spec->key_columns.size());
    for (std::size_t i = 0; i < verb.spec->key_columns.size(); ++i) {
      std::string upper(verb.spec->key_columns[i]);
      for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      cmd->add_option(upper, verb.key_parts[i],
                      "the " + std::string(verb.spec->label) + "'s " + std::string(verb.spec->key_columns[i]))
          ->required();
    }
  }

  // Opens the store named by --database, else by the config's local.database.
  std::optional<crm::Store> OpenStore(const Verb& verb) {
    std::string path = options_->database;
    if (path.empty()) {
      auto config = context_.LoadConfigOrReport();
      if (!config) return std::nullopt;  // problems printed, exit code set
      path = config->local_database;
    }
    auto store = crm::Store::Open(path);
    if (!store.ok()) {
      Fail(verb, store.status());
      return std::nullopt;
    }
    return std::move(store).value();
  }

  void Fail(const Verb& verb, const Status& status) {
    std::cerr << "crmsync crm " << verb.name << ": " << status.message() << "\n";
    context_.exit_code = ExitCodeFor(status);
  }

  Result<crm::ListQuery> Query(const Verb& verb) {
    crm::ListQuery query;
    std::vector<std::pair<std::string, std::string>> texts = verb.Given(verb.filter_options, verb.filters);
    for (const auto& w : verb.where) {
      const auto eq = w.find('=');
      if (eq == std::string::npos) return InvalidArgument("--where '" + w + "' is not COLUMN=VALUE");
      texts.emplace_back(w.substr(0, eq), w.substr(eq + 1));
    }
    CRMSYNC_ASSIGN_OR_RETURN(Record filters, crm::FieldsFromText(*verb.spec, texts));
    for (auto& [column, value] : filters) query.equals.emplace_back(column, value);
    query.search = verb.search;
    query.limit = verb.limit;
    return query;
  }

  Result<std::string> Key(const Verb& verb) { return crm::KeyFromText(*verb.spec, verb.key_parts); }

  void RunAdd(const Verb& verb) {
    auto fields = crm::FieldsFromText(*verb.spec, verb.Given(verb.field_options, verb.values));
    if (!fields.ok()) return Fail(verb, fields.status());
    auto store = OpenStore(verb);
    if (!store) return;
    auto key = store->Add(verb.spec->table, *fields);
    if (!key.ok()) return Fail(verb, key.status());
    std::cout << crm::KeyForPeople(*verb.spec, *key) << "\n";
  }

  void RunList(const Verb& verb) {
    auto query = Query(verb);
    if (!query.ok()) return Fail(verb, query.status());
    auto store = OpenStore(verb);
    if (!store) return;
    auto rows = store->List(verb.spec->table, *query);
    if (!rows.ok()) return Fail(verb, rows.status());
    std::cout << (verb.json ? crm::RecordsToJsonText(*rows) : crm::FormatTable(*verb.spec, *rows));
  }

  void RunShow(const Verb& verb) {
    auto key = Key(verb);
    if (!key.ok()) return Fail(verb, key.status());
    auto store = OpenStore(verb);
    if (!store) return;
    auto row = store->Get(verb.spec->table, *key);
    if (!row.ok()) return Fail(verb, row.status());
    std::string text = crm::FormatRecord(*verb.spec, *row);
    nlohmann::json extra = nlohmann::json::object();
    if (Status s = AddShowDetails(*store, verb, *key, text, extra); !s.ok()) return Fail(verb, s);
    if (!verb.json) {
      std::cout << text;
      return;
    }
    if (extra.empty()) {
      std::cout << crm::RecordToJsonText(*row);
      return;
    }
    nlohmann::json doc = nlohmann::json::parse(crm::RecordToJsonText(*row));
    doc.update(extra);
    std::cout << doc.dump(2) << "\n";
  }

  void RunUpdate(const Verb& verb) {
    auto key = Key(verb);
    if (!key.ok()) return Fail(verb, key.status());
    const auto given = verb.Given(verb.field_options, verb.values);
    const bool stage = verb.stage_option != nullptr && verb.stage_option->count() > 0;
    if (given.empty() && !stage) {
      return Fail(verb, InvalidArgument("nothing to change: give at least one --COLUMN VALUE"));
    }
    auto fields = crm::FieldsFromText(*verb.spec, given);
    if (!fields.ok()) return Fail(verb, fields.status());
    auto store = OpenStore(verb);
    if (!store) return;
    std::string new_key = *key;
    Status s = store->InTransaction([&](SqliteDb& db) -> Status {
      if (!fields->empty()) {
        CRMSYNC_ASSIGN_OR_RETURN(new_key, crm::UpdateRow(db, *verb.spec, *key, *fields));
      }
      if (stage) CRMSYNC_RETURN_IF_ERROR(crm::SetOpportunityStage(db, new_key, verb.stage));
      return Status::Ok();
    });
    if (!s.ok()) return Fail(verb, s);
    std::cout << crm::KeyForPeople(*verb.spec, new_key) << "\n";
  }

  void RunDelete(const Verb& verb) {
    auto key = Key(verb);
    if (!key.ok()) return Fail(verb, key.status());
    auto store = OpenStore(verb);
    if (!store) return;
    if (Status s = store->Delete(verb.spec->table, *key); !s.ok()) return Fail(verb, s);
    std::cout << "deleted " << verb.spec->label << " " << crm::KeyForPeople(*verb.spec, *key) << "\n";
  }

  void RunImport(const Verb& verb) {
    std::stringstream text;
    if (verb.file == "-") {
      text << std::cin.rdbuf();
    } else {
      std::ifstream in(verb.file, std::ios::binary);
      if (!in) return Fail(verb, InvalidArgument("cannot read '" + verb.file + "'"));
      text << in.rdbuf();
    }
    auto store = OpenStore(verb);
    if (!store) return;
    auto report = crm::ImportCsv(*store, verb.spec->table, text.str());
    if (!report.ok()) return Fail(verb, report.status().WithContext(verb.file));
    if (!report->errors.empty()) {
      for (const auto& e : report->errors) std::cerr << verb.file << ": " << e << "\n";
      std::cerr << "crmsync crm " << verb.name << ": " << report->errors.size()
                << " rows have errors; nothing was imported\n";
      context_.exit_code = kExitUsage;
      return;
    }
    std::cout << "imported " << report->keys.size() << " "
              << (report->keys.size() == 1 ? verb.spec->label : verb.spec->plural) << "\n";
  }

  void RunExport(const Verb& verb) {
    auto query = Query(verb);
    if (!query.ok()) return Fail(verb, query.status());
    auto store = OpenStore(verb);
    if (!store) return;
    auto csv = crm::ExportCsv(*store, verb.spec->table, *query);
    if (!csv.ok()) return Fail(verb, csv.status());
    if (verb.file.empty()) {
      std::cout << *csv;
      return;
    }
    std::ofstream out(verb.file, std::ios::binary | std::ios::trunc);
    out << *csv;
    out.close();
    if (!out) return Fail(verb, IoError("cannot write '" + verb.file + "'"));
  }

  void RunSegmentStep(const Verb& verb) {
    auto key = Key(verb);
    if (!key.ok()) return Fail(verb, key.status());
    std::vector<crm::Criterion> criteria;
    for (const auto& w : verb.where) {
      auto c = crm::ParseCriterion(w);
      if (!c.ok()) return Fail(verb, c.status().WithContext("--where"));
      criteria.push_back(std::move(c).value());
    }
    if (!verb.contacts.empty()) {
      std::string list;
      for (const auto& no : verb.contacts) {
        if (no.empty() || no.find(',') != std::string::npos) {
          return Fail(verb, InvalidArgument("contact: '" + no + "' is not a contact number"));
        }
        list += (list.empty() ? "" : ",") + no;
      }
      criteria.push_back(crm::Criterion{"no", "in", list});
    }
    if (criteria.empty())
      return Fail(verb, InvalidArgument("give at least one --where COLUMN OP VALUE or --contact NO"));
    auto store = OpenStore(verb);
    if (!store) return;
    crm::SegmentChange change;
    Status s = store->InTransaction([&](SqliteDb& db) -> Status {
      CRMSYNC_RETURN_IF_ERROR(crm::CheckContactsExist(db, verb.contacts));
      CRMSYNC_ASSIGN_OR_RETURN(change, crm::ApplySegmentStep(db, *key, verb.action, criteria));
      return Status::Ok();
    });
    if (!s.ok()) return Fail(verb, s);
    PrintChange(*key, change);
  }

  void RunSegmentReapply(const Verb& verb) {
    auto key = Key(verb);
    if (!key.ok()) return Fail(verb, key.status());
    auto store = OpenStore(verb);
    if (!store) return;
    crm::SegmentChange change;
    Status s = store->InTransaction([&](SqliteDb& db) -> Status {
      CRMSYNC_ASSIGN_OR_RETURN(change, crm::ReapplySegment(db, *key));
      return Status::Ok();
    });
    if (!s.ok()) return Fail(verb, s);
    PrintChange(*key, change);
  }

  static void PrintChange(const std::string& segment, const crm::SegmentChange& change) {
    std::cout << "segment " << segment << ": " << change.added << " added, " << change.removed << " removed, "
              << change.members << " members\n";
  }

  void RunSegmentMembers(const Verb& verb) {
    auto key = Key(verb);
    if (!key.ok()) return Fail(verb, key.status());
    auto store = OpenStore(verb);
    if (!store) return;
    if (auto segment = store->Get(crm::Table::kSegment, *key); !segment.ok()) return Fail(verb, segment.status());
    auto nos = crm::SegmentMemberNos(store->db(), *key);
    if (!nos.ok()) return Fail(verb, nos.status());
    std::vector<Record> rows;
    for (const auto& no : *nos) {
      auto row = store->Get(crm::Table::kContact, no);
      if (!row.ok()) return Fail(verb, row.status());
      rows.push_back(std::move(row).value());
    }
    const crm::TableSpec& contacts = crm::SpecOf(crm::Table::kContact);
    std::cout << (verb.json ? crm::RecordsToJsonText(rows) : crm::FormatTable(contacts, rows));
  }

  void RunCampaignLink(const Verb& verb, bool link) {
    const crm::TableSpec& spec = crm::SpecOf(crm::Table::kCampaignSegment);
    auto key = crm::KeyFromText(spec, verb.key_parts);
    if (!key.ok()) return Fail(verb, key.status());
    auto store = OpenStore(verb);
    if (!store) return;
    Status s = link ? store
                          ->Add(crm::Table::kCampaignSegment, {{"campaign_no", Value::Text(verb.key_parts[0])},
                                                               {"segment_no", Value::Text(verb.key_parts[1])}})
                          .status()
                    : store->Delete(crm::Table::kCampaignSegment, *key);
    if (s.code() == StatusCode::kNotFound && !link) {
      s = NotFound("segment: campaign '" + verb.key_parts[0] + "' is not linked to segment '" + verb.key_parts[1] +
                   "'");
    }
    if (!s.ok()) return Fail(verb, s);
    std::cout << (link ? "linked" : "unlinked") << " campaign " << verb.key_parts[0] << " and segment "
              << verb.key_parts[1] << "\n";
  }

  void RunOpportunityClose(const Verb& verb) {
    auto key = Key(verb);
    if (!key.ok()) return Fail(verb, key.status());
    if (verb.won == verb.lost) return Fail(verb, InvalidArgument("status: give --won or --lost"));
    if (!verb.date.empty()) {
      auto date = crm::ParseFieldText(*crm::FindColumn(*verb.spec, "date_closed"), verb.date);
      if (!date.ok()) return Fail(verb, date.status());
    }
    auto store = OpenStore(verb);
    if (!store) return;
    Status s = store->InTransaction(
        [&](SqliteDb& db) { return crm::CloseOpportunity(db, *key, verb.won, verb.reason, verb.date); });
    if (!s.ok()) return Fail(verb, s);
    std::cout << "closed opportunity " << *key << " as " << (verb.won ? "won" : "lost") << "\n";
  }

  // What `show` adds for segments (criteria, member count) and campaigns
  // (linked segments): lines of text and members of the JSON object.
  Status AddShowDetails(crm::Store& store, const Verb& verb, const std::string& key, std::string& text,
                        nlohmann::json& json) {
    if (verb.spec->table == crm::Table::kSegment) {
      crm::ListQuery criteria;
      criteria.equals.emplace_back("segment_no", Value::Text(key));
      CRMSYNC_ASSIGN_OR_RETURN(auto rows, store.List(crm::Table::kSegmentCriterion, criteria));
      CRMSYNC_ASSIGN_OR_RETURN(auto members, crm::SegmentMemberNos(store.db(), key));
      text += "criteria:\n";
      json["criteria"] = nlohmann::json::array();
      for (const auto& r : rows) {
        const std::string step = r.at("step").ToDisplayString();
        const std::string action = r.at("action").ToDisplayString();
        const std::string c = r.at("column_name").ToDisplayString() + " " + r.at("operator").ToDisplayString() + " " +
                              r.at("value").ToDisplayString();
        text.append("  step ").append(step).append(" ").append(action).append(": ").append(c).append("\n");
        json["criteria"].push_back({{"step", r.at("step").as_integer()}, {"action", action}, {"criterion", c}});
      }
      text += "members: " + std::to_string(members.size()) + "\n";
      json["members"] = members.size();
    }
    if (verb.spec->table == crm::Table::kCampaign) {
      crm::ListQuery links;
      links.equals.emplace_back("campaign_no", Value::Text(key));
      CRMSYNC_ASSIGN_OR_RETURN(auto rows, store.List(crm::Table::kCampaignSegment, links));
      std::string list;
      json["segments"] = nlohmann::json::array();
      for (const auto& r : rows) {
        list += (list.empty() ? "" : ", ") + r.at("segment_no").ToDisplayString();
        json["segments"].push_back(r.at("segment_no").ToDisplayString());
      }
      text += "segments: " + list + "\n";
    }
    return Status::Ok();
  }

  CommandContext& context_;
  std::shared_ptr<CrmOptions> options_;
};

}  // namespace

void AddCrmCommand(CLI::App& app, CommandContext& context) {
  auto options = std::make_shared<CrmOptions>();
  CLI::App* crm = app.add_subcommand(
      "crm",
      "the local CRM store: contacts (persons and companies), salespeople, opportunities, sales orders and lines.\n"
      "Values are typed per column (--COLUMN VALUE; \"\" clears); see docs/local-store.md.\n"
      "Exit codes: 0 ok, 2 bad input (message names the field and value), 1 other failures.");
  crm->add_option("--database", options->database,
                  "the local store's SQLite file (default: local.database of the config)");
  crm->require_subcommand(1);
  crm->fallthrough();
  // The CLI object lives as long as the app: verbs' callbacks point into it.
  auto cli = std::make_shared<CrmCli>(context, options);
  for (const auto& spec : crm::Tables()) {
    if (spec.noun.empty()) continue;  // link tables: written through their owner's verbs
    CLI::App* noun = cli->AddNoun(crm, spec);
    if (spec.table == crm::Table::kSegment) cli->AddSegmentVerbs(noun);
    if (spec.table == crm::Table::kCampaign) cli->AddCampaignVerbs(noun);
    if (spec.table == crm::Table::kOpportunity) cli->AddOpportunityVerbs(noun);
  }
  cli->AddSetup(crm);
  crm->callback([cli] {});  // keeps `cli` alive with the app
}

}  // namespace crmsync::daemon
