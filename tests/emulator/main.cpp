// dataverse-emulator: runs the Dataverse emulator until SIGTERM or SIGINT.
// Prints its base URL on stdout (one line) once it accepts connections.
#include <csignal>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "tests/emulator/emulator.h"

int main(int argc, char** argv) {
  using crmsync::emulator::Emulator;
  using crmsync::emulator::EmulatorOptions;
  // Block the stop signals before any thread starts so only sigwait sees them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  EmulatorOptions options;
  bool help = false;
  const std::vector<std::string> args(argv + 1, argv + argc);
  crmsync::Status s = crmsync::emulator::ApplyArgs(args, options, &help);
  if (help) {
    std::cout << crmsync::emulator::UsageText();
    return 0;
  }
  if (!s.ok()) {
    std::cerr << "dataverse-emulator: " << s.message() << "\n";
    return 2;
  }
  auto emulator = Emulator::Start(std::move(options));
  if (!emulator.ok()) {
    std::cerr << "dataverse-emulator: " << emulator.status().message() << "\n";
    return 1;
  }
  const auto& opts = (*emulator)->options();
  std::cerr << "dataverse-emulator: tenant " << opts.tenant << ", token endpoint " << (*emulator)->token_url() << "\n";
  for (const auto& c : opts.clients) {
    std::cerr << "dataverse-emulator: application user for client " << c.client_id
              << (c.client_secret.empty() ? "" : " (secret)") << (c.certificate_pem.empty() ? "" : " (certificate)")
              << "\n";
  }
  std::cout << (*emulator)->base_url() << std::endl;
  int sig = 0;
  sigwait(&stop_signals, &sig);
  (*emulator)->Stop();
  std::cerr << "dataverse-emulator: stopped (signal " << sig << ")\n";
  return 0;
}
