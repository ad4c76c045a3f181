import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startReceiver, type Receiver } from "../support/receiver";
import { makeStateDir, startDevServer, type DevServer } from "../e2e/dev-server";
import { eventually, quableEvents, sleep } from "../e2e/support";
import { describeProblems, FAILING, HEALTHY, liveTimeOwed, reconcile, reportFigures, requestsPerEvent, type Endpoint, type Run } from "./reconcile";
import { createEndpoints, FAULT_VARS, postEvents, produce } from "./workload";

/**
 * SIGKILLs of the whole `wrangler dev` process group (wrangler, workerd, esbuild) at random moments,
 * in turn mid-ingest, mid-delivery and with retries pending, each followed by a restart on the same
 * `--persist-to`. Miniflare keeps queue messages in memory only, so every kill loses the queue: what
 * was owed must come back from Durable Object storage, within 60 s of being due while a server runs.
 */
const KILLS = 10;
const VARS = {
  ...FAULT_VARS,
  // The failing endpoint keeps retries pending at every kill instead of being disabled after three failures.
  DISABLE_AFTER_FAILURES: "1000",
};
const BATCH_SIZE = 5;
/** The bound: owed work is sent within this long of its due time (server time only). */
const RECOVERY_LIMIT_MS = 60_000;

describe("fault: SIGKILL at random moments", () => {
  const state = makeStateDir();
  let receiver: Receiver;
  let server: DevServer | undefined;
  const runs: Run[] = [];

  beforeAll(async () => {
    receiver = await startReceiver();
  });
  afterAll(async () => {
    await Promise.all([server?.stop(), receiver?.close()]);
    state.remove();
  });

  const startupsMs: number[] = [];
  const start = async () => {
    const startedAt = Date.now();
    server = await startDevServer({ stateDir: state.path, vars: VARS });
    runs.push({ readyAt: Date.now() });
    startupsMs.push(Date.now() - startedAt);
    return server;
  };
  const crash = async (live: DevServer) => {
    await live.crash();
    const run = runs.at(-1);
    if (run) run.endedAt = Date.now();
  };
  const randomMs = (max: number) => Math.round(Math.random() * max);

  it(`delivers what was accepted, on time, across ${KILLS} kills`, async () => {
    let live = await start();
    const endpoints = await createEndpoints(live, receiver, [
      { behaviour: "ok", settlesAs: HEALTHY },
      // Its POSTs take 0.5 s: a mid-delivery kill lands while some are in flight.
      { behaviour: "slow-500", settlesAs: HEALTHY },
      { behaviour: "status-500", settlesAs: FAILING },
    ]);
    const [, , failing] = endpoints as [Endpoint, Endpoint, Endpoint];
    const acceptedAt = new Map<string, number>();
    const seenFor = (uuids: Iterable<string>, buckets: readonly string[]) => {
      const wanted = new Set(uuids);
      return buckets.flatMap((name) => receiver.requests.get(name) ?? []).filter((request) => wanted.has(String(request.headers["webhook-id"]))).length;
    };
    const kills: string[] = [];

    for (let kill = 0; kill < KILLS; kill++) {
      if (kill > 0) live = await start();
      const moment = (["ingest", "delivery", "retries"] as const)[kill % 3];
      if (moment === "ingest") {
        // Two producers post back to back; the kill cuts some requests short (no 202: nothing owed).
        const producers = [0, 1].map(() => produceUntilKilled(live, acceptedAt));
        const before = acceptedAt.size;
        await eventually(() => expect(acceptedAt.size).toBeGreaterThan(before), 20_000, 10);
        await sleep(randomMs(300));
        await crash(live);
        await Promise.all(producers);
      } else {
        const round = await produce(live, moment === "delivery" ? 2 : 1, BATCH_SIZE);
        for (const [uuid, at] of round) acceptedAt.set(uuid, at);
        const buckets = moment === "delivery" ? endpoints.slice(0, 2).map((endpoint) => endpoint.bucket) : [failing.bucket];
        await eventually(() => expect(seenFor(round.keys(), buckets)).toBeGreaterThan(0), 30_000, 20);
        await sleep(randomMs(moment === "delivery" ? 800 : 900));
        await crash(live);
      }
      kills.push(`${moment} (${acceptedAt.size} accepted)`);
    }

    live = await start();
    const accepted = [...acceptedAt.keys()];
    const result = await eventually(async () => {
      const reconciled = await reconcile(live, receiver, accepted, endpoints);
      expect(reconciled.problems.slice(0, 20), `${describeProblems(reconciled)}, after kills: ${kills.join("; ")}`).toEqual([]);
      return reconciled;
    }, 120_000, 1_000);

    // Each first delivery was due at its 202; each retry a second after the attempt before it.
    const lateness: number[] = [];
    for (const endpoint of endpoints) {
      const byEvent = requestsPerEvent(receiver.requests.get(endpoint.bucket) ?? []);
      for (const [uuid, dueAt] of acceptedAt) {
        const seen = (byEvent.get(uuid) ?? []).map((request) => request.receivedAt).sort((a, b) => a - b);
        seen.forEach((at, index) => lateness.push(liveTimeOwed(index === 0 ? dueAt : (seen[index - 1] ?? 0) + 1_000, at, runs)));
      }
    }
    const worstMs = Math.max(...lateness);
    reportFigures("sigkill", {
      kills: KILLS, moments: kills, pairs: result.pairs, delivered: result.delivered, failed: result.failed, held: result.held,
      lost: result.lost.length, duplicates: result.duplicates, unseenAttempts: result.unseenAttempts, worstLatenessMs: worstMs,
      startupsMs, settledMsAfterLastStart: Date.now() - (runs.at(-1)?.readyAt ?? 0),
    });
    expect(worstMs, "longest an owed POST waited while a server ran").toBeLessThan(RECOVERY_LIMIT_MS);
  });

  /** Posts batches until a request fails (the server was killed); records when each uuid got its 202. */
  async function produceUntilKilled(target: DevServer, acceptedAt: Map<string, number>): Promise<void> {
    for (;;) {
      const batch = quableEvents(BATCH_SIZE);
      let response: Response;
      try {
        response = await postEvents(target, batch);
      } catch {
        return;
      }
      if (response.status === 503) { // nothing recorded: a new batch, after a pause, is as good
        await sleep(200);
        continue;
      }
      expect(response.status).toBe(202);
      // A 202 is the promise, even if the kill cuts its body short; every uuid in the batch is new.
      for (const event of batch) acceptedAt.set(event.uuid, Date.now());
      await response.arrayBuffer().catch(() => undefined);
    }
  }
});
