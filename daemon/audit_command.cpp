// `crmsync audit verify [--export FILE]` and
// `crmsync audit export [--since TIME] [--until TIME] [--mapping NAME]
//                       [--format csv|jsonl] [--output FILE]`.
//
// verify walks the audit log's hash chain (state/audit_chain.h) end to end
// and names the first row that does not hold (exit 3). With --export it
// checks an exported JSON-lines file instead, on its own: every row's hash
// and its link to the row before (the first row of a partial export is
// trusted as the start). export streams rows in order, each with its
// prev_hash and hash, so an export can be verified without the database.
#include <CLI/CLI.hpp>

#include <fstream>
#include <iostream>

#include <nlohmann/json.hpp>

#include "crm/csv.h"
#include "daemon/cli.h"
#include "daemon/sync_stack.h"
#include "state/audit_chain.h"

namespace crmsync::daemon {

namespace {

using nlohmann::json;

constexpr const char* kColumns[] = {"seq",       "at",        "run_id", "mapping", "mapping_version", "action", "side",
                                    "local_key", "remote_id", "fields", "outcome", "prev_hash",       "hash"};

std::vector<std::string> Fields(const state::AuditEntry& e) {
  return {std::to_string(e.seq), e.at,        e.run_id, e.mapping, e.mapping_version, e.action, e.side,
          e.local_key,           e.remote_id, e.fields, e.outcome, e.prev_hash,       e.hash};
}

json EntryJson(const state::AuditEntry& e) {
  const auto f = Fields(e);
  json out = json::object();
  for (std::size_t i = 0; i < f.size(); ++i) out[kColumns[i]] = f[i];
  out["seq"] = e.seq;
  return out;
}

std::unique_ptr<SyncStack> OpenStore(CommandContext& context, std::optional<Config>& config) {
  config = context.LoadConfigOrReport();
  if (!config) return nullptr;
  SyncStackError error;
  auto stack = OpenSyncStack(*config, {.lock = false, .local = false, .dataverse = false, .mappings = false}, error);
  if (!stack) {
    std::cerr << "crmsync audit: " << error.status.message() << "\n";
    context.exit_code = error.exit_code;
  }
  return stack;
}

void VerifyExport(const std::string& file, CommandContext& context) {
  std::ifstream in(file);
  if (!in) {
    std::cerr << "crmsync audit verify: cannot read '" << file << "'\n";
    context.exit_code = kExitUsage;
    return;
  }
  std::string line;
  std::string prev;
  std::int64_t rows = 0;
  std::int64_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.empty()) continue;
    state::AuditEntry e;
    try {
      const json j = json::parse(line);
      e.seq = j.at("seq").get<std::int64_t>();
      e.at = j.at("at").get<std::string>();
      e.run_id = j.at("run_id").get<std::string>();
      e.mapping = j.at("mapping").get<std::string>();
      e.mapping_version = j.at("mapping_version").get<std::string>();
      e.action = j.at("action").get<std::string>();
      e.side = j.at("side").get<std::string>();
      e.local_key = j.at("local_key").get<std::string>();
      e.remote_id = j.at("remote_id").get<std::string>();
      e.fields = j.at("fields").get<std::string>();
      e.outcome = j.at("outcome").get<std::string>();
      e.prev_hash = j.at("prev_hash").get<std::string>();
      e.hash = j.at("hash").get<std::string>();
    } catch (const json::exception& ex) {
      std::cerr << file << ":" << line_no << ": not an audit export row: " << ex.what() << "\n";
      context.exit_code = kExitAuditFailed;
      return;
    }
    if (!prev.empty() && e.prev_hash != prev) {
      std::cerr << file << ":" << line_no << ": row " << e.seq
                << " does not link to the row before it (a row was removed, reordered or altered)\n";
      context.exit_code = kExitAuditFailed;
      return;
    }
    if (state::AuditRowHash(e) != e.hash) {
      std::cerr << file << ":" << line_no << ": row " << e.seq
                << " was altered (its content does not match its hash)\n";
      context.exit_code = kExitAuditFailed;
      return;
    }
    prev = e.hash;
    ++rows;
  }
  std::cout << file << ": " << rows << " rows, chain intact\n";
}

void Verify(const std::string& export_file, CommandContext& context) {
  if (!export_file.empty()) {
    VerifyExport(export_file, context);
    return;
  }
  std::optional<Config> config;
  auto stack = OpenStore(context, config);
  if (!stack) return;
  auto v = stack->store->VerifyAudit();
  if (!v.ok()) {
    std::cerr << "crmsync audit verify: " << v.status().message() << "\n";
    context.exit_code = kExitAuditFailed;
    return;
  }
  if (!v->ok) {
    std::cerr << "crmsync audit verify: FAILED at row " << v->first_bad_seq << ": " << v->problem << "\n";
    context.exit_code = kExitAuditFailed;
    return;
  }
  std::cout << "audit log intact: " << v->rows << " rows, hash chain verified\n";
}

struct ExportOptions {
  std::string since;
  std::string until;
  std::string mapping;
  std::string format = "jsonl";
  std::string output;
};

void Export(const ExportOptions& options, CommandContext& context) {
  std::optional<Config> config;
  auto stack = OpenStore(context, config);
  if (!stack) return;
  std::ofstream file;
  if (!options.output.empty()) {
    file.open(options.output, std::ios::binary | std::ios::trunc);
    if (!file) {
      std::cerr << "crmsync audit export: cannot write '" << options.output << "'\n";
      context.exit_code = kExitUsage;
      return;
    }
  }
  std::ostream& out = options.output.empty() ? std::cout : file;
  const bool csv = options.format == "csv";
  if (csv) out << crm::FormatCsvRow(std::vector<std::string>(std::begin(kColumns), std::end(kColumns)));
  std::int64_t rows = 0;
  const Status s =
      stack->store->ForEachAudit({options.since, options.until, options.mapping}, [&](const state::AuditEntry& e) {
        if (csv) {
          out << crm::FormatCsvRow(Fields(e));
        } else {
          out << EntryJson(e).dump() << "\n";
        }
        ++rows;
        return static_cast<bool>(out);
      });
  out.flush();
  if (!s.ok() || !out) {
    std::cerr << "crmsync audit export: " << (s.ok() ? "write failed" : s.message()) << "\n";
    context.exit_code = kExitRecordsFailed;
    return;
  }
  if (!options.output.empty()) std::cerr << "exported " << rows << " audit rows to " << options.output << "\n";
}

}  // namespace

void AddAuditCommand(CLI::App& app, CommandContext& context) {
  CLI::App* audit = app.add_subcommand("audit", "the tamper-evident audit log of every write, couple and conflict");
  audit->require_subcommand(1);
  auto export_file = std::make_shared<std::string>();
  CLI::App* verify = audit->add_subcommand(
      "verify", "check the hash chain end to end; exit 3 naming the first row that was altered, removed or moved");
  verify->add_option("--export", *export_file, "check an exported JSON-lines file instead of the state store");
  verify->callback([export_file, &context] { Verify(*export_file, context); });

  auto options = std::make_shared<ExportOptions>();
  CLI::App* exp = audit->add_subcommand("export", "audit rows for review, streamed, each with its chain hash");
  exp->add_option("--since", options->since, "rows at or after this UTC time (2026-12-01T00:00:00Z)");
  exp->add_option("--until", options->until, "rows before this UTC time");
  exp->add_option("--mapping", options->mapping, "only this mapping");
  exp->add_option("--format", options->format, "csv or jsonl")
      ->capture_default_str()
      ->check(CLI::IsMember({"csv", "jsonl"}));
  exp->add_option("--output", options->output, "write to this file instead of stdout");
  exp->callback([options, &context] { Export(*options, context); });
}

}  // namespace crmsync::daemon
