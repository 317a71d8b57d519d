// crmsync: keeps a local CRM store and Dynamics 365 Sales in step.
// The composition root: parses the command line and runs one verb.
#include <sys/stat.h>

#include <CLI/CLI.hpp>

#include <cstdlib>
#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include "common/key_table.h"
#include "common/log.h"
#include "daemon/cli.h"
#include "http/cpprest_client.h"

#ifndef CRMSYNC_VERSION
#define CRMSYNC_VERSION "0.0.0"
#endif

namespace {

// Parses the command line and runs the verb it names; returns the exit code.
int Run(int argc, char** argv) {
  using namespace crmsync::daemon;
  // Before anything uses cpprestsdk: its default pool is 40 threads, slow on small machines.
  crmsync::http::InitializeCpprestThreadPool(4);
  // Until a verb loads the config, log warnings and errors as text on stderr.
  // Ignored: it fails only on a log level outside kLogLevels, and "warn" is one.
  (void)crmsync::ConfigureLogging({.level = "warn", .format = crmsync::LogFormat::kText});

  CLI::App app{
      "crmsync keeps a local CRM store (SQLite) and Microsoft Dynamics 365 Sales (Dataverse) in step:\n"
      "contacts, salespeople, opportunities and sales orders, field by field, as a systemd service.\n"
      "Exit codes: 0 ok, 1 some records failed or conflicted, 2 bad usage/config/mapping,\n"
      "3 audit verification failed, 4 Dataverse unreachable or authentication failed,\n"
      "5 another instance holds the state store.",
      "crmsync"};
  app.set_version_flag("--version", std::string("crmsync ") + CRMSYNC_VERSION);
  app.require_subcommand(1);
  app.fallthrough();

  CommandContext context;
  app.add_option("--config", context.globals.config_path,
                 "config file (default: $CRMSYNC_CONFIG, then /etc/crmsync/crmsync.json)");
  const std::vector<std::string> levels(crmsync::kLogLevels.begin(), crmsync::kLogLevels.end());
  const std::vector<std::string> formats(crmsync::kLogFormats.begin(), crmsync::kLogFormats.end());
  app.add_option("--log-level", context.globals.log_level, crmsync::JoinChoices(crmsync::kLogLevels))
      ->check(CLI::IsMember(levels));
  app.add_option("--log-format", context.globals.log_format,
                 crmsync::JoinChoices(crmsync::kLogFormats) + " (json: one object per line on stderr)")
      ->check(CLI::IsMember(formats));

  AddInitCommand(app, context);
  AddConfigCommand(app, context);
  AddCheckCommand(app, context);
  AddMappingCommand(app, context);
  AddCrmCommand(app, context);
  AddSyncCommand(app, context);
  AddStateCommands(app, context);
  AddAuditCommand(app, context);
  AddRunCommand(app, context);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kExitUsage;
  }
  return context.exit_code;
}

}  // namespace

int main(int argc, char** argv) {
  // No file crmsync creates is for other users: the stores with the -wal,
  // -shm and -journal files SQLite puts beside them, the lock file, `init`'s
  // folder, files and stores, audit exports. SQLite creates its files 0644
  // less the umask and cannot be given a mode per file, so the process umask
  // is the one place that covers every file, whoever opens it; adding the
  // "others" bits to the umask we were started with (rather than setting one)
  // never loosens a stricter one (the unit's UMask=0077) and keeps the group
  // bits an admin chose (README: other local programs and the local store).
  const mode_t inherited = ::umask(0);
  ::umask(inherited | S_IRWXO);
  // Errors are values and exceptions stop where they are thrown, so one that
  // gets here is a bug: abort loudly, as std::terminate would, but say what it
  // was in crmsync's words first.
  try {
    return Run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "crmsync: internal error: " << e.what() << "\n";
  } catch (...) {
    std::cerr << "crmsync: internal error: an unknown exception\n";
  }
  std::abort();
}
