/**
 * The benchmark's webhook receiver, run as its own Node process (forked by the benchmark) so that
 * answering thousands of deliveries never stalls the clock of the load generator.
 *
 * Paths are `/<scenario>.<n>/<behaviour>`: `ok` answers 200 at once, `fail` answers 500 at once,
 * `hang` answers 200 only after HANG_MS (past Doorbell's 5 s delivery timeout). Every request is
 * recorded by webhook-id + path with the time it arrived; the parent asks over IPC:
 *   {type: "count", scenario}   -> {unique, requests, uniqueByBucket}
 *   {type: "collect", scenario} -> {receipts: [[webhookId, bucket, receivedAtMs], ...], requests, requestsByBucket}
 *   {type: "forget", scenario}  -> frees a finished scenario's records
 */
import { createServer } from "node:http";

const HANG_MS = 8_000;

/** scenario -> {firstReceipt: Map<"id path", ms>, requests} */
const scenarios = new Map();

function scenarioOf(name) {
  let scenario = scenarios.get(name);
  if (!scenario) {
    scenario = { firstReceipt: new Map(), requests: 0, uniqueByBucket: {}, requestsByBucket: {} };
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
  const key = `${request.headers["webhook-id"] ?? ""} ${bucket}`;
  if (!scenario.firstReceipt.has(key)) {
    scenario.firstReceipt.set(key, receivedAt);
    scenario.uniqueByBucket[bucket] = (scenario.uniqueByBucket[bucket] ?? 0) + 1;
  }

  request.resume(); // the body is not needed, only drained
  request.on("end", () => {
    if (behaviour === "hang") {
      setTimeout(() => response.writableEnded || response.end("late"), HANG_MS).unref();
      return;
    }
    const status = behaviour === "fail" ? 500 : 200;
    response.writeHead(status, { "content-type": "text/plain", "content-length": "2" });
    response.end(status === 200 ? "ok" : "no");
  });
});
server.keepAliveTimeout = 60_000;
server.headersTimeout = 65_000;

process.on("message", (message) => {
  const scenario = scenarioOf(message.scenario);
  if (message.type === "count") {
    process.send({ id: message.id, unique: scenario.firstReceipt.size, requests: scenario.requests, uniqueByBucket: scenario.uniqueByBucket });
  } else if (message.type === "collect") {
    const receipts = [];
    for (const [key, at] of scenario.firstReceipt) {
      const [webhookId, bucket] = key.split(" ");
      receipts.push([webhookId, bucket, at]);
    }
    process.send({ id: message.id, receipts, requests: scenario.requests, requestsByBucket: scenario.requestsByBucket });
  } else if (message.type === "forget") {
    scenarios.delete(message.scenario);
    process.send({ id: message.id });
  }
});
process.on("disconnect", () => process.exit(0));

server.listen(0, "127.0.0.1", () => process.send({ type: "ready", port: server.address().port }));
