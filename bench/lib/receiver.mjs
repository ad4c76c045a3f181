/**
 * The benchmark's webhook receiver, run as its own Node process (forked by the benchmark) so that
 * answering thousands of deliveries never stalls the clock of the load generator.
 *
 * Paths are `/<scenario>.<n>/<behaviour>`: `ok` answers 200 at once, `fail` answers 500 at once,
 * `hang` answers 200 only after HANG_MS (past Doorbell's 5 s delivery timeout), `slow<ms>` answers 200
 * after that many ms (an endpoint with a real response time). Every event received is recorded by its
 * id + path with the time it arrived: the `webhook-id` for a POST of one event, each event's `id` in a
 * Quiltt `WebhookPayload`. The parent asks over IPC:
 *   {type: "count", scenario}   -> {unique, requests, uniqueByBucket}
 *   {type: "collect", scenario} -> {receipts: [[eventId, bucket, receivedAtMs], ...], requests, requestsByBucket, maxInFlightByBucket}
 *   {type: "forget", scenario}  -> frees a finished scenario's records
 */
import { createServer } from "node:http";

const HANG_MS = 8_000;

/** scenario -> {firstReceipt: Map<"id path", ms>, requests} */
const scenarios = new Map();

function scenarioOf(name) {
  let scenario = scenarios.get(name);
  if (!scenario) {
    scenario = { firstReceipt: new Map(), requests: 0, uniqueByBucket: {}, requestsByBucket: {}, inFlightByBucket: {}, maxInFlightByBucket: {} };
    scenarios.set(name, scenario);
  }
  return scenario;
}

const server = createServer((request, response) => {
  const receivedAt = Date.now();
  const path = request.url ?? "/";
  const [bucket = "", behaviour = "ok"] = path.slice(1).split("/");
  const scenario = scenarioOf(bucket.split(".")[0]);
  scenario.requests += 1;
  scenario.requestsByBucket[bucket] = (scenario.requestsByBucket[bucket] ?? 0) + 1;
  scenario.inFlightByBucket[bucket] = (scenario.inFlightByBucket[bucket] ?? 0) + 1;
  scenario.maxInFlightByBucket[bucket] = Math.max(scenario.maxInFlightByBucket[bucket] ?? 0, scenario.inFlightByBucket[bucket]);
  response.on("close", () => (scenario.inFlightByBucket[bucket] -= 1));

  const chunks = [];
  request.on("data", (data) => chunks.push(data));
  request.on("end", () => {
    for (const eventId of eventIdsOf(request.headers["webhook-id"] ?? "", Buffer.concat(chunks))) {
      const key = `${eventId} ${bucket}`;
      if (scenario.firstReceipt.has(key)) continue;
      scenario.firstReceipt.set(key, receivedAt);
      scenario.uniqueByBucket[bucket] = (scenario.uniqueByBucket[bucket] ?? 0) + 1;
    }
    const delayMs = behaviour === "hang" ? HANG_MS : behaviour.startsWith("slow") ? Number(behaviour.slice(4)) : 0;
    const status = behaviour === "fail" ? 500 : 200;
    const answer = () => {
      if (response.writableEnded) return;
      response.writeHead(status, { "content-type": "text/plain", "content-length": "2" });
      response.end(status === 200 ? "ok" : "no");
    };
    if (delayMs > 0) setTimeout(answer, delayMs).unref();
    else answer();
  });
});

const QUILTT_PAYLOAD_START = Buffer.from('{"environment"');

/** The ids of the events a POST carries: its webhook-id, or each event's id in a Quiltt payload. */
function eventIdsOf(webhookId, body) {
  if (!body.subarray(0, QUILTT_PAYLOAD_START.length).equals(QUILTT_PAYLOAD_START)) return [webhookId];
  return JSON.parse(body.toString("utf8")).events.map((event) => event.id);
}

server.keepAliveTimeout = 60_000;
server.headersTimeout = 65_000;

process.on("message", (message) => {
  const scenario = scenarioOf(message.scenario);
  if (message.type === "count") {
    process.send({ id: message.id, unique: scenario.firstReceipt.size, requests: scenario.requests, uniqueByBucket: scenario.uniqueByBucket });
  } else if (message.type === "collect") {
    const receipts = [];
    for (const [key, at] of scenario.firstReceipt) {
      const [eventId, bucket] = key.split(" ");
      receipts.push([eventId, bucket, at]);
    }
    process.send({
      id: message.id, receipts, requests: scenario.requests, requestsByBucket: scenario.requestsByBucket, maxInFlightByBucket: scenario.maxInFlightByBucket,
    });
  } else if (message.type === "forget") {
    scenarios.delete(message.scenario);
    process.send({ id: message.id });
  }
});
process.on("disconnect", () => process.exit(0));

server.listen(0, "127.0.0.1", () => process.send({ type: "ready", port: server.address().port }));
