// The benchmarks' records: the i-th person contact of the local store, and
// a way to add many of them to a local store in one transaction.
//
// Thread-safety: free functions; FillLocal opens its own connection.
#pragma once

#include <string>
#include <vector>

#include "common/result.h"
#include "common/value.h"
#include "crm/rows.h"
#include "crm/schema.h"
#include "crm/statement_cache.h"
#include "crm/store.h"

namespace crmsync::bench {

// The i-th benchmark person, as local columns (a distinct e-mail for each i).
inline Record Person(int i) {
  const std::string n = std::to_string(i);
  return {{"type", Value::Text("person")},
          {"first_name", Value::Text("Bench" + n)},
          {"surname", Value::Text("Person")},
          {"email", Value::Text("bench.person" + n + "@example.com")},
          {"phone", Value::Text("+44 20 7946 " + std::to_string(1000 + i % 9000))},
          {"job_title", Value::Text(i % 2 == 0 ? "Buyer" : "Engineer")},
          {"city", Value::Text(i % 3 == 0 ? "Leeds" : "York")}};
}

// Adds `persons` person contacts (and `companies` company contacts first,
// person i belonging to company i % companies) to the local store at
// `database` (created when missing) in one transaction.
inline Status FillLocal(const std::string& database, int persons, int companies) {
  auto store = crm::Store::Open(database, true);
  if (!store.ok()) return store.status();
  return store->InTransaction([&](SqliteDb& db) -> Status {
    crm::StatementCache statements(db);
    const crm::TableSpec& spec = crm::SpecOf(crm::Table::kContact);
    std::vector<std::string> company_keys;
    for (int c = 0; c < companies; ++c) {
      CRMSYNC_ASSIGN_OR_RETURN(std::string key,
                               crm::InsertRow(statements, spec,
                                              {{"type", Value::Text("company")},
                                               {"name", Value::Text("Bench Company " + std::to_string(c))},
                                               {"phone", Value::Text("+44 113 496 " + std::to_string(1000 + c % 9000))},
                                               {"city", Value::Text("Leeds")}}));
      company_keys.push_back(std::move(key));
    }
    for (int i = 0; i < persons; ++i) {
      Record p = Person(i);
      if (companies > 0) p["company_no"] = Value::Text(company_keys[static_cast<std::size_t>(i % companies)]);
      CRMSYNC_ASSIGN_OR_RETURN(std::string key, crm::InsertRow(statements, spec, p));
      (void)key;
    }
    return Status::Ok();
  });
}

}  // namespace crmsync::bench
