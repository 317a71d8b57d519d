// `crmsync config check`: validates the config file alone and says what is wrong.
#include <CLI/CLI.hpp>

#include <iostream>

#include "daemon/cli.h"

namespace crmsync::daemon {

void AddConfigCommand(CLI::App& app, CommandContext& context) {
  CLI::App* config = app.add_subcommand("config", "inspect the configuration file");
  config->require_subcommand(1);
  CLI::App* check =
      config->add_subcommand("check",
                             "validate the config file (keys, types, URLs, secret files and their permissions); prints "
                             "FILE:LINE: KEY: message per problem and exits 2 on any");
  check->callback([&context] {
    auto loaded = context.LoadConfigOrReport();
    if (loaded) std::cout << loaded->file << ": OK\n";
  });
}

}  // namespace crmsync::daemon
