// `crmsync mapping validate [FILE]... [--database FILE]` and
// `crmsync mapping show NAME [--json] [--dir DIR]`.
//
// validate prints one line per problem, "FILE:LINE: JSON-PATH: message", on
// stderr (like every other diagnostic of the CLI) and exits 2; otherwise it
// prints "N mappings OK" on stdout and exits 0. The work is in mapping/; this
// file only reads the command line.
#include <CLI/CLI.hpp>

#include <filesystem>
#include <iostream>

#include <nlohmann/json.hpp>

#include "daemon/cli.h"
#include "mapping/local_schema.h"
#include "mapping/mapping_loader.h"

namespace crmsync::daemon {

namespace {

struct MappingOptions {
  std::vector<std::string> files;
  std::string database;
  std::string name;
  std::string dir;
  bool json = false;
};

void Report(const Diagnostics& diagnostics) {
  for (const auto& d : diagnostics) std::cerr << d.ToString() << "\n";
}

void RunValidate(const MappingOptions& options, CommandContext& context) {
  mapping::MappingSetLoad load;
  std::string database = options.database;
  if (!options.files.empty()) {
    load = mapping::LoadMappingFiles(options.files);
  } else {
    // No files: the config itself, then its mappings folder and local store.
    auto config = context.LoadConfigOrReport();
    if (!config) return;
    load = mapping::LoadMappingDirectory(config->mappings_dir);
    std::error_code ec;
    if (database.empty() && std::filesystem::exists(config->local_database, ec)) database = config->local_database;
  }
  if (!database.empty()) {
    const Diagnostics more = mapping::CheckLocalDatabase(load.set, database);
    load.diagnostics.insert(load.diagnostics.end(), more.begin(), more.end());
  }
  if (!load.ok()) {
    Report(load.diagnostics);
    context.exit_code = kExitUsage;
    return;
  }
  const std::size_t n = load.set.mappings().size();
  std::cout << n << (n == 1 ? " mapping" : " mappings") << " OK"
            << (database.empty() ? "" : " (local columns checked against " + database + ")") << "\n";
}

void RunShow(const MappingOptions& options, CommandContext& context) {
  std::string dir = options.dir;
  if (dir.empty()) {
    auto config = context.LoadConfigOrReport();
    if (!config) return;
    dir = config->mappings_dir;
  }
  const mapping::MappingSetLoad load = mapping::LoadMappingDirectory(dir);
  if (!load.ok()) {
    Report(load.diagnostics);
    context.exit_code = kExitUsage;
    return;
  }
  const mapping::Mapping* m = load.set.Find(options.name);
  if (m == nullptr) {
    const std::string guess = ClosestMatch(options.name, load.set.Names());
    std::string names;
    for (const auto& n : load.set.Names()) names += (names.empty() ? "" : ", ") + n;
    std::cerr << "crmsync mapping show: no mapping named '" << options.name << "'"
              << (guess.empty() ? "" : "; did you mean '" + guess + "'?") << " (mappings: " << names << ")\n";
    context.exit_code = kExitUsage;
    return;
  }
  nlohmann::json doc = m->NormalisedJson();
  if (options.json) {
    doc["version"] = m->version;
    doc["file"] = m->source_file;
    std::cout << doc.dump(2) << "\n";
  } else {
    std::cout << "// " << m->source_file << "\n// version " << m->version << "\n" << doc.dump(2) << "\n";
  }
}

}  // namespace

void AddMappingCommand(CLI::App& app, CommandContext& context) {
  auto options = std::make_shared<MappingOptions>();
  CLI::App* cmd = app.add_subcommand("mapping", "check and show the field mappings");
  cmd->require_subcommand(1);

  CLI::App* validate = cmd->add_subcommand(
      "validate",
      "check mapping files and print FILE:LINE: PATH: message per problem (exit 2 on any). Without FILEs: the "
      "config and every *.json of its mappings folder, against its local store when that exists");
  validate->add_option("files", options->files, "mapping files, checked as one set");
  validate->add_option("--database", options->database, "local store (SQLite) to check tables and columns against")
      ->check(CLI::ExistingFile);
  validate->callback([options, &context] { RunValidate(*options, context); });

  CLI::App* show = cmd->add_subcommand("show",
                                       "the mapping as the daemon understands it, defaults filled in, "
                                       "with its version (the hash the audit log records)");
  show->add_option("name", options->name, "mapping name")->required();
  show->add_flag("--json", options->json, "one JSON document (with \"version\" and \"file\")");
  show->add_option("--dir", options->dir, "mappings folder (default: the config's)");
  show->callback([options, &context] { RunShow(*options, context); });
}

}  // namespace crmsync::daemon
