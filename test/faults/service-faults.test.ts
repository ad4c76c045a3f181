import { describe, expect, it } from "vitest";
import { deliveriesPerEvent, eventually, quableEvents, useServerAndReceiver } from "../e2e/support";
import { describeProblems, FAILING, HEALTHY, reconcile, reportFigures, type Endpoint } from "./reconcile";
import { createEndpoints, FAULT_VARS, postEvents, produce, setFaults } from "./workload";

/**
 * Doorbell's own parts failing, switched by the test-only `POST /_faults` (FAULT_INJECTION=true): a
 * subscription's object, queue sends, the event ledger's storage. Each fault is switched off again
 * in a finally block, then every pair must reconcile.
 */
describe("faults of Doorbell's own parts", () => {
  const running = useServerAndReceiver({ ...FAULT_VARS, FAULT_INJECTION: "true" });

  const reconciled = async (accepted: readonly string[], endpoints: readonly Endpoint[], timeoutMs = 60_000) =>
    eventually(async () => {
      const result = await reconcile(running.server, running.receiver, accepted, endpoints);
      expect(result.problems.slice(0, 20), describeProblems(result)).toEqual([]);
      return result;
    }, timeoutMs, 500);

  const figures = (result: Awaited<ReturnType<typeof reconcile>>) => ({
    pairs: result.pairs, delivered: result.delivered, failed: result.failed, held: result.held, lost: result.lost.length,
    duplicates: result.duplicates, unseenAttempts: result.unseenAttempts,
  });

  /** Every uuid answers 404 on `GET /v1/events/{uuid}`: nothing of it was recorded. */
  const expectUnknown = async (uuids: readonly string[]) => {
    const statuses = await Promise.all(uuids.map(async (uuid) => (await running.server.api(`/v1/events/${uuid}`)).status));
    expect(statuses).toEqual(uuids.map(() => 404));
  };

  it("keeps ingesting and delivering to the others while one subscription's object fails", async () => {
    const { server, receiver } = running;
    const endpoints = await createEndpoints(server, receiver, [
      { behaviour: "ok", settlesAs: HEALTHY },
      { behaviour: "ok", settlesAs: HEALTHY },
      { behaviour: "ok", settlesAs: HEALTHY },
    ]);
    const [first, second, broken] = endpoints as [Endpoint, Endpoint, Endpoint];
    const accepted: string[] = [];
    await setFaults(server, { objectFailing: [broken.subscription.id] });
    let switchedOffAt: number;
    try {
      for (let batch = 0; batch < 3; batch++) {
        const events = quableEvents(10);
        const response = await postEvents(server, events);
        // One broken object must not refuse everyone's events.
        expect(response.status, await response.clone().text()).toBe(202);
        accepted.push(...events.map((event) => event.uuid));
      }
      await eventually(() => {
        for (const { bucket } of [first, second]) expect(deliveriesPerEvent(receiver, bucket).size, bucket).toBe(accepted.length);
      }, 30_000, 100);
      expect(deliveriesPerEvent(receiver, broken.bucket).size, "POSTs for the broken subscription").toBe(0);
    } finally {
      await setFaults(server, { objectFailing: [] });
      switchedOffAt = Date.now();
    }
    const result = await reconciled(accepted, endpoints);
    const lastArrival = Math.max(...(receiver.requests.get(broken.bucket) ?? []).map((request) => request.receivedAt));
    reportFigures("object-failing", { ...figures(result), recoverMs: lastArrival - switchedOffAt });
  });

  it("answers 503 with Retry-After and records nothing while queue sends are refused, then delivers everything", async () => {
    const { server, receiver } = running;
    const endpoints = await createEndpoints(server, receiver, [
      { behaviour: "ok", settlesAs: HEALTHY },
      { behaviour: "status-500", settlesAs: FAILING },
    ]);
    const failing = endpoints[1] as Endpoint;
    const before = [...(await produce(server, 1, 10)).keys()];
    const refused = quableEvents(10);
    await setFaults(server, { queueSendsRefused: true });
    let switchedOffAt: number;
    try {
      const response = await postEvents(server, refused);
      expect(response.status, await response.clone().text()).toBe(503);
      expect(response.headers.get("retry-after")).toMatch(/^\d+$/);
      await expectUnknown(refused.map((event) => event.uuid));
      // The fault lasts until the failing endpoint has refused earlier events: their retries (and the probes
      // for the rest) come due while sends are refused, so the consumer's own sends fail and go back to the
      // queue, then to its dead letter queue, and only the backstop is left to send them.
      // A second event reached it only after the consumer's own sends had failed once (it probes one at a time).
      await eventually(() => expect(deliveriesPerEvent(receiver, failing.bucket).size).toBeGreaterThan(1), 30_000, 100);
    } finally {
      await setFaults(server, { queueSendsRefused: false });
      switchedOffAt = Date.now();
    }
    // The producer sends the same body again, as a 503 tells it to.
    const again = await postEvents(server, refused);
    expect(again.status, await again.clone().text()).toBe(202);
    expect(((await again.json()) as { accepted: string[] }).accepted).toHaveLength(refused.length);
    const result = await reconciled([...before, ...refused.map((event) => event.uuid)], endpoints);
    reportFigures("queue-sends-refused", { ...figures(result), recoverMs: Date.now() - switchedOffAt });
  });

  it("answers 503 and records nothing while the ledger's storage fails, then accepts the same body", async () => {
    const { server, receiver } = running;
    const endpoints = await createEndpoints(server, receiver, [{ behaviour: "ok", settlesAs: HEALTHY }]);
    const events = quableEvents(10);
    await setFaults(server, { storageErrors: ["accept"] });
    try {
      const response = await postEvents(server, events);
      expect(response.status, await response.clone().text()).toBe(503);
      expect(response.headers.get("retry-after")).toMatch(/^\d+$/);
      await expectUnknown(events.map((event) => event.uuid));
    } finally {
      await setFaults(server, { storageErrors: [] });
    }
    const switchedOffAt = Date.now();
    const again = await postEvents(server, events);
    expect(again.status, await again.clone().text()).toBe(202);
    expect(((await again.json()) as { accepted: string[] }).accepted).toHaveLength(events.length);
    const result = await reconciled(events.map((event) => event.uuid), endpoints);
    // None was POSTed while refused: each arrives once, after the fault.
    const arrivals = receiver.requests.get(endpoints[0]?.bucket ?? "") ?? [];
    expect(arrivals.filter((request) => request.receivedAt < switchedOffAt)).toEqual([]);
    reportFigures("storage-errors", { ...figures(result), recoverMs: Math.max(...arrivals.map((request) => request.receivedAt)) - switchedOffAt });
  });
});
