import { afterAll, describe, expect, it } from "vitest";
import { startReceiver, type Receiver } from "../support/receiver";
import { makeStateDir, startDevServer, type DevServer } from "../e2e/dev-server";
import { eventually } from "../e2e/support";
import { describeProblems, FAILING, HEALTHY, reconcile, reportFigures } from "./reconcile";
import { busyLoops, createEndpoints, FAULT_VARS, produce } from "./workload";

/**
 * Two processes keep both cores busy from before `wrangler dev` starts until the last pair is
 * reconciled: Doorbell may slow down and answer 503 (the producers send again), never stall or lose.
 */
const PRODUCERS = 4;
const BATCHES = 3;
const BATCH_SIZE = 10;
/** Leaves room in the test's 5 minutes for start-up and ingest, so that a stall fails with the pairs it left. */
const SETTLE_WITHIN_MS = 150_000;

describe("fault: both cores busy for the whole run", () => {
  const state = makeStateDir();
  let busy: { stop: () => void } | undefined;
  let receiver: Receiver | undefined;
  let server: DevServer | undefined;
  // In afterAll, which runs even when the test times out (a finally block would not).
  afterAll(async () => {
    busy?.stop();
    await Promise.all([server?.stop(), receiver?.close()]);
    state.remove();
  });

  it("delivers every accepted pair while two busy loops hold the cores", async () => {
    busy = busyLoops(2);
    receiver = await startReceiver();
    const live = (server = await startDevServer({ stateDir: state.path, vars: FAULT_VARS }));
    const endpoints = await createEndpoints(live, receiver, [
      { behaviour: "ok", settlesAs: HEALTHY },
      { behaviour: "ok", settlesAs: HEALTHY },
      { behaviour: "slow-1000", settlesAs: HEALTHY },
      { behaviour: "status-500", settlesAs: FAILING },
    ]);
    const started = Date.now();
    const perProducer = await Promise.all(Array.from({ length: PRODUCERS }, () => produce(live, BATCHES, BATCH_SIZE)));
    const accepted = perProducer.flatMap((batch) => [...batch.keys()]);
    const ingestedAt = Date.now();
    expect(accepted).toHaveLength(PRODUCERS * BATCHES * BATCH_SIZE);
    console.info(`busy cores: ${accepted.length} events accepted in ${ingestedAt - started} ms`);

    const settled = receiver;
    const result = await eventually(async () => {
      const reconciled = await reconcile(live, settled, accepted, endpoints);
      expect(reconciled.problems.slice(0, 20), describeProblems(reconciled)).toEqual([]);
      return reconciled;
    }, SETTLE_WITHIN_MS, 1_000);
    reportFigures("busy-cores", {
      busyLoops: 2, pairs: result.pairs, delivered: result.delivered, failed: result.failed, held: result.held,
      lost: result.lost.length, duplicates: result.duplicates, unseenAttempts: result.unseenAttempts,
      ingestMs: ingestedAt - started, settledMsAfterIngest: Date.now() - ingestedAt,
    });
  });
});
