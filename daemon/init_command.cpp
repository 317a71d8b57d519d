// `crmsync init`: writes a commented config and creates the stores.
// Idempotent: an existing file or database is kept, never overwritten.
#include <CLI/CLI.hpp>

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <iostream>

#include "common/sqlite.h"
#include "daemon/cli.h"
#include "daemon/init.h"

namespace crmsync::daemon {

void AddInitCommand(CLI::App& app, CommandContext& context) {
  auto options = std::make_shared<InitOptions>();
  CLI::App* cmd =
      app.add_subcommand("init",
                         "write a config, the default mappings, and create the local store and the state store (never "
                         "overwrites existing data)");
  cmd->add_option("--dir", options->dir, "folder for the config, mappings and databases")->capture_default_str();
  cmd->add_option("--url", options->url, "Dataverse organisation URL")->capture_default_str();
  cmd->add_option("--tenant-id", options->tenant_id, "Microsoft Entra tenant id")->capture_default_str();
  cmd->add_option("--client-id", options->client_id, "application (client) id")->capture_default_str();
  cmd->add_flag("--client-secret-stdin", options->secret_from_stdin,
                "read the client secret from standard input and store it in DIR/client-secret (mode 0600)");
  cmd->add_flag("--sample-data", options->sample_data,
                "add sample companies, persons, salespeople, opportunities and an order to the local store when it "
                "is empty");
  cmd->callback([options, &context] {
    if (options->secret_from_stdin) {
      std::getline(std::cin, options->secret);
      if (options->secret.empty()) {
        std::cerr << "crmsync init: --client-secret-stdin given but standard input was empty\n";
        context.exit_code = kExitUsage;
        return;
      }
    }
    auto report = RunInit(*options);
    if (!report.ok()) {
      std::cerr << "crmsync init: " << report.status().message() << "\n";
      context.exit_code = kExitUsage;
      return;
    }
    for (const auto& line : *report) std::cout << line << "\n";
  });
}

}  // namespace crmsync::daemon
