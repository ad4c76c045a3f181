/**
 * `npm run bench:profile`: where Doorbell's CPU goes while it delivers. Not part of `npm test`.
 *
 * Serves the bundle (built as `npm run build` does) through Miniflare's Node API with an inspector
 * port, creates 10 subscriptions to a receiver in this process, posts 2,000 events 100 per request,
 * and records a V8 CPU profile of the Worker's isolate (which also runs its Durable Objects) until
 * the 20,000 deliveries have arrived. Prints self time by function and what calls SQL `exec`, and
 * writes the profile to bench/results/ (open it in Chrome DevTools' Performance panel).
 *
 * Env: SUBSCRIPTIONS, EVENTS, EVENTS_PER_REQUEST, CONCURRENCY to change the workload; STATE_DIR to keep Durable
 * Object storage somewhere chosen (say a tmpfs, to leave the disk out of it).
 */
import { createServer } from "node:http";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Miniflare, convertV4MiniflareOptions } from "miniflare";
import { buildBundle, freePort, sleep } from "./lib/processes.mjs";
import { API_TOKEN, INGEST_TOKEN, createSubscriptions, makeEvents, post } from "./lib/load.mjs";

if (typeof WebSocket === "undefined") throw new Error("needs a global WebSocket (Node 22+): run it with `npm run bench:profile`");

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const SUBSCRIPTIONS = Number(process.env.SUBSCRIPTIONS ?? 10);
const EVENTS = Number(process.env.EVENTS ?? 2000);
const EVENTS_PER_REQUEST = Number(process.env.EVENTS_PER_REQUEST ?? 100);
/** Ingest requests in flight at once (the bench's ingest-latency scenario sends single events 16 at a time). */
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 1);
const SAMPLING_INTERVAL_US = 200;
/** Every wait is bounded: past this the profile is abandoned with an error. */
const DRAIN_TIMEOUT_MS = 180_000;
const TOP = 30;

let received = 0;
let connections = 0;
const receiver = createServer((request, response) => {
  request.resume();
  request.on("end", () => {
    received += 1;
    response.writeHead(200, { "content-type": "text/plain", "content-length": "2" });
    response.end("ok");
  });
});
receiver.on("connection", () => (connections += 1));
await new Promise((resolve) => receiver.listen(0, "127.0.0.1", resolve));
const receiverUrl = `http://127.0.0.1:${receiver.address().port}`;

const bundle = await buildBundle("profile", ["--config", "wrangler.toml"]);
const inspectorPort = await freePort();
// The Worker runs at wrangler.toml's compatibility date, as under `wrangler dev`.
const compatibilityDate = readFileSync("wrangler.toml", "utf8").match(/^compatibility_date = "([\d-]+)"/m)[1];
// Miniflare 5 takes config-shaped `workers`; these are the flat v4 options, converted by Miniflare's own helper.
const miniflare = new Miniflare(convertV4MiniflareOptions({
  modules: true,
  modulesRoot: join(bundle.path, ".."),
  scriptPath: bundle.path,
  compatibilityDate,
  inspectorPort,
  bindings: {
    API_TOKEN, INGEST_TOKEN, ALLOW_HTTP_TARGETS: "true", ALLOW_PRIVATE_TARGETS: "true",
    DELIVERY_TIMEOUT_MS: "5000", RETRY_DELAY_SECONDS: "300", MAX_RETRIES: "2", DISABLE_AFTER_FAILURES: "3",
  },
  durableObjects: {
    SUBSCRIPTIONS: { className: "SubscriptionObject", useSQLite: true },
    DIRECTORY: { className: "SubscriptionDirectory", useSQLite: true },
    EVENTS: { className: "EventLedger", useSQLite: true },
    SESSIONS: { className: "SessionGate", useSQLite: true },
    CATALOG: { className: "CatalogObject", useSQLite: true },
  },
  ratelimits: { SIGN_IN_LIMITER: { namespace_id: "1001", simple: { limit: 10, period: 60 } }, API_AUTH_LIMITER: { namespace_id: "1002", simple: { limit: 10, period: 60 } } },
  ...(process.env.STATE_DIR ? { resourcePersistencePath: process.env.STATE_DIR } : {}),
  queueProducers: { DELIVERIES: "doorbell-deliveries" },
  // wrangler.toml's consumer settings
  queueConsumers: { "doorbell-deliveries": { maxBatchSize: 25, maxBatchTimeout: 1, maxRetries: 5 } },
}));

try {
  const url = await miniflare.ready;
  const ingest = (events) => post(new URL("/v1/events", url).href, events); // resends after a 503, throws on anything but 202
  const waitForDeliveries = async (count) => {
    const deadline = Date.now() + DRAIN_TIMEOUT_MS;
    while (received < count) {
      if (Date.now() > deadline) throw new Error(`only ${received} of ${count} deliveries arrived in ${DRAIN_TIMEOUT_MS / 1000} s`);
      await sleep(20);
    }
  };
  await createSubscriptions(url.origin, receiverUrl, "profile", "*", Array(SUBSCRIPTIONS).fill("ok"));
  await ingest(makeEvents("document.update", 10)); // warm up
  await waitForDeliveries(10 * SUBSCRIPTIONS);
  received = 0;
  connections = 0;

  const inspector = await connectInspector(inspectorPort);
  await inspector.call("Profiler.enable");
  await inspector.call("Profiler.setSamplingInterval", { interval: SAMPLING_INTERVAL_US });
  await inspector.call("Profiler.start");
  const startedAt = Date.now();
  let sent = 0;
  const sender = async () => {
    while (sent < EVENTS) {
      const count = Math.min(EVENTS_PER_REQUEST, EVENTS - sent);
      sent += count;
      await ingest(makeEvents("document.update", count));
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, sender));
  await waitForDeliveries(EVENTS * SUBSCRIPTIONS);
  const seconds = (Date.now() - startedAt) / 1000;
  const { profile } = await inspector.call("Profiler.stop");
  inspector.close();

  const outDir = join(ROOT, "bench", "results");
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, "profile.cpuprofile"), JSON.stringify(profile));
  console.log(`${received} deliveries in ${seconds.toFixed(1)} s (${Math.round(received / seconds)}/s, profiler attached), ${connections} new connections to the receiver`);
  report(profile);
  console.log(`\nwritten to bench/results/profile.cpuprofile`);
} finally {
  await miniflare.dispose();
  receiver.close();
  bundle.remove();
}

/** A Chrome DevTools Protocol session with the Worker's isolate. */
async function connectInspector(port) {
  const targets = await (await fetch(`http://127.0.0.1:${port}/json`)).json();
  const target = targets.find((candidate) => candidate.title === "workerd: worker core:user:");
  if (!target) throw new Error(`no inspector target for the Worker among: ${targets.map((candidate) => candidate.title).join(", ")}`);
  const socket = new WebSocket(target.webSocketDebuggerUrl);
  await new Promise((resolve, reject) => {
    socket.addEventListener("open", resolve, { once: true });
    socket.addEventListener("error", reject, { once: true });
  });
  let nextId = 0;
  const pending = new Map();
  socket.addEventListener("message", (event) => {
    const message = JSON.parse(String(event.data));
    pending.get(message.id)?.(message.result);
    pending.delete(message.id);
  });
  return {
    call: (method, params = {}) =>
      new Promise((resolve) => {
        const id = ++nextId;
        pending.set(id, resolve);
        socket.send(JSON.stringify({ id, method, params }));
      }),
    close: () => socket.close(),
  };
}

/** Self time per function, and which functions' calls to SQL `exec` cost what. */
function report(profile) {
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const parents = new Map();
  for (const node of profile.nodes) for (const child of node.children ?? []) parents.set(child, node.id);
  const selfUs = new Map();
  profile.samples.forEach((id, index) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[index] ?? 0)));
  const nameOf = (node) => `${node.callFrame.functionName || "(anonymous)"}${node.callFrame.lineNumber >= 0 ? `:${node.callFrame.lineNumber + 1}` : ""}`;
  const total = [...selfUs.values()].reduce((sum, us) => sum + us, 0);
  const byFunction = new Map();
  const execCallers = new Map();
  for (const [id, us] of selfUs) {
    const node = nodes.get(id);
    byFunction.set(nameOf(node), (byFunction.get(nameOf(node)) ?? 0) + us);
    if (node.callFrame.functionName === "exec") {
      const caller = nodes.get(parents.get(id));
      const key = caller ? nameOf(caller) : "?";
      execCallers.set(key, (execCallers.get(key) ?? 0) + us);
    }
  }
  const print = (entries) => {
    for (const [name, us] of [...entries].sort((a, b) => b[1] - a[1]).slice(0, TOP))
      console.log(`  ${(us / 1000).toFixed(0).padStart(7)} ms ${((100 * us) / total).toFixed(1).padStart(5)} %  ${name}`);
  };
  console.log(`\nself time by function (of ${(total / 1000).toFixed(0)} ms sampled; line numbers are the bundle's):`);
  print(byFunction);
  console.log("\nSQL exec by caller:");
  print(execCallers);
}
