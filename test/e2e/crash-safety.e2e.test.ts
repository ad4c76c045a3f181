import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startReceiver, type Receiver } from "../support/receiver";
import { INGEST_TOKEN, makeStateDir, startDevServer, type DevServer } from "./dev-server";
import {
  allEventDeliveries, bucket, createSubscription, deliveriesPerEvent, eventually, ingest, quableEvents, sleep,
  type CreatedSubscription, type EventDeliveries,
} from "./support";

/**
 * `wrangler dev` is killed with SIGKILL (its whole process group: wrangler, workerd, esbuild) at
 * three moments and started again on the same `--persist-to` directory. Miniflare keeps queue
 * messages only in memory, so every kill loses the queue; what was accepted must still arrive,
 * which only the subscriptions' Durable Objects (their watchdog alarms) can make happen.
 */
const VARS = {
  // The watchdog re-enqueues owed deliveries this long past due.
  REDELIVERY_GRACE_SECONDS: "3",
  // The failing endpoint keeps its retries coming (and pending at every kill) instead of being disabled
  // after its third failure; with many events it may still reach this and hold the rest.
  DISABLE_AFTER_FAILURES: "1000",
};
const BATCH_SIZE = 10;

describe("crash safety of wrangler dev with --persist-to", () => {
  const state = makeStateDir();
  let receiver: Receiver;
  let server: DevServer | undefined;

  beforeAll(async () => {
    receiver = await startReceiver();
  });

  afterAll(async () => {
    await Promise.all([server?.stop(), receiver?.close()]);
    state.remove();
  });

  const start = async () => (server = await startDevServer({ stateDir: state.path, vars: VARS }));
  const randomMs = (min: number, max: number) => Math.round(min + Math.random() * (max - min));

  it("delivers every accepted event to every healthy subscription after SIGKILLs at random moments", async () => {
    const healthyBuckets = [bucket("crash-ok"), bucket("crash-documents"), bucket("crash-slow")];
    const failingBucket = bucket("crash-failing");
    let live = await start();
    const healthy = [
      await createSubscription(live, { targetUrl: `${receiver.url}/${healthyBuckets[0]}/ok` }),
      await createSubscription(live, { targetUrl: `${receiver.url}/${healthyBuckets[1]}/ok`, eventTypes: ["document"] }),
      // Answers after 1 s: the mid-delivery kill lands while its POSTs are in flight.
      await createSubscription(live, { targetUrl: `${receiver.url}/${healthyBuckets[2]}/slow-1000` }),
    ];
    const failing = await createSubscription(live, { targetUrl: `${receiver.url}/${failingBucket}/status-500` });
    const accepted: string[] = [];
    const kills: string[] = [];

    // 1. Mid-ingest: three producers post batches back to back; the kill cuts some requests short.
    const producers = Array.from({ length: 3 }, () => produceUntilRefused(live, accepted));
    await eventually(() => expect(accepted.length).toBeGreaterThan(0), 10_000, 10);
    // Bounded so the slow endpoint can take everything in time: at 10 POSTs in flight of 1 s each it
    // takes 10 events a second, and CI accepts some 600 events a second here.
    const ingestingFor = randomMs(0, 400);
    await sleep(ingestingFor);
    await live.crash();
    kills.push(`mid-ingest ${ingestingFor} ms after the first 202 (${accepted.length} events accepted by then)`);
    await Promise.all(producers);

    // 2. Mid-delivery: a kill at a random moment after this round's first deliveries arrive.
    live = await start();
    const round2 = await postBatches(live, 3, accepted);
    await eventually(() => expect(seenIn(healthyBuckets, round2)).toBeGreaterThan(0), 20_000, 20);
    const deliveringFor = randomMs(0, 1_000);
    await sleep(deliveringFor);
    const seenAtKill = seenIn(healthyBuckets, round2);
    await live.crash();
    kills.push(`mid-delivery ${deliveringFor} ms after the first arrival (${seenAtKill} requests to healthy endpoints had arrived)`);

    // 3. Retries pending: a kill once the failing endpoint has refused this round's first attempts.
    live = await start();
    const round3 = await postBatches(live, 1, accepted);
    await eventually(() => expect(seenIn([failingBucket], round3)).toBeGreaterThan(0), 20_000, 20);
    const retryingFor = randomMs(0, 900);
    await sleep(retryingFor);
    await live.crash();
    kills.push(`with retries pending, ${retryingFor} ms after the first refusal`);

    // Started once more on the same state, Doorbell must settle every accepted (event, subscription) pair.
    live = await start();
    console.info(`crash test: ${accepted.length} events accepted; kills: ${kills.join("; ")}`);
    const final = await eventually(async () => {
      const statuses = await allEventDeliveries(live, accepted);
      expect(unsettledPairs(statuses, healthy, failing), `unsettled after kills: ${kills.join("; ")}`).toEqual([]);
      return statuses;
    }, 60_000, 1_000);

    // What the receivers saw agrees: every accepted event reached every healthy endpoint...
    for (const name of healthyBuckets) {
      const seen = deliveriesPerEvent(receiver, name);
      expect(accepted.filter((uuid) => !seen.has(uuid)), `accepted events never seen by ${name}`).toEqual([]);
    }
    // ...and the failing endpoint got at least every attempt recorded (more where a kill came between
    // a POST and its record); a delivery that failed spent all three attempts.
    const refusals = deliveriesPerEvent(receiver, failingBucket);
    const disagreements = final.flatMap(({ event, deliveries }) => {
      const delivery = deliveries.find((candidate) => candidate.subscriptionId === failing.id);
      const arrived = refusals.get(event.uuid) ?? 0;
      if (!delivery || arrived < delivery.attempts) return [`${event.uuid}: ${delivery?.attempts} attempts recorded, ${arrived} arrived`];
      if (delivery.status === "failed" && delivery.attempts !== 3) return [`${event.uuid}: failed after ${delivery.attempts} attempts`];
      return [];
    });
    expect(disagreements).toEqual([]);
  });

  /** Posts batches until a request fails (the server was killed); records what got a 202. */
  async function produceUntilRefused(target: DevServer, accepted: string[]): Promise<void> {
    for (;;) {
      const batch = quableEvents(BATCH_SIZE);
      let response: Response;
      try {
        response = await target.api("/v1/events", { method: "POST", token: INGEST_TOKEN, json: batch });
      } catch {
        return; // cut short by the kill: no 202, so nothing is owed
      }
      expect(response.status).toBe(202);
      // A 202 is the promise, even if the kill cuts its body short; every uuid in the batch is new.
      accepted.push(...batch.map((event) => event.uuid));
      await response.arrayBuffer().catch(() => undefined);
    }
  }

  async function postBatches(target: DevServer, count: number, accepted: string[]): Promise<string[]> {
    const results = await Promise.all(Array.from({ length: count }, () => ingest(target, quableEvents(BATCH_SIZE))));
    const round = results.flatMap((result) => result.accepted);
    accepted.push(...round);
    return round;
  }

  /** How many requests these buckets got for these events. */
  function seenIn(buckets: readonly string[], uuids: readonly string[]): number {
    const wanted = new Set(uuids);
    return buckets
      .flatMap((name) => receiver.requests.get(name) ?? [])
      .filter((request) => wanted.has(String(request.headers["webhook-id"]))).length;
  }
});

/** Every accepted pair that is not settled yet: healthy ones must be delivered, the failing one failed or held. */
function unsettledPairs(final: readonly EventDeliveries[], healthy: readonly CreatedSubscription[], failing: CreatedSubscription): string[] {
  return final.flatMap(({ event, deliveries }) => {
    const statusOf = (id: string) => deliveries.find((delivery) => delivery.subscriptionId === id)?.status ?? "missing";
    const open = healthy.filter(({ id }) => statusOf(id) !== "delivered").map(({ id }) => `${event.uuid} -> ${id}: ${statusOf(id)}`);
    if (!["failed", "held"].includes(statusOf(failing.id))) open.push(`${event.uuid} -> ${failing.id} (failing): ${statusOf(failing.id)}`);
    return open;
  });
}
