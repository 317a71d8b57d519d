// `crmsync check`: can crmsync reach the organisation and authenticate?
// Prints what WhoAmI answers; exit 4 when Dataverse is unreachable or the
// credentials are refused.
#include <CLI/CLI.hpp>

#include <iostream>

#include <nlohmann/json.hpp>

#include "daemon/cli.h"
#include "daemon/dataverse_stack.h"

namespace crmsync::daemon {

void AddCheckCommand(CLI::App& app, CommandContext& context) {
  auto json_output = std::make_shared<bool>(false);
  auto timeout_s = std::make_shared<int>(30);
  CLI::App* check = app.add_subcommand(
      "check", "check the connection to Dataverse: authenticate and ask WhoAmI (exit 4 when it fails)");
  check->add_flag("--json", *json_output, "print one JSON object");
  check->add_option("--timeout", *timeout_s, "give up after this many seconds, retries included")
      ->capture_default_str()
      ->check(CLI::Range(1, 3600));
  check->callback([&context, json_output, timeout_s] {
    auto config = context.LoadConfigOrReport();
    if (!config) return;
    SystemClock clock;
    auto stack = MakeDataverseStack(*config, clock);
    if (!stack.ok()) {
      std::cerr << "crmsync check: " << stack.status().message() << "\n";
      context.exit_code = kExitUsage;
      return;
    }
    const auto deadline = Deadline::After(clock, std::chrono::seconds(*timeout_s));
    auto answer = stack->connector->WhoAmI(deadline);
    if (*json_output) {
      nlohmann::json out = {{"url", config->dataverse.url}, {"ok", answer.ok()}};
      if (answer.ok()) {
        out["user_id"] = answer->user_id;
        out["business_unit_id"] = answer->business_unit_id;
        out["organization_id"] = answer->organization_id;
        out["dop_hint"] = answer->dop_hint;
      } else {
        out["error"] = {{"code", StatusCodeName(answer.status().code())},
                        {"message", answer.status().message()},
                        {"dataverse_code", answer.status().remote_code()}};
      }
      std::cout << out.dump() << "\n";
    } else if (answer.ok()) {
      std::cout << "Dataverse " << config->dataverse.url << ": authenticated\n"
                << "  user id:          " << answer->user_id << "\n"
                << "  business unit id: " << answer->business_unit_id << "\n"
                << "  organization id:  " << answer->organization_id << "\n"
                << "  parallelism hint: " << (answer->dop_hint > 0 ? std::to_string(answer->dop_hint) : "none") << "\n";
    } else {
      std::cerr << "crmsync check: Dataverse " << config->dataverse.url << ": " << answer.status().ToString() << "\n";
    }
    if (!answer.ok()) context.exit_code = kExitUnreachable;
  });
}

}  // namespace crmsync::daemon
