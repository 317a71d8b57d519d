// The shared context of `crmsync` verbs: global options, exit codes, and
// config loading with diagnostics printed the one way users expect.
//
// Each verb lives in its own *_command.cpp and is added to the CLI11 app by
// an Add...Command(app, context) function; main.cpp calls them all. CLI11 is
// included only by those files (it is expensive to compile).
#pragma once

#include <optional>
#include <string>

#include "daemon/config.h"

namespace CLI {
class App;
}

namespace crmsync::daemon {

// Exit codes of interface.md; scripts depend on them.
enum ExitCode : int {
  kExitOk = 0,
  kExitRecordsFailed = 1,  // the pass ran but some records failed or conflicted
  kExitUsage = 2,          // bad usage, config or mapping
  kExitAuditFailed = 3,    // audit verification failed
  kExitUnreachable = 4,    // Dataverse unreachable or authentication failed
  kExitLocked = 5,         // another instance holds the state store
};

struct GlobalOptions {
  std::string config_path;  // empty = DefaultConfigPath()
  std::string log_level;    // empty = the config's (or info)
  std::string log_format;   // empty = the config's (or text)
};

struct CommandContext {
  GlobalOptions globals;
  int exit_code = kExitOk;

  std::string ConfigPath() const;
  // Loads and validates the config; on problems prints one line per problem
  // to stderr, sets exit_code to kExitUsage and returns nullopt. Also applies
  // the logging settings (command-line flags win over the file).
  std::optional<Config> LoadConfigOrReport();
};

void AddInitCommand(CLI::App& app, CommandContext& context);
void AddConfigCommand(CLI::App& app, CommandContext& context);
void AddCheckCommand(CLI::App& app, CommandContext& context);
void AddMappingCommand(CLI::App& app, CommandContext& context);
// `crmsync crm ...`: the local CRM store's records (daemon/crm_command.cpp).
void AddCrmCommand(CLI::App& app, CommandContext& context);
// `crmsync sync` and `crmsync plan` (daemon/sync_command.cpp).
void AddSyncCommand(CLI::App& app, CommandContext& context);
// status, log, conflicts, errors, couple, uncouple (daemon/state_commands.cpp).
void AddStateCommands(CLI::App& app, CommandContext& context);
// `crmsync audit verify|export` (daemon/audit_command.cpp).
void AddAuditCommand(CLI::App& app, CommandContext& context);
// `crmsync run`, the daemon (daemon/run_command.cpp, daemon/runner.h).
void AddRunCommand(CLI::App& app, CommandContext& context);

}  // namespace crmsync::daemon
