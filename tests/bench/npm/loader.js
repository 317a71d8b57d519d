#!/usr/bin/env node
// The benchmark's peer for `crmsync sync`: an initial load of contacts into
// Dataverse (or the dataverse-emulator) written with the npm client
// dynamics-web-api, the way a careful script would do it:
//   - client-credentials token from the Entra (or emulator) token endpoint,
//     cached and handed to the library through config.onTokenRefresh;
//   - creates in change sets of --batch-size inside $batch requests
//     (--change-sets 0: the same creates as independent parts of the $batch);
//   - as many batches in flight as the server's x-ms-dop-hint (read from a
//     WhoAmI answer) unless --parallel says otherwise;
//   - a 429 waits out Retry-After and sends the same batch again (a change
//     set is atomic, so a throttled one wrote nothing).
// It keeps no state.
//
//   node loader.js --url http://127.0.0.1:PORT --tenant T --client-id ID --client-secret S
//                  [--mode create|update|read] [--input contacts.json] [--batch-size 100]
//                  [--parallel N] [--change-sets 1|0] [--page-size 5000]
//
// --mode create (the default): contacts.json is a JSON array of Dataverse
//   contact bodies ({"firstname":..}), each created.
// --mode update: contacts.json is an array of {"id": GUID, "data": {..}};
//   each contact is updated (PATCH with If-Match: *) in the same batches.
// --mode read: reads every contact, --page-size a page (Prefer:
//   odata.maxpagesize), following @odata.nextLink; no --input. A page is
//   one request after the other, as the next link says where to go on.
// Prints one JSON line: {"records","seconds","requests","throttled","parallel","batch_size"}.
// Exit 0 when every record was written (or read), 1 otherwise, 2 on bad usage.
"use strict";

const fs = require("fs");
const { DynamicsWebApi } = require("dynamics-web-api");

function parseArgs(argv) {
  const args = { mode: "create", batchSize: 100, parallel: 0, changeSets: true, pageSize: 5000 };
  for (let i = 2; i < argv.length; i += 2) {
    const name = argv[i];
    const value = argv[i + 1];
    if (value === undefined) throw new Error(`${name} needs a value`);
    switch (name) {
      case "--url": args.url = value.replace(/\/+$/, ""); break;
      case "--tenant": args.tenant = value; break;
      case "--client-id": args.clientId = value; break;
      case "--client-secret": args.clientSecret = value; break;
      case "--input": args.input = value; break;
      case "--mode": args.mode = value; break;
      case "--page-size": args.pageSize = Number(value); break;
      case "--batch-size": args.batchSize = Number(value); break;
      case "--parallel": args.parallel = Number(value); break;
      case "--change-sets": args.changeSets = value !== "0" && value !== "false"; break;
      default: throw new Error(`unknown option ${name}`);
    }
  }
  if (!["create", "update", "read"].includes(args.mode)) throw new Error(`unknown --mode ${args.mode}`);
  const required = ["url", "tenant", "clientId", "clientSecret"];
  if (args.mode !== "read") required.push("input");
  for (const k of required) {
    if (!args[k]) throw new Error(`missing --${k.replace(/[A-Z]/g, (c) => "-" + c.toLowerCase())}`);
  }
  return args;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Client credentials, cached until a minute before expiry; one fetch at a time.
function makeTokenSource(args, counters) {
  let token = null;
  let expiresAt = 0;
  let pending = null;
  const fetchToken = async () => {
    const body = new URLSearchParams({
      grant_type: "client_credentials",
      client_id: args.clientId,
      client_secret: args.clientSecret,
      scope: `${args.url}/.default`,
    });
    counters.requests++;
    const res = await fetch(`${args.url}/${args.tenant}/oauth2/v2.0/token`, { method: "POST", body });
    const json = await res.json();
    if (!res.ok || !json.access_token) throw new Error(`token endpoint answered ${res.status}: ${JSON.stringify(json)}`);
    token = json.access_token;
    expiresAt = Date.now() + (Number(json.expires_in) - 60) * 1000;
    return token;
  };
  return async () => {
    if (token && Date.now() < expiresAt) return token;
    if (!pending) pending = fetchToken().finally(() => { pending = null; });
    return pending;
  };
}

// A 429's Retry-After in seconds (1 when it has none).
function retryAfterOf(err) {
  const headers = (err && err.headers) || {};
  return Number(headers["retry-after"] ?? headers["Retry-After"] ?? 1);
}

// --mode read: every contact, page after page, waiting out Retry-After on a 429.
async function readAll(args, config, counters) {
  const api = new DynamicsWebApi(config);
  const start = process.hrtime.bigint();
  const request = { collection: "contacts", maxPageSize: args.pageSize };
  let read = 0;
  let link;
  for (;;) {
    let page;
    counters.requests++;
    try {
      page = await api.retrieveMultiple(request, link);
    } catch (e) {
      if (e && e.status === 429) {
        counters.throttled++;
        await sleep(Math.max(0, retryAfterOf(e)) * 1000);
        continue;
      }
      console.error(`loader: reading contacts failed: ${e && e.message ? e.message : JSON.stringify(e)}`);
      return 1;
    }
    read += page.value.length;
    link = page.oDataNextLink;
    if (!link) break;
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  console.log(JSON.stringify({ records: read, failed: 0, seconds, requests: counters.requests,
                               throttled: counters.throttled, parallel: 1, page_size: args.pageSize }));
  return 0;
}

async function main() {
  let args;
  try {
    args = parseArgs(process.argv);
  } catch (e) {
    console.error(`loader: ${e.message}`);
    return 2;
  }
  const counters = { requests: 0, throttled: 0 };
  const getToken = makeTokenSource(args, counters);
  const config = { serverUrl: `${args.url}/`, dataApi: { version: "9.2" }, onTokenRefresh: getToken };
  if (args.mode === "read") return readAll(args, config, counters);
  const contacts = JSON.parse(fs.readFileSync(args.input, "utf8"));

  const start = process.hrtime.bigint();
  let parallel = args.parallel;
  if (!(parallel > 0)) {
    // dynamics-web-api does not hand out response headers; read x-ms-dop-hint with one plain WhoAmI.
    counters.requests++;
    const res = await fetch(`${args.url}/api/data/v9.2/WhoAmI`, {
      headers: { Authorization: `Bearer ${await getToken()}`, Accept: "application/json" },
    });
    await res.text();
    parallel = Number(res.headers.get("x-ms-dop-hint")) || 1;
  }

  const batches = [];
  for (let i = 0; i < contacts.length; i += args.batchSize) batches.push(contacts.slice(i, i + args.batchSize));
  let next = 0;
  let created = 0;
  let failed = 0;

  // One worker per batch in flight; each has its own client (a batch is built on the instance).
  const worker = async () => {
    const api = new DynamicsWebApi(config);
    for (;;) {
      const index = next++;
      if (index >= batches.length) return;
      for (;;) {
        api.startBatch();
        for (const item of batches[index]) {
          if (args.mode === "update") {
            api.update({ collection: "contacts", key: item.id, data: item.data, inChangeSet: args.changeSets });
          } else {
            api.create({ collection: "contacts", data: item, inChangeSet: args.changeSets });
          }
        }
        counters.requests++;
        try {
          const answers = await api.executeBatch();
          created += answers.filter((a) => !(a instanceof Error)).length;
          failed += answers.filter((a) => a instanceof Error).length;
          break;
        } catch (e) {
          const err = Array.isArray(e) ? e[0] : e;
          if (err && err.status === 429) {
            counters.throttled++;
            await sleep(Math.max(0, retryAfterOf(err)) * 1000);
            continue;
          }
          console.error(`loader: batch ${index} failed: ${err && err.message ? err.message : JSON.stringify(e)}`);
          failed += batches[index].length;
          break;
        }
      }
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  console.log(
    JSON.stringify({
      records: created,
      failed,
      seconds,
      requests: counters.requests,
      throttled: counters.throttled,
      parallel,
      batch_size: args.batchSize,
      change_sets: args.changeSets,
    }),
  );
  return failed === 0 && created === contacts.length ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(`loader: ${e && e.stack ? e.stack : e}`);
    process.exit(1);
  },
);
