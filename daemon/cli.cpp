#include "daemon/cli.h"

#include <iostream>

#include "common/log.h"

namespace crmsync::daemon {

std::string CommandContext::ConfigPath() const {
  return globals.config_path.empty() ? DefaultConfigPath() : globals.config_path;
}

std::optional<Config> CommandContext::LoadConfigOrReport() {
  ConfigLoad load = LoadConfig(ConfigPath());
  if (!load.config) {
    for (const auto& d : load.diagnostics) std::cerr << d.ToString() << "\n";
    exit_code = kExitUsage;
    return std::nullopt;
  }
  LogOptions log;
  log.level = globals.log_level.empty() ? load.config->log_level : globals.log_level;
  const std::string format = globals.log_format.empty() ? load.config->log_format : globals.log_format;
  log.format = format == "json" ? LogFormat::kJson : LogFormat::kText;
  if (Status s = ConfigureLogging(log); !s.ok()) {
    std::cerr << "crmsync: " << s.message() << "\n";
    exit_code = kExitUsage;
    return std::nullopt;
  }
  return load.config;
}

}  // namespace crmsync::daemon
