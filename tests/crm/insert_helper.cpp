// crm_insert_helper DB N: adds N company contacts through crm::Store, one
// transaction each, numbered by the CONTACT series. Used by the
// two-process number series test. Exit 0 on success, 1 on any failure.
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <string>

#include "crm/store.h"

int main(int argc, char** argv) {
  using namespace crmsync;
  if (argc != 3) {
    std::cerr << "usage: crm_insert_helper DB N\n";
    return 1;
  }
  auto store = crm::Store::Open(argv[1]);
  if (!store.ok()) {
    std::cerr << store.status().ToString() << "\n";
    return 1;
  }
  const int n = std::atoi(argv[2]);
  const std::string city = "pid-" + std::to_string(::getpid());
  for (int i = 0; i < n; ++i) {
    auto key = store->Add(crm::Table::kContact, {{"type", Value::Text("company")},
                                                 {"name", Value::Text("Company " + std::to_string(i))},
                                                 {"city", Value::Text(city)}});
    if (!key.ok()) {
      std::cerr << key.status().ToString() << "\n";
      return 1;
    }
  }
  return 0;
}
