/** Load generation against Doorbell (and the ceiling Worker), and the statistics of what came back. */
import { randomUUID } from "node:crypto";
import { sleep } from "./processes.mjs";

export const API_TOKEN = "bench-api-token-for-benchmark-runs";
export const INGEST_TOKEN = "bench-ingest-token-for-benchmark-runs";

/** A Quable event shaped like the SPEC's seed example (about 850 bytes of JSON). */
export function makeEvent(code) {
  const uuid = randomUUID();
  const type = code.split(".")[0];
  return {
    uuid,
    code,
    links: [{ rel: "self", href: `/events/${uuid}` }],
    created_at: new Date().toISOString().replace("Z", "+00:00"),
    created_by: "john_doe",
    resource: {
      code: "product_blue_pant",
      type,
      document_type_code: "product",
      links: [{ rel: "self", href: "https://example.quable.com/api/documents/product_blue_pant" }],
      locales: { updated: ["fr_FR"], inherited: ["en_GB", "fr_FR"] },
      updated_items: [{ type: "field", code: "color" }, { type: "field", code: "name" }],
    },
    process: { type: "bulk_edit", id: randomUUID(), correlationId: "A4548C0354f48954x-565654qsds9chg564jhg78" },
  };
}

export function makeEvents(code, count) {
  return Array.from({ length: count }, () => makeEvent(code));
}

/**
 * Creates one subscription per behaviour, each pointing at `<receiver>/<scenario>.<n>/<behaviour>`,
 * with the delivery options `optionsOf(index)` (e.g. `maxConcurrency`, `payloadFormat`).
 */
export async function createSubscriptions(baseUrl, receiverUrl, scenario, eventType, behaviours, optionsOf = () => ({})) {
  const ids = [];
  for (const [index, behaviour] of behaviours.entries()) {
    const response = await fetch(`${baseUrl}/v1/webhooks/subscriptions`, {
      method: "POST",
      headers: { authorization: `Bearer ${API_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({
        name: `bench ${scenario} ${index}`, targetUrl: `${receiverUrl}/${scenario}.${index}/${behaviour}`, eventTypes: [eventType], ...optionsOf(index),
      }),
    });
    const body = await response.text();
    if (response.status !== 201) throw new Error(`creating a subscription answered ${response.status}: ${body}`);
    ids.push(JSON.parse(body).id);
  }
  return ids;
}

/** Resends after a 503 ("nothing was accepted, send the same body again"), as a producer would. */
const RESEND_LIMIT = 5;
const RESEND_PAUSE_MS = 250;

/**
 * POSTs a body until it is accepted (202), resending the same body after a 503 as the SPEC tells
 * producers to; resolves with how long the accepted request took, when its answer arrived, and how
 * many times it had to be sent again.
 */
export async function post(url, body, token = INGEST_TOKEN) {
  const text = JSON.stringify(body);
  for (let resent = 0; ; resent++) {
    const startedAt = performance.now();
    const response = await fetch(url, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: text });
    const answer = await response.text();
    const ms = performance.now() - startedAt;
    if (response.status === 202) return { ms, answeredAt: Date.now(), resent };
    if (response.status !== 503 || resent >= RESEND_LIMIT) throw new Error(`POST ${url} answered ${response.status}: ${answer.slice(0, 500)}`);
    await sleep(RESEND_PAUSE_MS);
  }
}

/**
 * Sends `batches` of events with at most `concurrency` requests in flight, starting one at most every
 * `intervalMs`, each as `bodyOf(batch)`; records when each event was accepted (the time its 202
 * arrived), how long each request took, and how many had to be resent after a 503.
 */
export async function ingestBatches(url, batches, concurrency, { bodyOf = (batch) => batch, acceptedAt = new Map(), intervalMs = 0 } = {}) {
  let next = 0;
  let resent = 0;
  let nextStartAt = performance.now();
  const timings = [];
  const worker = async () => {
    while (next < batches.length) {
      const batch = batches[next++];
      const wait = nextStartAt - performance.now();
      nextStartAt = Math.max(nextStartAt, performance.now()) + intervalMs;
      if (wait > 0) await sleep(wait);
      const result = await post(url, bodyOf(batch));
      timings.push(result.ms);
      resent += result.resent;
      for (const event of batch) acceptedAt.set(event.uuid, result.answeredAt);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { timings, acceptedAt, resent };
}

export function chunk(items, size) {
  const chunks = [];
  for (let start = 0; start < items.length; start += size) chunks.push(items.slice(start, start + size));
  return chunks;
}

/**
 * Waits until the receiver holds `expected` distinct deliveries for a scenario, counting only
 * `buckets` when given (or until the time is up).
 */
export async function waitForDeliveries(receiver, scenario, expected, timeoutMs, buckets = null) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { unique, uniqueByBucket } = await receiver.ask({ type: "count", scenario });
    const arrived = buckets ? [...buckets].reduce((sum, bucket) => sum + (uniqueByBucket[bucket] ?? 0), 0) : unique;
    if (arrived >= expected) return true;
    if (Date.now() > deadline) {
      console.warn(`  ! ${scenario}: only ${arrived} of ${expected} deliveries arrived within ${timeoutMs / 1000} s`);
      return false;
    }
    await sleep(100);
  }
}

/** Delivery figures from the receiver's records: rate from the first ingest request to the last receipt, and latency from each 202 to receipt. */
export function deliveryFigures(receipts, acceptedAt, startedAt, { buckets = null } = {}) {
  const latencies = [];
  let lastReceipt = startedAt;
  let count = 0;
  for (const [webhookId, bucket, at] of receipts) {
    if (buckets && !buckets.has(bucket)) continue;
    count += 1;
    if (at > lastReceipt) lastReceipt = at;
    const accepted = acceptedAt.get(webhookId);
    if (accepted !== undefined) latencies.push(at - accepted);
  }
  const seconds = (lastReceipt - startedAt) / 1000;
  return {
    deliveries: count,
    seconds: round(seconds, 2),
    perSecond: round(count / seconds, 0),
    latencyMs: { p50: percentile(latencies, 50), p99: percentile(latencies, 99), max: percentile(latencies, 100) },
  };
}

export function percentile(values, p) {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return round(sorted[index], 1);
}

export function median(values) {
  const present = values.filter((value) => typeof value === "number" && Number.isFinite(value));
  if (present.length === 0) return null;
  const sorted = [...present].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  // The mean of the two middle values, without the float tail it can bring (0.8200000000000001).
  return sorted.length % 2 ? sorted[middle] : round((sorted[middle - 1] + sorted[middle]) / 2, 6);
}

export function round(value, digits) {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
