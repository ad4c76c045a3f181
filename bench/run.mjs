/**
 * `npm run bench [-- --runs N] [-- --long]`: Doorbell's speed and cost, measured on this machine.
 *
 * Starts Doorbell under `wrangler dev` on loopback (fresh state each run, wrangler's inspector proxy
 * skipped), a receiver process answering at once, and measures: ingest latency, large-batch ingest,
 * delivery throughput and end-to-end latency, the same volume through a minimal queue-and-fetch Worker
 * (the ceiling), isolation from failing and hanging endpoints, what each delivery costs on Cloudflare
 * (counted by a metered entry point, bench/usage-worker.ts), and workerd's memory. Prints a table and
 * writes bench/results/latest.json. Traffic goes to 127.0.0.1 only; every wait is bounded.
 */
import { spawnSync } from "node:child_process";
import { availableParallelism, loadavg, totalmem } from "node:os";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import {
  API_TOKEN, INGEST_TOKEN, chunk, createSubscriptions, deliveryFigures, ingestBatches, makeEvents, median, percentile, post, round,
  waitForDeliveries,
} from "./lib/load.mjs";
import { dollarsPerMillionDeliveries, PRICE_SOURCES, PRICES, PRICES_READ_ON, sum } from "./lib/prices.mjs";
import { LOG_DIR, buildBundle, cpuSeconds, memoryMiB, sleep, startReceiver, startWrangler, stateRoot } from "./lib/processes.mjs";

const { values: options } = parseArgs({
  options: {
    runs: { type: "string", default: "1" }, long: { type: "boolean", default: false }, disk: { type: "boolean", default: false },
    help: { type: "boolean", default: false },
  },
});
if (options.help) {
  console.log(
    "npm run bench [-- --runs N (default 1, at most 5)] [-- --long (adds a 5x longer run: is memory flat?)] " +
      "[-- --disk (local state on disk, not on /dev/shm: see stateRoot in bench/lib/processes.mjs)]",
  );
  process.exit(0);
}
const RUNS = Math.min(5, Math.max(1, Number.parseInt(options.runs, 10) || 1));

// ---- the workload ------------------------------------------------------------------------------

const SUBSCRIPTIONS = 10;
const EVENTS = 2_000; // x 10 subscriptions = 20,000 deliveries
const BATCH = 100; // events per ingest request in the delivery runs
// Cloudflare Queues takes at most 5,000 messages per second per queue; the delivery runs ingest no faster
// (which also keeps Miniflare's queue broker under its 10,000 pending-timer limit).
const QUEUE_MESSAGES_PER_SECOND = 5_000;
const INGEST_INTERVAL_MS = ((BATCH * SUBSCRIPTIONS) / QUEUE_MESSAGES_PER_SECOND) * 1000;
const SINGLE_POSTS = [{ concurrency: 1, count: 200 }, { concurrency: 16, count: 800 }];
const WARM_UP_POSTS = 20;
const LARGE_BATCH = 1_000;
// Paced runs, at a share of run 3's throughput; the end-to-end target is judged at the full rate.
const PACES = [
  { name: "paced", share: 1, events: 1_000, code: "classification.update" },
  { name: "pacedHalf", share: 0.5, events: 500, code: "classification.create" },
];
const PACE_TICK_MS = 100;
const PACED_IN_FLIGHT = 4;
const ISOLATION_BEHAVIOURS = ["ok", "ok", "ok", "fail", "ok", "ok", "ok", "ok", "hang", "ok"]; // 10% answer 500, 10% hang 8 s
const CEILING_MODES = ["await", "background"];
// One subscriber with maxConcurrency 100 and an endpoint answering in 50 ms (issue 13), against the
// ceiling Worker keeping as many POSTs in flight; measured twice: with wrangler.toml's
// CONNECTIONS_PER_INVOCATION (6, production's limit) and with WIDE_CONNECTIONS.
const SLOW_ENDPOINT = "slow50";
const ONE_SUBSCRIBER_EVENTS = 5_000;
const ONE_SUBSCRIBER_CONCURRENCY = 100;
const WIDE_CONNECTIONS = 100;
// Issue 11: a Quiltt-format subscriber beside an event-format one, the same events, the same slow endpoint.
const FORMATS = ["event", "quiltt"];
const FORMAT_EVENTS = 5_000;
const COST_EVENTS = 500;
const COST_SINGLE_EVENTS = 200;
const COST_SINGLE_CONCURRENCY = 4;
const LONG_CHUNKS = 5; // x EVENTS: the "5x longer run"
const LONG_RSS_TOLERANCE = 0.1;
const DRAIN_TIMEOUT_MS = 180_000;
const TIME_BUDGET_MS = (RUNS * 8 + (options.long ? 8 : 0) + 4) * 60_000;

const DOORBELL_VARS = { API_TOKEN, INGEST_TOKEN, ALLOW_HTTP_TARGETS: "true", ALLOW_PRIVATE_TARGETS: "true" };
const ROOT = fileURLToPath(new URL("..", import.meta.url));
const RESULTS_PATH = fileURLToPath(new URL("./results/latest.json", import.meta.url));

const TARGETS = {
  oneSubscriberOverCeiling: 0.5,
  pipelineOverCeiling: 0.8,
  ingestP99c16OverCeiling: 1.2,
  rowsWrittenPerDelivery: 2,
  dollarsPerMillionBatched: 2,
  dollarsPerMillionSingle: 3.5,
  isolation: 0.9,
  batch1000Ms: 1_000,
  endToEndP50Ms: 1_500,
  endToEndP99Ms: 3_000,
  queueMessagesPerDelivery: 1,
  durableObjectRequestsPerDelivery: 2,
};

// ---- process bookkeeping ---------------------------------------------------------------------------

const running = new Set();
async function started(promise) {
  const instance = await promise;
  running.add(instance);
  return instance;
}
async function stopped(instance) {
  running.delete(instance);
  await instance.stop();
}
async function stopEverything() {
  await Promise.allSettled([...running].map((instance) => instance.stop()));
  running.clear();
}
for (const signal of ["SIGINT", "SIGTERM"])
  process.on(signal, async () => {
    await stopEverything();
    process.exit(130);
  });
setTimeout(async () => {
  console.error(`\nbench: over its time budget (${TIME_BUDGET_MS / 60_000} min); stopping.`);
  await stopEverything();
  process.exit(2);
}, TIME_BUDGET_MS).unref();

/** Doorbell (or its metered variant) from a bundle built at the start, so every run measures the same code. */
function startDoorbell(bundle, vars = {}) {
  return started(startWrangler({
    name: "doorbell", args: [bundle.path, "--no-bundle", "--config", "wrangler.toml"], vars: { ...DOORBELL_VARS, ...vars }, stateOnDisk: options.disk,
  }));
}

function cpuOf(instance) {
  const { wrangler, runtime, front } = instance.processes();
  return { runtime: sum(runtime.map(cpuSeconds)), front: sum(front.map(cpuSeconds)), wrangler: cpuSeconds(wrangler) };
}

function cpuMsPerDelivery(before, after, deliveries) {
  const perDelivery = (key) => round(((after[key] - before[key]) * 1000) / deliveries, 3);
  return { runtime: perDelivery("runtime"), front: perDelivery("front"), wrangler: perDelivery("wrangler") };
}

function memoryOf(instance) {
  const { runtime, front } = instance.processes();
  const of = (pids) => pids.map(memoryMiB).reduce((total, m) => ({ rss: total.rss + m.rss, peak: total.peak + m.peak }), { rss: 0, peak: 0 });
  const rounded = ({ rss, peak }) => ({ rssMiB: round(rss, 1), peakMiB: round(peak, 1) });
  return { runtime: rounded(of(runtime)), front: rounded(of(front)) };
}

function okBuckets(scenario, behaviours) {
  return new Set(behaviours.flatMap((behaviour, index) => (behaviour === "ok" ? [`${scenario}.${index}`] : [])));
}

// ---- scenarios ------------------------------------------------------------------------------------

/** 1 and 2: single-event POSTs at concurrency 1 and 16, then one 1,000-event batch; each on a drained pipeline. */
async function ingestScenario(doorbell, receiver, run) {
  const scenario = `ingest${run}`;
  const code = "document.update";
  await createSubscriptions(doorbell.url, receiver.url, scenario, code, Array(SUBSCRIPTIONS).fill("ok"));
  const endpoint = `${doorbell.url}/v1/events`;
  const single = { bodyOf: (batch) => batch[0] }; // a bare event, exactly what Quable sends
  let owed = 0;
  const drain = () => waitForDeliveries(receiver, scenario, owed, DRAIN_TIMEOUT_MS);

  await ingestBatches(endpoint, chunk(makeEvents(code, WARM_UP_POSTS), 1), 1, single);
  owed += WARM_UP_POSTS * SUBSCRIPTIONS;
  await drain();

  const result = {};
  for (const { concurrency, count } of SINGLE_POSTS) {
    const { timings, resent } = await ingestBatches(endpoint, chunk(makeEvents(code, count), 1), concurrency, single);
    result[`c${concurrency}`] = { requests: count, p50Ms: percentile(timings, 50), p99Ms: percentile(timings, 99), resentAfter503: resent };
    owed += count * SUBSCRIPTIONS;
    await drain();
  }
  const { ms, resent } = await post(endpoint, makeEvents(code, LARGE_BATCH));
  result.batch1000Ms = round(ms, 0);
  result.batch1000ResentAfter503 = resent;
  owed += LARGE_BATCH * SUBSCRIPTIONS;
  await drain();
  await receiver.ask({ type: "forget", scenario });
  return result;
}

/**
 * Ingests `events` (by default 100 per request, no faster than the queue's 5,000 messages a second)
 * and waits for every delivery to the healthy buckets.
 */
async function deliveryRun({
  instance, receiver, endpoint, bodyOf, scenario, events, healthyBuckets, eventsPerRequest = BATCH, concurrency = 1, intervalMs = INGEST_INTERVAL_MS,
}) {
  const cpuBefore = cpuOf(instance);
  const startedAt = Date.now();
  const { acceptedAt, resent } = await ingestBatches(endpoint, chunk(events, eventsPerRequest), concurrency, { bodyOf, intervalMs });
  const ingestSeconds = (Date.now() - startedAt) / 1000;
  const expected = events.length * healthyBuckets.size;
  const complete = await waitForDeliveries(receiver, scenario, expected, DRAIN_TIMEOUT_MS, healthyBuckets);
  const cpuAfter = cpuOf(instance);
  const { receipts, requests, requestsByBucket, maxInFlightByBucket } = await receiver.ask({ type: "collect", scenario });
  await receiver.ask({ type: "forget", scenario });
  const figures = deliveryFigures(receipts, acceptedAt, startedAt, { buckets: healthyBuckets });
  const byBucket = (bucket) => {
    const own = deliveryFigures(receipts, acceptedAt, startedAt, { buckets: new Set([bucket]) });
    const posts = requestsByBucket[bucket] ?? 0;
    return { events: own.deliveries, seconds: own.seconds, perSecond: own.perSecond, posts, postsPerEvent: round(posts / own.deliveries, 3), maxInFlight: maxInFlightByBucket[bucket] };
  };
  const unhealthy = Object.entries(requestsByBucket).filter(([bucket]) => !healthyBuckets.has(bucket));
  return {
    ...figures,
    complete,
    ingestSeconds: round(ingestSeconds, 2),
    ingestResentAfter503: resent,
    receiverRequests: requests,
    // POSTs that failing or hanging endpoints received before their subscriptions were disabled
    unhealthyEndpointRequests: Object.fromEntries(unhealthy),
    maxInFlight: Math.max(...[...healthyBuckets].map((bucket) => maxInFlightByBucket[bucket] ?? 0)),
    cpuMsPerDelivery: cpuMsPerDelivery(cpuBefore, cpuAfter, figures.deliveries),
    ...(healthyBuckets.size <= FORMATS.length ? { byBucket: Object.fromEntries([...healthyBuckets].map((bucket) => [bucket, byBucket(bucket)])) } : {}),
  };
}

/** 3 (and 5): 2,000 events for 10 subscriptions behaving as `behaviours`. */
async function doorbellDeliveryRun(doorbell, receiver, scenario, code, behaviours, events = EVENTS) {
  await createSubscriptions(doorbell.url, receiver.url, scenario, code, behaviours);
  return deliveryRun({
    instance: doorbell, receiver, endpoint: `${doorbell.url}/v1/events`, bodyOf: (batch) => batch, scenario,
    events: makeEvents(code, events), healthyBuckets: okBuckets(scenario, behaviours),
  });
}

/** Ingests one slow subscriber's events no faster than the ceiling can queue them (100 messages per request). */
const ONE_TARGET_INTERVAL_MS = (BATCH / QUEUE_MESSAGES_PER_SECOND) * 1000;

/** 7: one subscriber, maxConcurrency 100, an endpoint answering in 50 ms, 5,000 events. */
async function oneSubscriberRun(doorbell, receiver, scenario) {
  const code = "document.create";
  await createSubscriptions(doorbell.url, receiver.url, scenario, code, [SLOW_ENDPOINT], () => ({ maxConcurrency: ONE_SUBSCRIBER_CONCURRENCY }));
  return deliveryRun({
    instance: doorbell, receiver, endpoint: `${doorbell.url}/v1/events`, bodyOf: (batch) => batch, scenario,
    events: makeEvents(code, ONE_SUBSCRIBER_EVENTS), healthyBuckets: new Set([`${scenario}.0`]), intervalMs: ONE_TARGET_INTERVAL_MS,
  });
}

/** 8: a Quiltt-format subscriber beside an event-format one (default options otherwise), the same 5,000 events, a 50 ms endpoint. */
async function formatsRun(doorbell, receiver, scenario) {
  const code = "media.create";
  const behaviours = FORMATS.map(() => SLOW_ENDPOINT);
  await createSubscriptions(doorbell.url, receiver.url, scenario, code, behaviours, (index) => ({ payloadFormat: FORMATS[index] }));
  const figures = await deliveryRun({
    instance: doorbell, receiver, endpoint: `${doorbell.url}/v1/events`, bodyOf: (batch) => batch, scenario,
    events: makeEvents(code, FORMAT_EVENTS), healthyBuckets: okBuckets(scenario, behaviours.map(() => "ok")), intervalMs: ONE_TARGET_INTERVAL_MS,
  });
  const { byBucket, ...all } = figures;
  return { ...all, ...Object.fromEntries(FORMATS.map((format, index) => [format, byBucket[`${scenario}.${index}`]])) };
}

/** 3b: end-to-end latency with events arriving steadily (at a share of run 3's throughput) instead of all at once. */
async function pacedRun(doorbell, receiver, scenario, code, eventsPerSecond, eventCount) {
  const behaviours = Array(SUBSCRIPTIONS).fill("ok");
  await createSubscriptions(doorbell.url, receiver.url, scenario, code, behaviours);
  const endpoint = `${doorbell.url}/v1/events`;
  const events = makeEvents(code, eventCount);
  const acceptedAt = new Map();
  const inFlight = new Set();
  const startedAt = Date.now();
  let sent = 0;
  let resent = 0;
  while (sent < events.length) {
    const due = Math.min(events.length, Math.floor(((Date.now() - startedAt) / 1000) * eventsPerSecond) + 1);
    if (due > sent && inFlight.size < PACED_IN_FLIGHT) {
      const batch = events.slice(sent, due);
      sent = due;
      const request = post(endpoint, batch).then((result) => {
        resent += result.resent;
        for (const event of batch) acceptedAt.set(event.uuid, result.answeredAt);
      });
      inFlight.add(request);
      request.finally(() => inFlight.delete(request));
    }
    await sleep(PACE_TICK_MS);
  }
  await Promise.all(inFlight);
  const healthyBuckets = okBuckets(scenario, behaviours);
  const complete = await waitForDeliveries(receiver, scenario, events.length * SUBSCRIPTIONS, DRAIN_TIMEOUT_MS, healthyBuckets);
  const { receipts } = await receiver.ask({ type: "collect", scenario });
  await receiver.ask({ type: "forget", scenario });
  const figures = deliveryFigures(receipts, acceptedAt, startedAt, { buckets: healthyBuckets });
  return { eventsPerSecond: round(eventsPerSecond, 1), ...figures, complete, ingestResentAfter503: resent };
}

/** The optional 5x longer run: the same flow five times over, workerd's resident memory after each. */
async function longRun(doorbell, receiver) {
  const samples = [];
  const scenario = "long";
  const code = "link.update";
  const behaviours = Array(SUBSCRIPTIONS).fill("ok");
  await createSubscriptions(doorbell.url, receiver.url, scenario, code, behaviours);
  for (let lap = 1; lap <= LONG_CHUNKS; lap++) {
    const figures = await deliveryRun({
      instance: doorbell, receiver, endpoint: `${doorbell.url}/v1/events`, bodyOf: (batch) => batch, scenario,
      events: makeEvents(code, EVENTS), healthyBuckets: okBuckets(scenario, behaviours),
    });
    samples.push({ deliveries: lap * EVENTS * SUBSCRIPTIONS, perSecond: figures.perSecond, ...memoryOf(doorbell).runtime });
    console.log(`    long ${lap}/${LONG_CHUNKS}: ${figures.perSecond}/s, runtime RSS ${samples.at(-1).rssMiB} MiB`);
  }
  const first = samples[0].rssMiB;
  const last = samples.at(-1).rssMiB;
  return { samples, growth: round((last - first) / first, 3), flat: last <= first * (1 + LONG_RSS_TOLERANCE) };
}

/** 4: the same volume through the ceiling Worker, to the same receiver, in one of its two modes. */
async function ceilingRun(receiver, run, mode) {
  const ceiling = await started(
    startWrangler({ name: `ceiling-${mode}`, args: ["--config", "bench/ceiling.wrangler.toml"], vars: { CEILING_MODE: mode }, stateOnDisk: options.disk }),
  );
  try {
    const scenario = `ceiling${mode}${run}`;
    const targets = Array.from({ length: SUBSCRIPTIONS }, (_, index) => `${receiver.url}/${scenario}.${index}/ok`);
    const ingest = mode === "background" ? await ceilingIngestLatency(ceiling, receiver, `${scenario}ingest`) : undefined;
    const figures = await deliveryRun({
      instance: ceiling, receiver, endpoint: `${ceiling.url}/ingest`, bodyOf: (batch) => ({ targets, events: batch }), scenario,
      events: makeEvents("document.update", EVENTS), healthyBuckets: okBuckets(scenario, Array(SUBSCRIPTIONS).fill("ok")),
    });
    const oneSubscriber = mode === "background" ? await ceilingOneSubscriber(ceiling, receiver, `${scenario}one`) : undefined;
    return { ...figures, ingest, oneSubscriber, memory: memoryOf(ceiling) };
  } finally {
    await stopped(ceiling);
  }
}

/** 7 for the ceiling: the same 5,000 events to one slow target, at most 100 POSTs in flight across its invocations. */
function ceilingOneSubscriber(ceiling, receiver, scenario) {
  const targets = [`${receiver.url}/${scenario}.0/${SLOW_ENDPOINT}`];
  return deliveryRun({
    instance: ceiling, receiver, endpoint: `${ceiling.url}/ingest`, bodyOf: (batch) => ({ targets, events: batch, inFlight: ONE_SUBSCRIBER_CONCURRENCY }),
    scenario, events: makeEvents("document.update", ONE_SUBSCRIBER_EVENTS), healthyBuckets: new Set([`${scenario}.0`]), intervalMs: ONE_TARGET_INTERVAL_MS,
  });
}

/**
 * 1 for the ceiling: the same single-event POSTs at concurrency 16, each putting 10 messages on the
 * queue, while the ceiling delivers them. What the least a sender can do costs here, on one thread.
 */
async function ceilingIngestLatency(ceiling, receiver, scenario) {
  const targets = Array.from({ length: SUBSCRIPTIONS }, (_, index) => `${receiver.url}/${scenario}.${index}/ok`);
  const options = { bodyOf: (batch) => ({ targets, events: batch }) };
  const endpoint = `${ceiling.url}/ingest`;
  const { concurrency, count } = SINGLE_POSTS.at(-1);
  await ingestBatches(endpoint, chunk(makeEvents("document.update", WARM_UP_POSTS), 1), 1, options);
  await waitForDeliveries(receiver, scenario, WARM_UP_POSTS * SUBSCRIPTIONS, DRAIN_TIMEOUT_MS);
  const { timings } = await ingestBatches(endpoint, chunk(makeEvents("document.update", count), 1), concurrency, options);
  await waitForDeliveries(receiver, scenario, (WARM_UP_POSTS + count) * SUBSCRIPTIONS, DRAIN_TIMEOUT_MS);
  await receiver.ask({ type: "forget", scenario });
  return { [`c${concurrency}`]: { requests: count, p50Ms: percentile(timings, 50), p99Ms: percentile(timings, 99) } };
}

/**
 * 6: what deliveries cost, counted by the metered entry point, and the storage they leave behind: once
 * with events ingested 100 per request (as in run 3), once one event per request (as Quable sends them),
 * and once 100 per request to a single subscription.
 */
async function costRun(receiver, meteredBundle) {
  const doorbell = await startDoorbell(meteredBundle);
  try {
    const usageUrl = `${doorbell.url}/__bench/usage`;
    const phase = async (scenario, code, events, ingest, subscriptions = SUBSCRIPTIONS) => {
      const behaviours = Array(subscriptions).fill("ok");
      await createSubscriptions(doorbell.url, receiver.url, scenario, code, behaviours);
      const { storedBytesNow: storedBefore } = await (await fetch(usageUrl, { method: "DELETE" })).json();
      const figures = await deliveryRun({
        instance: doorbell, receiver, endpoint: `${doorbell.url}/v1/events`, scenario, events: makeEvents(code, events),
        healthyBuckets: okBuckets(scenario, behaviours), ...ingest,
      });
      // Receipt comes before the consumer records the attempt and acks: wait for every ack.
      let usage;
      const deadline = Date.now() + 30_000;
      do {
        await sleep(250);
        usage = await (await fetch(usageUrl)).json();
      } while ((usage.queue.deleteOps < figures.deliveries || usage.objectsBusyNow > 0) && Date.now() < deadline);
      const storedBytesPerDelivery = round((usage.storedBytesNow - storedBefore) / figures.deliveries, 0);
      return { deliveries: figures.deliveries, usage, storedBytesPerDelivery, cpuMsPerDelivery: figures.cpuMsPerDelivery.runtime };
    };
    return {
      batched: await phase("costbatched", "value.update", COST_EVENTS, { bodyOf: (batch) => batch }),
      single: await phase("costsingle", "value.create", COST_SINGLE_EVENTS, {
        bodyOf: (batch) => batch[0], eventsPerRequest: 1, concurrency: COST_SINGLE_CONCURRENCY, intervalMs: 0,
      }),
      // An event's ledger row is shared by the subscriptions it matched: with one, it is all this delivery's.
      oneSubscriber: await phase("costone", "link.create", COST_EVENTS, { bodyOf: (batch) => batch }, 1),
    };
  } finally {
    await stopped(doorbell);
  }
}

// ---- one run ----------------------------------------------------------------------------------------

async function oneRun(receiver, bundle, run) {
  const result = { run, loadAverageAtStart: loadavg().map((value) => round(value, 2)) };
  const doorbell = await startDoorbell(bundle);
  try {
    // workerd's resident memory after each scenario, to see which one grows it
    result.rssMiBAfter = {};
    const noteMemory = (scenario) => (result.rssMiBAfter[scenario] = memoryOf(doorbell).runtime.rssMiB);
    noteMemory("start");
    console.log(`  run ${run}: ingest latency`);
    result.ingest = await ingestScenario(doorbell, receiver, run);
    noteMemory("ingest");
    console.log(`  run ${run}: delivery throughput`);
    result.delivery = await doorbellDeliveryRun(doorbell, receiver, `flow${run}`, "media.update", Array(SUBSCRIPTIONS).fill("ok"));
    noteMemory("delivery");
    for (const pace of PACES) {
      console.log(`  run ${run}: end-to-end latency, paced at ${pace.share * 100}% of that throughput`);
      const eventsPerSecond = (pace.share * result.delivery.perSecond) / SUBSCRIPTIONS;
      result[pace.name] = await pacedRun(doorbell, receiver, `${pace.name}${run}`, pace.code, eventsPerSecond, pace.events);
      noteMemory(pace.name);
    }
    console.log(`  run ${run}: isolation`);
    result.isolation = await doorbellDeliveryRun(doorbell, receiver, `iso${run}`, "variant.update", ISOLATION_BEHAVIOURS);
    noteMemory("isolation");
    console.log(`  run ${run}: one subscriber, maxConcurrency ${ONE_SUBSCRIBER_CONCURRENCY}, 50 ms endpoint`);
    result.oneSubscriber = await oneSubscriberRun(doorbell, receiver, `one${run}`);
    noteMemory("oneSubscriber");
    console.log(`  run ${run}: Quiltt format beside event format, 50 ms endpoint`);
    result.formats = await formatsRun(doorbell, receiver, `formats${run}`);
    noteMemory("formats");
    if (options.long && run === 1) {
      console.log(`  run ${run}: 5x longer run`);
      result.long = await longRun(doorbell, receiver);
    }
    result.memory = memoryOf(doorbell);
  } finally {
    await stopped(doorbell);
  }
  console.log(`  run ${run}: one subscriber, then ten, again with CONNECTIONS_PER_INVOCATION ${WIDE_CONNECTIONS}`);
  const wide = await startDoorbell(bundle, { CONNECTIONS_PER_INVOCATION: String(WIDE_CONNECTIONS) });
  try {
    result.oneSubscriberWide = await oneSubscriberRun(wide, receiver, `onewide${run}`);
    // Like for like: workerd does not hold the ceiling to 6 connections (it opens a batch's 25 at once, more in background mode).
    result.deliveryWide = await doorbellDeliveryRun(wide, receiver, `flowwide${run}`, "media.update", Array(SUBSCRIPTIONS).fill("ok"));
  } finally {
    await stopped(wide);
  }
  result.ceilings = {};
  for (const mode of CEILING_MODES) {
    console.log(`  run ${run}: ceiling (${mode})`);
    result.ceilings[mode] = await ceilingRun(receiver, run, mode);
  }
  // The higher of the two ceilings is the one to measure against.
  result.ceiling = Object.values(result.ceilings).reduce((best, ceiling) => (ceiling.perSecond > best.perSecond ? ceiling : best));
  result.pipelineOverCeiling = round(result.delivery.perSecond / result.ceiling.perSecond, 3);
  result.pipelineWideOverCeiling = round(result.deliveryWide.perSecond / result.ceiling.perSecond, 3);
  const oneCeiling = result.ceilings.background.oneSubscriber.perSecond;
  result.oneSubscriberOverCeiling = round(result.oneSubscriber.perSecond / oneCeiling, 3);
  result.oneSubscriberWideOverCeiling = round(result.oneSubscriberWide.perSecond / oneCeiling, 3);
  result.ingestP99c16OverCeiling = round(result.ingest.c16.p99Ms / result.ceilings.background.ingest.c16.p99Ms, 3);
  // Each healthy subscription got the same 2,000 events as in run 3: compare how long they took.
  result.isolationRatio = round(result.delivery.seconds / result.isolation.seconds, 3);
  return result;
}

// ---- report ------------------------------------------------------------------------------------------

function machine() {
  const cpuinfo = readFileSync("/proc/cpuinfo", "utf8");
  const version = (name) => JSON.parse(readFileSync(`${ROOT}/node_modules/${name}/package.json`, "utf8")).version;
  return {
    nproc: availableParallelism(),
    cpuModel: /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? "unknown",
    memoryGiB: round(totalmem() / 2 ** 30, 1),
    node: process.version,
    wrangler: version("wrangler"),
    workerd: version("workerd"),
    loadAverageAtStart: loadavg().map((value) => round(value, 2)),
  };
}

/** Which code was measured: the commit, and whether src/ had uncommitted changes (read-only git queries). */
function codeUnderTest() {
  const git = (...args) => {
    const result = spawnSync("git", args, { cwd: ROOT, encoding: "utf8" });
    return result.status === 0 ? result.stdout.trim() : null;
  };
  const changed = git("status", "--porcelain", "--", "src", "wrangler.toml");
  return { commit: git("rev-parse", "--short", "HEAD"), srcChangedSinceCommit: changed === null ? null : changed.length > 0 };
}

/** Non-zero counts per delivery, largest first. */
function perDeliveryByKey(counts, deliveries) {
  return Object.fromEntries(
    Object.entries(counts).filter(([, count]) => count > 0).sort((a, b) => b[1] - a[1]).map(([key, count]) => [key, round(count / deliveries, 4)]),
  );
}

function costSummary(cost) {
  const { usage, deliveries, cpuMsPerDelivery } = cost;
  const rpc = usage.durableObjects.rpc;
  const per = (count) => round(count / deliveries, 4);
  const doRequests = sum(Object.values(rpc)) + sum(Object.values(usage.durableObjects.alarms));
  // What the consumer calls (its queue sends are counted with ingest's, so left out here).
  const consumerSubrequests =
    usage.subrequests.fetch + (rpc["SubscriptionObject.begin"] ?? 0) + (rpc["SubscriptionObject.finish"] ?? 0) + (rpc["EventLedger.bodies"] ?? 0);
  const busiest = Object.entries(usage.durableObjects.requestsByObject).sort((a, b) => b[1] - a[1]).slice(0, 3);
  return {
    deliveries,
    perDelivery: {
      queueMessages: per(usage.queue.messagesSent),
      queueOperations: per(usage.queue.writeOps + usage.queue.readOps + usage.queue.deleteOps),
      durableObjectRequests: per(doRequests),
      rowsWritten: per(usage.durableObjects.rowsWritten + usage.durableObjects.setAlarm),
      rowsRead: per(usage.durableObjects.rowsRead),
      workerInvocations: per(usage.worker.httpRequests + usage.worker.queueInvocations),
      subrequests: { fetch: per(usage.subrequests.fetch), durableObjectRpc: per(usage.subrequests.durableObjectRpc), queueSend: per(usage.subrequests.queueSend) },
      durableObjectActiveMs: per(usage.durableObjects.activeMs),
      cpuMs: cpuMsPerDelivery,
      storedBytes: cost.storedBytesPerDelivery,
    },
    subrequestsPerConsumerInvocation: round(consumerSubrequests / usage.worker.queueInvocations, 1),
    busiestObjects: busiest.map(([object, requests]) => ({ object, requests, perDelivery: per(requests) })),
    rowsWrittenByStatement: perDeliveryByKey(usage.durableObjects.rowsWrittenByStatement, deliveries),
    rowsReadByStatement: perDeliveryByKey(usage.durableObjects.rowsReadByStatement, deliveries),
    durableObjectRequestsByMethod: perDeliveryByKey(rpc, deliveries),
    meanQueueSendMs: round(usage.queue.sendMs / usage.queue.sendCalls, 1),
    meanRpcMsByMethod: Object.fromEntries(Object.entries(usage.durableObjects.rpcMsByMethod).map(([method, ms]) => [method, round(ms / rpc[method], 1)])),
    dollarsPerMillionDeliveries: Object.fromEntries(
      Object.entries(
        dollarsPerMillionDeliveries(usage, deliveries, { cpuMsPerDelivery, storedBytesPerDelivery: cost.storedBytesPerDelivery, retentionMonths: 1 }),
      ).map(([line, dollars]) => [line, round(dollars, 4)]),
    ),
    raw: usage,
  };
}

function summarise(runs, cost, long) {
  const pick = (path) => runs.map((run) => path.split(".").reduce((value, key) => value?.[key], run));
  const mid = (path) => median(pick(path));
  const figures = {
    ingestP50c1Ms: mid("ingest.c1.p50Ms"),
    ingestP99c1Ms: mid("ingest.c1.p99Ms"),
    ingestP50c16Ms: mid("ingest.c16.p50Ms"),
    ingestP99c16Ms: mid("ingest.c16.p99Ms"),
    ceilingIngestP50c16Ms: mid("ceilings.background.ingest.c16.p50Ms"),
    ceilingIngestP99c16Ms: mid("ceilings.background.ingest.c16.p99Ms"),
    ingestP99c16OverCeiling: mid("ingestP99c16OverCeiling"),
    batch1000Ms: mid("ingest.batch1000Ms"),
    deliveriesPerSecond: mid("delivery.perSecond"),
    burstEndToEndP50Ms: mid("delivery.latencyMs.p50"),
    burstEndToEndP99Ms: mid("delivery.latencyMs.p99"),
    pacedEventsPerSecond: mid("paced.eventsPerSecond"),
    endToEndP50Ms: mid("paced.latencyMs.p50"),
    endToEndP99Ms: mid("paced.latencyMs.p99"),
    halfPaceEndToEndP50Ms: mid("pacedHalf.latencyMs.p50"),
    halfPaceEndToEndP99Ms: mid("pacedHalf.latencyMs.p99"),
    ceilingDeliveriesPerSecond: mid("ceiling.perSecond"),
    ceilingAwaitPerSecond: mid("ceilings.await.perSecond"),
    ceilingBackgroundPerSecond: mid("ceilings.background.perSecond"),
    pipelineOverCeiling: mid("pipelineOverCeiling"),
    deliveriesWidePerSecond: mid("deliveryWide.perSecond"),
    pipelineWideOverCeiling: mid("pipelineWideOverCeiling"),
    isolationHealthyPerSecond: mid("isolation.perSecond"),
    isolationRatio: mid("isolationRatio"),
    oneSubscriberPerSecond: mid("oneSubscriber.perSecond"),
    oneSubscriberMaxInFlight: mid("oneSubscriber.maxInFlight"),
    oneSubscriberWidePerSecond: mid("oneSubscriberWide.perSecond"),
    oneSubscriberWideMaxInFlight: mid("oneSubscriberWide.maxInFlight"),
    ceilingOneSubscriberPerSecond: mid("ceilings.background.oneSubscriber.perSecond"),
    ceilingOneSubscriberMaxInFlight: mid("ceilings.background.oneSubscriber.maxInFlight"),
    oneSubscriberOverCeiling: mid("oneSubscriberOverCeiling"),
    oneSubscriberWideOverCeiling: mid("oneSubscriberWideOverCeiling"),
    eventFormatEventsPerSecond: mid("formats.event.perSecond"),
    eventFormatPostsPerEvent: mid("formats.event.postsPerEvent"),
    quilttFormatEventsPerSecond: mid("formats.quiltt.perSecond"),
    quilttFormatPostsPerEvent: mid("formats.quiltt.postsPerEvent"),
    cpuMsPerDelivery: mid("delivery.cpuMsPerDelivery.runtime"),
    ceilingCpuMsPerDelivery: mid("ceiling.cpuMsPerDelivery.runtime"),
    peakMemoryMiB: Math.max(...pick("memory.runtime.peakMiB")),
    ceilingPeakMemoryMiB: Math.max(...pick("ceiling.memory.runtime.peakMiB")),
  };
  const check = (name, value, target, atLeast) => ({
    name, value, target: `${atLeast ? ">=" : "<="} ${target}`, pass: value !== null && (atLeast ? value >= target : value <= target),
  });
  const worse = (key) => Math.max(cost.batched.perDelivery[key], cost.single.perDelivery[key]);
  const targets = [
    check("one subscriber / its ceiling (6 connections per invocation)", figures.oneSubscriberOverCeiling, TARGETS.oneSubscriberOverCeiling, true),
    check(`  the same, ${WIDE_CONNECTIONS} connections per invocation`, figures.oneSubscriberWideOverCeiling, TARGETS.oneSubscriberOverCeiling, true),
    check("10 subscribers / ceiling (6 connections per invocation)", figures.pipelineOverCeiling, TARGETS.pipelineOverCeiling, true),
    check(`  the same, ${WIDE_CONNECTIONS} connections per invocation`, figures.pipelineWideOverCeiling, TARGETS.pipelineOverCeiling, true),
    check("ingest p99 at concurrency 16 / the ceiling's", figures.ingestP99c16OverCeiling, TARGETS.ingestP99c16OverCeiling, false),
    // Judged on the costlier way of ingesting, whichever it is.
    check("SQLite rows written per delivery", worse("rowsWritten"), TARGETS.rowsWrittenPerDelivery, false),
    check("$ per million deliveries, 100 events per request", cost.batched.dollarsPerMillionDeliveries.total, TARGETS.dollarsPerMillionBatched, false),
    check("$ per million deliveries, 1 event per request", cost.single.dollarsPerMillionDeliveries.total, TARGETS.dollarsPerMillionSingle, false),
    check("isolation ratio", figures.isolationRatio, TARGETS.isolation, true),
    check("1,000-event batch accepted (ms)", figures.batch1000Ms, TARGETS.batch1000Ms, false),
    check("end-to-end p50, paced (ms)", figures.endToEndP50Ms, TARGETS.endToEndP50Ms, false),
    check("end-to-end p99, paced (ms)", figures.endToEndP99Ms, TARGETS.endToEndP99Ms, false),
    check("queue messages per delivery", worse("queueMessages"), TARGETS.queueMessagesPerDelivery, false),
    check("Durable Object requests per delivery", worse("durableObjectRequests"), TARGETS.durableObjectRequestsPerDelivery, false),
  ];
  if (long) targets.push({ name: "memory flat over the 5x run", value: long.growth, target: `growth <= ${LONG_RSS_TOLERANCE}`, pass: long.flat });
  return { figures, targets };
}

function printReport(report) {
  const { summary, cost, runs } = report;
  const f = summary.figures;
  const perRun = (path) => runs.map((run) => path.split(".").reduce((value, key) => value?.[key], run)).join(" / ");
  const rows = [
    ["ingest, 1 event, concurrency 1: p50 / p99 (ms)", `${f.ingestP50c1Ms} / ${f.ingestP99c1Ms}`],
    ["ingest, 1 event, concurrency 16: p50 / p99 (ms)", `${f.ingestP50c16Ms} / ${f.ingestP99c16Ms}`, perRun("ingest.c16.p99Ms")],
    ["  the ceiling Worker, the same POSTs: p50 / p99 (ms)", `${f.ceilingIngestP50c16Ms} / ${f.ceilingIngestP99c16Ms}`, perRun("ceilings.background.ingest.c16.p99Ms")],
    ["  p99 / the ceiling's", f.ingestP99c16OverCeiling, perRun("ingestP99c16OverCeiling")],
    ["ingest, 1,000 events in one request (ms)", f.batch1000Ms, perRun("ingest.batch1000Ms")],
    ["delivery throughput, 20,000 deliveries (/s)", f.deliveriesPerSecond, perRun("delivery.perSecond")],
    ["  end-to-end, all ingested at once: p50 / p99 (ms)", `${f.burstEndToEndP50Ms} / ${f.burstEndToEndP99Ms}`],
    ["  end-to-end, paced at that rate: p50 / p99 (ms)", `${f.endToEndP50Ms} / ${f.endToEndP99Ms}`, perRun("paced.latencyMs.p99")],
    ["  end-to-end, paced at half that rate: p50 / p99 (ms)", `${f.halfPaceEndToEndP50Ms} / ${f.halfPaceEndToEndP99Ms}`, perRun("pacedHalf.latencyMs.p99")],
    ["ceiling Worker, POSTs awaited by the consumer (/s)", f.ceilingAwaitPerSecond, perRun("ceilings.await.perSecond")],
    ["ceiling Worker, POSTs in waitUntil (/s)", f.ceilingBackgroundPerSecond, perRun("ceilings.background.perSecond")],
    ["10 subscribers / higher ceiling", f.pipelineOverCeiling, perRun("pipelineOverCeiling")],
    [`  the same, CONNECTIONS_PER_INVOCATION ${WIDE_CONNECTIONS} (/s)`, f.deliveriesWidePerSecond, perRun("deliveryWide.perSecond")],
    ["  ratios: 6 / 100 connections per invocation", `${f.pipelineOverCeiling} / ${f.pipelineWideOverCeiling}`],
    ["isolation: healthy deliveries (/s)", f.isolationHealthyPerSecond, perRun("isolation.perSecond")],
    ["isolation ratio (healthy vs run 3)", f.isolationRatio, perRun("isolationRatio")],
    ["one subscriber, maxConcurrency 100, 50 ms endpoint (/s)", f.oneSubscriberPerSecond, perRun("oneSubscriber.perSecond")],
    ["  most POSTs in flight at the endpoint", f.oneSubscriberMaxInFlight],
    [`  the same, CONNECTIONS_PER_INVOCATION ${WIDE_CONNECTIONS} (/s)`, f.oneSubscriberWidePerSecond, perRun("oneSubscriberWide.perSecond")],
    ["  most POSTs in flight at the endpoint", f.oneSubscriberWideMaxInFlight],
    ["  ceiling Worker, at most 100 POSTs in flight (/s)", f.ceilingOneSubscriberPerSecond, perRun("ceilings.background.oneSubscriber.perSecond")],
    ["  ratios: 6 / 100 connections per invocation", `${f.oneSubscriberOverCeiling} / ${f.oneSubscriberWideOverCeiling}`],
    ["event format, 50 ms endpoint: events/s, POSTs per event", `${f.eventFormatEventsPerSecond}, ${f.eventFormatPostsPerEvent}`],
    ["Quiltt format, beside it: events/s, POSTs per event", `${f.quilttFormatEventsPerSecond}, ${f.quilttFormatPostsPerEvent}`],
    ["workerd CPU per delivery: Doorbell / ceiling (ms)", `${f.cpuMsPerDelivery} / ${f.ceilingCpuMsPerDelivery}`],
    ["workerd peak RSS: Doorbell / ceiling (MiB)", `${f.peakMemoryMiB} / ${f.ceilingPeakMemoryMiB}`],
  ];
  const both = (format) => `${format(cost.batched.perDelivery)}  |  ${format(cost.single.perDelivery)}  |  ${format(cost.oneSubscriber.perDelivery)}`;
  const costRows = [
    ["queue messages / operations", both((p) => `${p.queueMessages} / ${p.queueOperations}`)],
    ["Durable Object requests", both((p) => p.durableObjectRequests)],
    ["SQLite rows written / read", both((p) => `${p.rowsWritten} / ${p.rowsRead}`)],
    ["subrequests: fetch / DO RPC / queue send", both((p) => `${p.subrequests.fetch} / ${p.subrequests.durableObjectRpc} / ${p.subrequests.queueSend}`)],
    ["Worker invocations", both((p) => p.workerInvocations)],
    ["stored bytes", both((p) => p.storedBytes)],
  ];
  const width = Math.max(...[...rows, ...costRows].map(([label]) => label.length), ...summary.targets.map((target) => target.name.length)) + 2;
  const line = ([label, value, runsText]) => `  ${label.padEnd(width)}${String(value).padEnd(16)}${runsText && runs.length > 1 ? `runs: ${runsText}` : ""}`;
  console.log(`\nDoorbell benchmark (${runs.length} run${runs.length > 1 ? "s, medians" : ""}; ${report.machine.nproc} cores, ${report.machine.cpuModel})`);
  for (const row of rows) console.log(line(row));
  console.log(
    `\n  per delivery, counted by bench/usage-worker.ts: 100 events per request (${cost.batched.deliveries} deliveries)  |  1 event per request (${cost.single.deliveries})` +
      `  |  100 per request, 1 subscription (${cost.oneSubscriber.deliveries})`,
  );
  for (const row of costRows) console.log(line(row));
  console.log(`\n  $ per million deliveries (prices read ${PRICES_READ_ON}): batched  |  single  |  1 subscription`);
  for (const [item, dollars] of Object.entries(cost.batched.dollarsPerMillionDeliveries)) {
    const others = [cost.single, cost.oneSubscriber].map((counted) => `$${counted.dollarsPerMillionDeliveries[item]}`);
    console.log(line([item, [`$${dollars}`, ...others].join("  |  ")]));
  }
  console.log("\n  targets:");
  for (const target of summary.targets) console.log(line([target.name, `${target.value}`, null]) + `${target.target.padEnd(14)}${target.pass ? "PASS" : "FAIL"}`);
  console.log(`\n  written to ${RESULTS_PATH}`);
}

// ---- main --------------------------------------------------------------------------------------------

const startedAt = Date.now();
const host = machine();
if (host.loadAverageAtStart[0] > host.nproc / 2)
  console.warn(`bench: the load average is ${host.loadAverageAtStart[0]} on ${host.nproc} cores; other work will lower these figures.`);
const STATE_ROOT = stateRoot(options.disk);
console.log(
  `bench: ${RUNS} run(s)${options.long ? " + the 5x longer run" : ""}; Doorbell under wrangler dev (inspector proxy skipped), ` +
    `local state under ${STATE_ROOT}, ${host.nproc} cores`,
);

rmSync(LOG_DIR, { recursive: true, force: true }); // keep only this bench's logs
const code = codeUnderTest();
const bundle = await buildBundle("doorbell", ["--config", "wrangler.toml"]);
const meteredBundle = await buildBundle("metered", ["bench/usage-worker.ts", "--config", "wrangler.toml"]);
const receiver = await startReceiver();
try {
  const runs = [];
  for (let run = 1; run <= RUNS; run++) runs.push(await oneRun(receiver, bundle, run));
  console.log("  cost: metered run");
  const counted = await costRun(receiver, meteredBundle);
  const cost = Object.fromEntries(Object.entries(counted).map(([phase, usage]) => [phase, costSummary(usage)]));
  const long = runs[0].long ?? null;
  const report = {
    generatedAt: new Date().toISOString(),
    command: `npm run bench${RUNS > 1 || options.long || options.disk ? ` --${RUNS > 1 ? ` --runs ${RUNS}` : ""}${options.long ? " --long" : ""}${options.disk ? " --disk" : ""}` : ""}`,
    durationSeconds: null,
    machine: host,
    code,
    setup: {
      doorbell:
        "wrangler dev <bundle> --no-bundle --config wrangler.toml, the bundle built once by wrangler deploy --dry-run; " +
        "VSCODE_INSPECTOR_OPTIONS={} (no inspector proxy); fresh --persist-to per run, under " + STATE_ROOT + "; DELIVERY_TIMEOUT_MS 5000",
      workload: {
        subscriptions: SUBSCRIPTIONS, events: EVENTS, eventsPerRequest: BATCH, ingestIntervalMs: INGEST_INTERVAL_MS, singlePosts: SINGLE_POSTS,
        largeBatch: LARGE_BATCH, paces: PACES, costEvents: COST_EVENTS, slowEndpoint: SLOW_ENDPOINT, oneSubscriber: {
          events: ONE_SUBSCRIBER_EVENTS, maxConcurrency: ONE_SUBSCRIBER_CONCURRENCY, wideConnectionsPerInvocation: WIDE_CONNECTIONS,
        }, formats: { formats: FORMATS, events: FORMAT_EVENTS },
      },
      prices: { readOn: PRICES_READ_ON, sources: PRICE_SOURCES, ...PRICES },
    },
    runs,
    cost,
    summary: summarise(runs, cost, long),
  };
  report.durationSeconds = round((Date.now() - startedAt) / 1000, 0);
  mkdirSync(fileURLToPath(new URL("./results/", import.meta.url)), { recursive: true });
  writeFileSync(RESULTS_PATH, `${JSON.stringify(report, null, 2)}\n`);
  printReport(report);
  console.log(`  took ${report.durationSeconds} s`);
} finally {
  receiver.stop();
  await stopEverything();
  bundle.remove();
  meteredBundle.remove();
}
