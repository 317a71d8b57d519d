#include "mapping/mapping_loader.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "tests/mapping/mapping_test_util.h"
#include "tests/support/temp_dir.h"

namespace crmsync::mapping {
namespace {

using testing::PathMessages;

// A small valid mapping "m" with `top` (ending in ",") added and `fields` as its fields.
std::string M(const std::string& top, const std::string& fields) {
  return R"({"name": "m", "local": {"table": "t", "key": "id"}, "remote": {"entity_set": "things", "key": "thingid"}, )" +
         top + R"( "fields": [)" + fields + "]}";
}
constexpr const char* kPlain = R"({"local": "a", "remote": "a"})";

struct Case {
  const char* name;
  std::vector<std::pair<std::string, std::string>> files;  // file name, text
  std::vector<std::string> expected;                       // "PATH: message"
};

void Check(const Case& c) {
  SCOPED_TRACE(c.name);
  std::vector<MappingSource> sources;
  for (const auto& [file, text] : c.files) sources.push_back({file, text});
  const MappingSetLoad load = ParseMappingSet(sources);
  EXPECT_EQ(PathMessages(load.diagnostics), c.expected);
  EXPECT_EQ(load.ok(), c.expected.empty());
}

TEST(MappingLoaderTest, ValidMappingHasNoProblems) {
  Check({"plain", {{"m.json", M("", kPlain)}}, {}});
}

TEST(MappingLoaderTest, IntervalMustBeAPositiveNumberOfSeconds) {
  Check({"in range", {{"m.json", M(R"("interval_s": 5,)", kPlain)}}, {}});
  Check({"zero", {{"m.json", M(R"("interval_s": 0,)", kPlain)}}, {"interval_s: must be between 1 and 86400, not 0"}});
  Check({"text", {{"m.json", M(R"("interval_s": "5",)", kPlain)}}, {"interval_s: must be an integer, not a string"}});
}

TEST(MappingLoaderTest, ShapeProblems) {
  const std::vector<Case> cases = {
      {"syntax error",
       {{"m.json", "{\n  \"name\": \"m\",\n  \"local\" {}\n}"}},
       {"invalid JSON: syntax error while parsing object separator - unexpected '{'; expected ':'"}},
      {"not an object", {{"m.json", "[1]"}}, {"$: a mapping file must hold one JSON object, not an array"}},
      {"missing required keys",
       {{"m.json", "{}"}},
       {"$: missing required key 'name'", "$: missing required key 'local'", "$: missing required key 'remote'",
        "$: missing required key 'fields' (or 'association', for a mapping of links between records)"}},
      {"unknown key with did-you-mean",
       {{"m.json", M(R"("directon": "to_remote",)", kPlain)}},
       {"directon: unknown key 'directon'; did you mean 'direction'?"}},
      {"unknown key without a close match",
       {{"m.json", M(R"("colour": "red",)", kPlain)}},
       {"colour: unknown key 'colour'"}},
      {"unknown nested keys",
       {{"m.json", R"({"name": "m", "local": {"table": "t", "key": "id", "filtre": {}},
           "remote": {"entity_set": "things", "key": "thingid", "match": []}, "fields": [{"lcoal": "a", "remote": "a"}]})"}},
       {"local.filtre: unknown key 'filtre'; did you mean 'filter'?", "remote.match: unknown key 'match'",
        "fields[0].lcoal: unknown key 'lcoal'; did you mean 'local'?", "fields[0]: missing required key 'local'"}},
      {"wrong types",
       {{"m.json", M(R"("depends_on": "x", "conflict": 1,)",
                     R"({"local": "a", "remote": "a", "max_length": "50", "truncate": "yes", "constant": [1]})")}},
       // One line: members come in key order.
       {"conflict: must be a string, not an integer", "depends_on: must be an array of strings, not a string",
        "fields[0].constant: must be a string, number, boolean or null, not an array",
        "fields[0].max_length: must be an integer, not a string",
        "fields[0].truncate: must be true or false, not a string"}},
      {"wrong types on the sides",
       {{"m.json", R"({"name": "m", "local": {"table": 1, "key": [1], "filter": []},
           "remote": {"entity_set": "things", "key": "thingid", "filter": 3, "match_on": "x"}, "fields": {}})"}},
       {"local.filter: must be an object, not an array",
        "local.key: must be a string or an array of strings, not an array",
        "local.table: must be a string, not an integer", "fields: must be an array, not an object",
        "remote.filter: must be a string or null, not an integer",
        "remote.match_on: must be an array of strings, not a string"}},
      {"empty arrays",
       {{"m.json", R"({"name": "m", "local": {"table": "t", "key": []},
           "remote": {"entity_set": "things", "key": "thingid"}, "fields": []})"}},
       {"local.key: must not be empty", "fields: must not be empty"}},
      {"bad enum values",
       {{"m.json", M(R"("direction": "to_remot", "conflict": "latest", "on_delete": "cascade",)",
                     R"({"local": "a", "remote": "a", "type": "string"})")}},
       {"direction: must be one of bidirectional, to_remote, from_remote, not 'to_remot'; did you mean 'to_remote'?",
        "conflict: must be one of newest_wins, local_wins, remote_wins, manual, not 'latest'",
        "on_delete: must be one of propagate, uncouple, ignore, not 'cascade'",
        "fields[0].type: must be one of auto, text, integer, decimal, money, boolean, date, datetime, "
        "date_as_datetime, not 'string'"}},
      {"bad name",
       {{"m.json", R"({"name": "Accounts!", "local": {"table": "t", "key": "id"},
           "remote": {"entity_set": "things", "key": "thingid"}, "fields": [{"local": "a", "remote": "a"}]})"}},
       {"name: must start with a lower-case letter and use only a-z, 0-9 and '_', not 'Accounts!'"}},
      {"depends_on itself and twice",
       {{"m.json", M(R"("depends_on": ["m", "n", "n"],)", kPlain)},
        {"n.json", R"({"name": "n", "local": {"table": "u", "key": "id"},
           "remote": {"entity_set": "others", "key": "otherid"}, "fields": [{"local": "a", "remote": "a"}]})"}},
       {"depends_on[0]: a mapping cannot depend on itself", "depends_on[2]: 'n' is listed twice"}},
      {"key column twice",
       {{"m.json", R"({"name": "m", "local": {"table": "t", "key": ["a", "a"]},
           "remote": {"entity_set": "things", "key": "thingid"}, "fields": [{"local": "a", "remote": "a"}]})"}},
       {"local.key[1]: 'a' is listed twice"}},
      {"filter values must be scalars",
       {{"m.json", R"({"name": "m", "local": {"table": "t", "key": "id",
           "filter": {"type": null, "kind": ["x"]}}, "remote": {"entity_set": "things", "key": "thingid"},
           "fields": [{"local": "a", "remote": "a"}]})"}},
       {"local.filter.kind: must be a string, number or boolean (rows must equal it), not an array of strings",
        "local.filter.type: must be a string, number or boolean (rows must equal it), not null"}},
      {"empty remote filter",
       {{"m.json", R"({"name": "m", "local": {"table": "t", "key": "id"},
           "remote": {"entity_set": "things", "key": "thingid", "filter": ""}, "fields": [{"local": "a", "remote": "a"}]})"}},
       {"remote.filter: must not be empty; use null for no filter"}},
      {"field not an object", {{"m.json", M("", R"("a")")}}, {"fields[0]: a field must be an object, not a string"}},
      {"field missing both sides",
       {{"m.json", M("", R"({"type": "text"})")}},
       {"fields[0]: missing required key 'local'", "fields[0]: missing required key 'remote'"}},
      {"empty remote array",
       {{"m.json", M("", R"({"local": "a", "remote": []})")}},
       {"fields[0].remote: must not be empty"}},
      {"max_length and truncate",
       {{"m.json",
         M("", R"({"local": "a", "remote": "a", "max_length": 0}, {"local": "b", "remote": "b", "truncate": true})")}},
       {"fields[0].max_length: must be a positive number of characters, not 0",
        "fields[1].truncate: 'truncate' needs 'max_length'"}},
      {"remote_read without lookup",
       {{"m.json", M("", R"({"local": "a", "remote": "a", "remote_read": "_a_value"})")}},
       {"fields[0].remote_read: 'remote_read' applies only to lookups"}},
      {"several remote attributes without values",
       {{"m.json", M("", R"({"local": "a", "remote": ["b", "c"]})")}},
       {"fields[0].remote: several remote attributes need a 'values' map that gives a value for each"}},
      {"value map keys without values",
       {{"m.json", M("", R"({"local": "a", "remote": "a", "unmapped": "null", "from_remote": {"1": "x"}})")}},
       {"fields[0].from_remote: 'from_remote' needs 'values'", "fields[0].unmapped: 'unmapped' needs 'values'"}},
  };
  for (const auto& c : cases) Check(c);
}

// Names go into request URLs (entity sets, attributes, navigation
// properties) and SQL (tables, columns) unquoted: only identifiers pass.
TEST(MappingLoaderTest, NamesThatWouldReachAUrlOrSqlMustBeIdentifiers) {
  constexpr const char* kOData =
      "must be an OData identifier (letters, digits and '_', not starting with a digit), not ";
  constexpr const char* kSql = "must be an SQL identifier (letters, digits and '_', not starting with a digit), not ";
  const auto side = [](const std::string& local, const std::string& remote) {
    return R"({"name": "m", "local": )" + local + R"(, "remote": )" + remote +
           R"(, "fields": [{"local": "a", "remote": "a"}]})";
  };
  const std::vector<Case> cases = {
      {"valid names with digits and underscores",
       {{"m.json", side(R"({"table": "_t2", "key": ["Id", "line_no"]})",
                        R"({"entity_set": "new_things2", "key": "new_thing2id", "match_on": ["a"]})")}},
       {}},
      {"entity set with a query",
       {{"m.json", side(R"({"table": "t", "key": "id"})", R"({"entity_set": "contacts?$top=1", "key": "k"})")}},
       {std::string("remote.entity_set: ") + kOData + "'contacts?$top=1'"}},
      {"entity set with a path",
       {{"m.json", side(R"({"table": "t", "key": "id"})", R"({"entity_set": "../accounts", "key": "k"})")}},
       {std::string("remote.entity_set: ") + kOData + "'../accounts'"}},
      {"empty and digit-first names",
       {{"m.json",
         side(R"({"table": "", "key": ["id", "2id"]})", R"({"entity_set": "e", "key": "", "match_on": ["a", "$a"]})")}},
       {std::string("local.table: ") + kSql + "''", std::string("local.key[1]: ") + kSql + "'2id'",
        std::string("remote.key: ") + kOData + "''", std::string("remote.match_on[1]: ") + kOData + "'$a'",
        "remote.match_on[1]: '$a' is not mapped to a local column by any plain field; matching compares the two"}},
      {"crmsync's own tables in any case",
       {{"m.json", side(R"({"table": "CRMSync_Journal", "key": "seq"})", R"({"entity_set": "e", "key": "k"})")}},
       {"local.table: 'CRMSync_Journal' is one of crmsync's own tables; a mapping cannot sync it"}},
      {"a table merely starting with crmsync is fine",
       {{"m.json", side(R"({"table": "crmsyncs", "key": "id"})", R"({"entity_set": "e", "key": "k"})")}},
       {}},
      {"fields: columns, attributes, navigation properties, remote_read",
       {{"m.json", R"j({"name": "m", "local": {"table": "t", "key": "id", "filter": {"a b": 1}},
           "remote": {"entity_set": "things", "key": "thingid"}, "fields": [{"local": "x;", "remote": "ok"},
           {"local": "y", "remote": ["s1", "s 2"], "values": {"v": [1, 2]}}, {"local": "z", "remote": "nav/b", "lookup": "m"},
           {"local": "w", "remote": "nav_c", "lookup": "m", "remote_read": "_c_value)"},
           {"remote": "x'", "constant": 1, "direction": "to_remote"}]})j"}},
       {std::string("local.filter[\"a b\"]: the column name ") + kSql + "'a b'",
        std::string("fields[0].local: ") + kSql + "'x;'", std::string("fields[1].remote[1]: ") + kOData + "'s 2'",
        std::string("fields[2].remote: ") + kOData + "'nav/b'",
        std::string("fields[3].remote_read: ") + kOData + "'_c_value)'",
        std::string("fields[4].remote: ") + kOData + "'x''"}},
  };
  for (const auto& c : cases) Check(c);
}

TEST(MappingLoaderTest, DirectionAndConstantProblems) {
  const std::vector<Case> cases = {
      {"field widens a to_remote mapping",
       {{"m.json", M(R"("direction": "to_remote",)",
                     R"({"local": "a", "remote": "a", "direction": "from_remote"},
                        {"local": "b", "remote": "b", "direction": "bidirectional"},
                        {"local": "c", "remote": "c", "direction": "to_remote"})")}},
       {"fields[0].direction: direction 'from_remote' contradicts the mapping's direction 'to_remote'",
        "fields[1].direction: direction 'bidirectional' contradicts the mapping's direction 'to_remote'"}},
      {"constant without a direction",
       {{"m.json", M("", R"({"remote": "a", "constant": 1})")}},
       {"fields[0].constant: a constant needs \"direction\": \"to_remote\" or \"from_remote\""}},
      {"to_remote constant with a local column",
       {{"m.json", M("", R"({"local": "a", "remote": "b", "constant": 1, "direction": "to_remote"},
                            {"constant": 1, "direction": "to_remote"})")}},
       {"fields[0].local: a to_remote constant sets a remote attribute only; remove 'local'",
        "fields[1]: a to_remote constant needs 'remote' (one attribute)"}},
      {"to_remote constant on several attributes",
       {{"m.json", M("", R"({"remote": ["a", "b"], "constant": 1, "direction": "to_remote"})")}},
       {"fields[0].remote: a to_remote constant sets one remote attribute"}},
      {"from_remote constant with a remote attribute",
       {{"m.json", M("", R"({"local": "a", "remote": "b", "constant": "x", "direction": "from_remote"},
                            {"constant": "x", "direction": "from_remote"})")}},
       {"fields[0].remote: a from_remote constant sets a local column only; remove 'remote'",
        "fields[1]: a from_remote constant needs 'local'"}},
      {"constant combined with other kinds",
       {{"m.json",
         M("", R"({"remote": "a", "constant": 1, "direction": "to_remote", "values": {"x": 1}, "lookup": "m"})")}},
       {"fields[0].values: 'values' cannot be combined with 'constant'",
        "fields[0].lookup: 'lookup' cannot be combined with 'constant'"}},
  };
  for (const auto& c : cases) Check(c);
}

TEST(MappingLoaderTest, WrittenTwiceProblems) {
  const std::vector<Case> cases = {
      {"local column written twice",
       {{"m.json",
         M("", R"({"local": "email", "remote": "emailaddress1"}, {"local": "email", "remote": "emailaddress2"})")}},
       {"fields[1].local: local column 'email' is already written by fields[0]"}},
      {"local column read twice is fine",
       {{"m.json", M("", R"({"local": "email", "remote": "emailaddress1"},
                            {"local": "email", "remote": "emailaddress2", "direction": "to_remote"})")}},
       {}},
      {"remote attribute written twice",
       {{"m.json",
         M("", R"({"local": "phone", "remote": "telephone1"}, {"local": "mobile", "remote": "telephone1"})")}},
       {"fields[1].remote: remote attribute 'telephone1' is already written by fields[0]"}},
      {"local column set by the filter",
       {{"m.json", R"({"name": "m", "local": {"table": "t", "key": "id", "filter": {"type": "company"}},
           "remote": {"entity_set": "things", "key": "thingid"}, "fields": [{"local": "type", "remote": "typecode"}]})"}},
       {"fields[0].local: local column 'type' is already set by local.filter"}},
      {"match_on needs a plain field",
       {{"m.json", R"({"name": "m", "local": {"table": "t", "key": "id"},
           "remote": {"entity_set": "things", "key": "thingid", "match_on": ["a", "emailaddress1"]},
           "fields": [{"local": "a", "remote": "a"}]})"}},
       {"remote.match_on[1]: 'emailaddress1' is not mapped to a local column by any plain field; matching compares the "
        "two"}},
  };
  for (const auto& c : cases) Check(c);
}

// Two lines only differ in the remote key; "0,1" is shown as [0,1].
TEST(MappingLoaderTest, ValueMapProblems) {
  const std::vector<Case> cases = {
      {"not one-to-one where it must be reversed",
       {{"m.json", M("", R"({"local": "status", "remote": ["statecode", "statuscode"],
           "values": {"not_started": [0, 1], "in_progress": [0, 1], "won": [1, 3]}})")}},
       {"fields[0].values.not_started: value map is not one-to-one: 'in_progress' and 'not_started' both map to [0,1]; "
        "a field that reads from Dataverse needs a 'from_remote' map to say which one [0,1] reads back as"}},
      {"many-to-one is fine one way",
       {{"m.json", M("", R"({"local": "stage", "remote": "salesstage", "direction": "to_remote",
           "values": {"a": 0, "b": 0}})")}},
       {}},
      {"explicit reverse that does not round-trip",
       {{"m.json", M("", R"({"local": "status", "remote": ["statecode", "statuscode"],
           "values": {"in_progress": [0, 1], "won": [1, 3], "lost": [2, 4]},
           "from_remote": {"0,1": "in_progress", "1,3": "lost", "2,4": ["lost", "cancelled"]}})")}},
       {"fields[0].values.won: 'won' is sent as [1,3], which reads back as 'lost'; list 'won' among the candidates of "
        "\"1,3\"",
        "fields[0].from_remote[\"2,4\"]: 'cancelled' is not a local value in 'values', so it could not be sent back "
        "to Dataverse"}},
      {"explicit reverse missing an entry",
       {{"m.json", M("", R"({"local": "stage", "remote": "salesstage", "values": {"a": 0, "b": 1},
           "from_remote": {"0": "a"}})")}},
       {"fields[0].values.b: 'b' is sent as 1, which 'from_remote' does not map back"}},
      {"entries of the wrong arity",
       {{"m.json", M("", R"({"local": "status", "remote": ["statecode", "statuscode"],
           "values": {"open": 0, "won": [1], "lost": [2, 4]}, "from_remote": {"2": "lost", "2,4": {"x": 1}, "2,5": []}},
           {"local": "stage", "remote": "salesstage", "values": {"a": [0]}})")}},
       {"fields[0].values.open: must be an array of 2 values, one per remote attribute, not an integer",
        "fields[0].values.won: must be an array of 2 values, one per remote attribute, not an array of 1",
        "fields[0].from_remote[\"2\"]: '2' names 1 value but 'remote' has 2 attributes; join one value per attribute "
        "with ','",
        "fields[0].from_remote[\"2,4\"]: must be a local value or a non-empty array of candidate local values, not an "
        "object",
        "fields[0].from_remote[\"2,5\"]: must be a local value or a non-empty array of candidate local values",
        // A consequence of the broken reverse entry, and true.
        "fields[0].values.lost: 'lost' is sent as [2,4], which 'from_remote' does not map back",
        "fields[1].values.a: must be a single value (one remote attribute), not an array"}},
      {"empty values and type",
       {{"m.json", M("", R"({"local": "a", "remote": "a", "values": {}, "type": "text"})")}},
       {"fields[0].type: 'type' cannot be combined with 'values'", "fields[0].values: must not be empty"}},
      {"unmapped policies",
       {{"m.json", M("", R"({"local": "a", "remote": ["b", "c"], "values": {"x": [1, 2]}, "unmapped": "keep"},
           {"local": "d", "remote": "d", "values": {"x": 1}, "unmapped": "drop"},
           {"local": "e", "remote": "e", "values": {"x": 1}, "unmapped": {"to_remot": "null", "from_remote": {"defualt": 1}}},
           {"local": "f", "remote": ["f1", "f2"], "values": {"x": [1, 2]}, "unmapped": {"to_remote": {"default": 3}}},
           {"local": "g", "remote": "g", "values": {"x": 1}, "unmapped": {"to_remote": {"default": 0}, "from_remote": "null"}},
           {"local": "h", "remote": "h", "values": {"x": 1}, "unmapped": {"to_remote": {"default": 0, "or": 1}}})")}},
       {"fields[0].unmapped: 'keep' cannot apply to a value map with several remote attributes",
        "fields[1].unmapped: must be one of error, null, keep or {\"default\": VALUE}, not 'drop'",
        "fields[2].unmapped.to_remot: unknown key 'to_remot'; did you mean 'to_remote'?",
        "fields[2].unmapped.from_remote.defualt: unknown key 'defualt'; did you mean 'default'?",
        "fields[2].unmapped.from_remote: missing required key 'default'",
        "fields[3].unmapped.to_remote.default: must be an array of 2 values, one per remote attribute, not an "
        "integer",
        "fields[5].unmapped.to_remote.or: unknown key 'or'"}},
  };
  for (const auto& c : cases) Check(c);
}

constexpr const char* kAccounts = R"({"name": "accounts", "local": {"table": "contact", "key": "no"},
  "remote": {"entity_set": "accounts", "key": "accountid"}, "fields": [{"local": "name", "remote": "name"}]})";
constexpr const char* kContacts = R"({"name": "contacts", "local": {"table": "contact", "key": "no"},
  "remote": {"entity_set": "contacts", "key": "contactid"}, "fields": [{"local": "name", "remote": "fullname"}]})";
constexpr const char* kLines = R"({"name": "lines", "local": {"table": "line", "key": ["order_no", "line_no"]},
  "remote": {"entity_set": "salesorderdetails", "key": "salesorderdetailid"}, "fields": [{"local": "x", "remote": "x"}]})";

TEST(MappingLoaderTest, SetProblems) {
  const std::vector<Case> cases = {
      {"duplicate names",
       {{"accounts.json", kAccounts}, {"copy.json", kAccounts}},
       {"name: mapping name 'accounts' is already used by accounts.json"}},
      {"depends_on and lookup naming no mapping",
       {{"accounts.json", kAccounts},
        {"m.json",
         M(R"("depends_on": ["acounts"],)", R"({"local": "a", "remote": "parentaccountid", "lookup": "acount"})")}},
       {"depends_on[0]: no mapping named 'acounts'; did you mean 'accounts'?",
        "fields[0].lookup: no mapping named 'acount'; did you mean 'accounts'?"}},
      {"lookup target not in depends_on, and with a composite key",
       {{"accounts.json", kAccounts},
        {"lines.json", kLines},
        {"m.json", M("", R"({"local": "a", "remote": "parentaccountid", "lookup": "accounts"},
                            {"local": "b", "remote": "line", "lookup": "lines"})")}},
       {"fields[0].lookup: lookup through 'accounts' needs 'accounts' in depends_on, so parents sync first",
        "fields[1].lookup: mapping 'lines' has a composite local key; a lookup column can only refer to a "
        "single-column "
        "key",
        "fields[1].lookup: lookup through 'lines' needs 'lines' in depends_on, so parents sync first"}},
      {"a self-lookup needs no depends_on",
       {{"m.json",
         M("", R"({"local": "a", "remote": "a"}, {"local": "parent", "remote": "parentthingid", "lookup": "m"})")}},
       {}},
      {"lookup shape",
       {{"accounts.json", kAccounts},
        {"contacts.json", kContacts},
        {"m.json", M(R"("depends_on": ["accounts", "contacts"],)",
                     R"({"local": "a", "remote": "customerid_account", "lookup": ["accounts", "contacts"]},
                        {"local": "b", "remote": ["x_account", "y_contact"], "lookup": ["accounts", "contacts"]},
                        {"local": "c", "remote": "z", "lookup": [], "type": "text", "values": {"q": 1}})")}},
       {"fields[0].remote: names 1 navigation property but 'lookup' names 2 mappings; give one per lookup target, in "
        "the "
        "same order",
        "fields[1].remote: the navigation properties point at different lookup attributes (x, y); set 'remote_read'",
        "fields[2].values: 'values' cannot be combined with 'lookup'",
        "fields[2].type: 'type' cannot be combined with 'lookup'", "fields[2].lookup: must not be empty",
        "fields[2].remote: names 1 navigation property but 'lookup' names 0 mappings; give one per lookup target, in "
        "the same order"}},
      {"two lookups writing one attribute",
       {{"accounts.json", kAccounts},
        {"contacts.json", kContacts},
        {"m.json", M(R"("depends_on": ["accounts", "contacts"],)",
                     R"({"local": "a", "remote": "parentcustomerid_account", "lookup": "accounts"},
                        {"local": "b", "remote": "parentcustomerid_contact", "lookup": "contacts"})")}},
       {"fields[1].remote: remote attribute 'parentcustomerid' is already written by fields[0]"}},
      {"cycle of two",
       {{"a.json", R"({"name": "a", "local": {"table": "t", "key": "id"}, "remote": {"entity_set": "as", "key": "aid"},
           "depends_on": ["b"], "fields": [{"local": "x", "remote": "x"}]})"},
        {"b.json", R"({"name": "b", "local": {"table": "t", "key": "id"}, "remote": {"entity_set": "bs", "key": "bid"},
           "depends_on": ["c", "a"], "fields": [{"local": "x", "remote": "x"}]})"},
        {"c.json", R"({"name": "c", "local": {"table": "t", "key": "id"}, "remote": {"entity_set": "cs", "key": "cid"},
           "fields": [{"local": "x", "remote": "x"}]})"}},
       {"depends_on[0]: depends_on cycle: a -> b -> a", "depends_on[1]: depends_on cycle: b -> a -> b"}},
  };
  for (const auto& c : cases) Check(c);
}

// An association mapping (segment members): two key columns naming records
// that two other mappings couple; no fields; to Dataverse only.
std::string Members(const std::string& top, const std::string& association, const std::string& tail = "") {
  return R"({"name": "members", "local": {"table": "member", "key": ["group_no", "contact_no"]},
    "remote": {"entity_set": "accounts", "key": "accountid"}, )" +
         top + R"( "association": )" + association + tail + "}";
}
constexpr const char* kEnds = R"({"relationship": "listcontact_association",
    "parent": {"local": "group_no", "lookup": "accounts"}, "member": {"local": "contact_no", "lookup": "contacts"}})";
constexpr const char* kLinkTop = R"("direction": "to_remote", "depends_on": ["accounts", "contacts"],)";

TEST(MappingLoaderTest, AssociationProblems) {
  const std::vector<Case> cases = {
      {"valid", {{"a.json", kAccounts}, {"c.json", kContacts}, {"m.json", Members(kLinkTop, kEnds)}}, {}},
      {"fields, a two-way direction, match_on and a missing depends_on",
       {{"a.json", kAccounts},
        {"c.json", kContacts},
        {"m.json", R"({"name": "members", "local": {"table": "member", "key": ["group_no", "contact_no"]},
            "remote": {"entity_set": "accounts", "key": "accountid", "match_on": ["name"]},
            "depends_on": ["accounts"], "fields": [{"local": "name", "remote": "name"}], "association": )" +
                       std::string(kEnds) + "}"}},
       {"$: an association mapping writes links to Dataverse only: its direction must be to_remote",
        "remote.match_on: an association mapping matches nothing: its links are found by their two ends",
        "fields: an association mapping has no fields: each row only links two records",
        "depends_on: must list 'contacts': the members are coupled before their links are written"}},
      {"ends that are not the key, and unknown or wrong mappings",
       {{"a.json", kAccounts},
        {"c.json", kContacts},
        {"m.json", Members(R"("direction": "to_remote", "depends_on": ["accounts", "contacts"],)",
                           R"({"relationship": "listcontact_association",
                               "parent": {"local": "group", "lookup": "contacts"},
                               "member": {"local": "contact_no", "lookup": "contact"}})")}},
       {"remote.entity_set: must be the parent mapping's entity set 'contacts', not 'accounts'",
        "association.parent.local: 'group' is not a column of local.key: an association's key is its two ends",
        "association.member.lookup: no mapping named 'contact'; did you mean 'contacts'?"}},
      {"missing parts",
       {{"m.json", Members(R"("direction": "to_remote",)", R"({"parent": {"local": "group_no"}})")}},
       {"association.parent: missing required key 'lookup'", "association: missing required key 'relationship'",
        "association: missing required key 'member'"}},
  };
  for (const auto& c : cases) Check(c);
}

TEST(MappingLoaderTest, CycleOfThreeIsNamedFromEachMember) {
  const auto mk = [](const char* name, const char* dep) {
    return std::string(R"({"name": ")") + name + R"(", "local": {"table": "t", "key": "id"},
      "remote": {"entity_set": "s", "key": "k"}, "depends_on": [")" +
           dep + R"("], "fields": [{"local": "x", "remote": "x"}]})";
  };
  const auto load = ParseMappingSet({{"a.json", mk("a", "b")}, {"b.json", mk("b", "c")}, {"c.json", mk("c", "a")}});
  EXPECT_EQ(PathMessages(load.diagnostics),
            (std::vector<std::string>{"depends_on[0]: depends_on cycle: a -> b -> c -> a",
                                      "depends_on[0]: depends_on cycle: b -> c -> a -> b",
                                      "depends_on[0]: depends_on cycle: c -> a -> b -> c"}));
  EXPECT_EQ(load.set.mappings().size(), 3u);  // still all there, for the other checks
}

TEST(MappingLoaderTest, DiagnosticsCarryFileAndLine) {
  const std::string text =
      "{\n  \"name\": \"m\",\n  \"local\": {\"table\": \"t\", \"key\": \"id\"},\n"
      "  \"remote\": {\"entity_set\": \"s\", \"key\": \"k\"},\n  \"fields\": [\n"
      "    {\"local\": \"a\", \"remote\": \"a\"},\n    {\"local\": \"a\",\n     \"remote\": \"b\"}\n"
      "  ]\n}\n";
  const auto load = ParseMappingSet({{"dir/m.json", text}});
  ASSERT_EQ(load.diagnostics.size(), 1u);
  EXPECT_EQ(load.diagnostics[0].ToString(),
            "dir/m.json:7: fields[1].local: local column 'a' is already written by fields[0]");

  const auto syntax = ParseMappingSet({{"bad.json", "{\n  \"name\": \"m\"\n  \"local\": {}\n}"}});
  ASSERT_EQ(syntax.diagnostics.size(), 1u);
  EXPECT_EQ(syntax.diagnostics[0].file, "bad.json");
  EXPECT_EQ(syntax.diagnostics[0].line, 3);
}

TEST(MappingLoaderTest, FilesAndFolders) {
  testing_support::TempDir dir;
  dir.WriteFile("mappings/b.json", kContacts);
  dir.WriteFile("mappings/a.json", kAccounts);
  dir.WriteFile("mappings/notes.txt", "not a mapping");
  auto files = ListMappingFiles(dir.path() + "/mappings");
  ASSERT_TRUE(files.ok());
  EXPECT_EQ(*files, (std::vector<std::string>{dir.path() + "/mappings/a.json", dir.path() + "/mappings/b.json"}));
  const auto load = LoadMappingDirectory(dir.path() + "/mappings");
  EXPECT_TRUE(load.ok());
  EXPECT_EQ(load.set.mappings().size(), 2u);

  const auto missing = LoadMappingDirectory(dir.path() + "/nowhere");
  ASSERT_EQ(missing.diagnostics.size(), 1u);
  EXPECT_EQ(missing.diagnostics[0].ToString(),
            dir.path() + "/nowhere: mappings folder '" + dir.path() + "/nowhere' does not exist");
  std::filesystem::create_directories(dir.path() + "/empty");
  const auto empty = LoadMappingDirectory(dir.path() + "/empty");
  ASSERT_EQ(empty.diagnostics.size(), 1u);
  EXPECT_EQ(empty.diagnostics[0].message, "no mapping files (*.json) in the mappings folder");
  const auto unreadable = LoadMappingFiles({dir.path() + "/mappings/a.json", dir.path() + "/gone.json"});
  ASSERT_EQ(unreadable.diagnostics.size(), 1u);
  EXPECT_EQ(unreadable.diagnostics[0].ToString(), dir.path() + "/gone.json: cannot read the mapping file");
}

TEST(MappingLoaderTest, LoadForRunChecksTheLocalStoreWhenItExists) {
  testing_support::TempDir dir;
  dir.WriteFile("mappings/a.json", kAccounts);
  dir.WriteFile("mappings/l.json", kLines);
  // No store yet: only the files are checked.
  EXPECT_TRUE(LoadMappingsForRun(dir.path() + "/mappings", dir.path() + "/crm.db").ok());
  testing::CreateLocalStore(dir.path() + "/crm.db");
  const auto load = LoadMappingsForRun(dir.path() + "/mappings", dir.path() + "/crm.db");
  EXPECT_EQ(PathMessages(load.diagnostics),
            (std::vector<std::string>{"local.table: no table 'line' in the local store"}));
}

}  // namespace
}  // namespace crmsync::mapping
