import { describe, expect, it } from "vitest";
import { deliveriesPerEvent, eventually, useServerAndReceiver } from "../e2e/support";
import { attemptLog, describeProblems, FAILING, HEALTHY, reconcile, reportFigures, requestsPerEvent, type Endpoint } from "./reconcile";
import { createEndpoints, FAULT_VARS, produce } from "./workload";

/**
 * Hostile and unlucky receivers, each on its own subscription, all fed the same events. Every pair
 * reconciles, and each attempt is recorded as what really happened at the endpoint.
 */
const EVENTS = 3;
/** Far more than any delivery would read: if Doorbell read it all, the receiver would write it all. */
const HUGE_BODY_BYTES = 1024 * 1024 * 1024;
const RETRY_AFTER_SECONDS = 3;

describe("fault: hostile receivers", () => {
  // Failing endpoints stay enabled, so that their retries (and the Retry-After waits) happen.
  const running = useServerAndReceiver({ ...FAULT_VARS, DISABLE_AFTER_FAILURES: "1000" });

  it("records each receiver's behaviour as what it was, and settles every pair", async () => {
    const { server, receiver } = running;
    const behaviours = [
      { behaviour: "reset", settlesAs: FAILING },
      // Every reused connection is cut, a retry included: a pair whose three attempts all reused one fails.
      { behaviour: "close-every-reuse", settlesAs: ["delivered", "failed"] },
      { behaviour: "slow-1500", settlesAs: HEALTHY },
      // Past the 5-second delivery timeout.
      { behaviour: "slow-8000", settlesAs: FAILING },
      { behaviour: "redirect", settlesAs: FAILING },
      { behaviour: `huge-stream-${HUGE_BODY_BYTES}`, settlesAs: HEALTHY },
      { behaviour: `status-429?retry-after=${RETRY_AFTER_SECONDS}`, settlesAs: FAILING },
      { behaviour: `status-503?retry-after=${RETRY_AFTER_SECONDS}`, settlesAs: FAILING },
    ] as const;
    const endpoints = await createEndpoints(server, receiver, behaviours);
    const byBehaviour = (name: string) => endpoints[behaviours.findIndex(({ behaviour }) => behaviour.startsWith(name))] as Endpoint;
    const accepted = [...(await produce(server, 1, EVENTS)).keys()];
    // A second round as soon as the first has reached the close-every-reuse endpoint, so that its POSTs may
    // find kept-alive connections to reuse (the receiver closes idle ones after a second).
    const reuse = byBehaviour("close-every-reuse");
    await eventually(() => expect(deliveriesPerEvent(receiver, reuse.bucket).size).toBe(EVENTS), 30_000, 10);
    accepted.push(...(await produce(server, 1, EVENTS)).keys());

    const result = await eventually(async () => {
      const reconciled = await reconcile(server, receiver, accepted, endpoints);
      expect(reconciled.problems.slice(0, 20), describeProblems(reconciled)).toEqual([]);
      return reconciled;
    }, 90_000, 1_000);

    const outcomes = async (name: string) => (await attemptLog(server, byBehaviour(name).subscription.id)).map(({ outcome, status }) => `${outcome} ${status}`);
    expect(new Set(await outcomes("reset"))).toEqual(new Set(["network_error null"]));
    expect(new Set(await outcomes("slow-8000"))).toEqual(new Set(["timeout null"]));
    // Not followed: following it would have reached a closed port, a network_error.
    expect(new Set(await outcomes("redirect"))).toEqual(new Set(["http_error 302"]));
    expect(new Set(await outcomes("huge-stream"))).toEqual(new Set(["success 200"]));
    const streamed = receiver.streamedBytes.get(byBehaviour("huge-stream").bucket) ?? 0;
    expect(streamed, "bytes of the huge body written before Doorbell stopped reading").toBeLessThan(64 * 1024 * 1024);

    // A 429 or 503 asking for 3 s is retried no sooner, though RETRY_DELAY_SECONDS is 1.
    const gaps: number[] = [];
    for (const name of ["status-429", "status-503"]) {
      expect(new Set(await outcomes(name))).toEqual(new Set([`http_error ${name.slice(-3)}`]));
      for (const requests of requestsPerEvent(receiver.requests.get(byBehaviour(name).bucket) ?? []).values())
        requests.slice(1).forEach((request, index) => gaps.push(request.receivedAt - (requests[index]?.receivedAt ?? 0)));
    }
    expect(gaps.length).toBeGreaterThan(0);
    expect(Math.min(...gaps), "shortest wait between a Retry-After answer and its retry (ms)").toBeGreaterThanOrEqual(RETRY_AFTER_SECONDS * 1000);

    // The requests the close-every-reuse endpoint cut: those on a connection that had carried an earlier
    // request, for any endpoint (connections are pooled per host, not per path).
    const all = [...receiver.requests.values()].flat();
    const reused = (receiver.requests.get(reuse.bucket) ?? []).filter((request) =>
      all.some((other) => other !== request && other.connection === request.connection && other.receivedAt <= request.receivedAt));
    const answered = (receiver.requests.get(reuse.bucket)?.length ?? 0) - reused.length;
    // Each answered request is recorded as a success. A cut one was sent again at once on another
    // connection within the same attempt (a lost connection is Doorbell's to retry), so an attempt is a
    // network error only when each of its sends was cut: never more of them than cut requests.
    const reuseOutcomes = await outcomes("close-every-reuse");
    expect(reused.length, "requests that reused a kept-alive connection (and were cut)").toBeGreaterThan(0);
    expect(reuseOutcomes.filter((outcome) => outcome === "success 200")).toHaveLength(answered);
    expect(reuseOutcomes.filter((outcome) => outcome === "network_error null").length).toBeLessThanOrEqual(reused.length);
    expect(reuseOutcomes.every((outcome) => outcome === "success 200" || outcome === "network_error null"), reuseOutcomes.join()).toBe(true);
    reportFigures("receivers", {
      behaviours: behaviours.map(({ behaviour }) => behaviour), pairs: result.pairs, delivered: result.delivered, failed: result.failed,
      held: result.held, lost: result.lost.length, duplicates: result.duplicates, unseenAttempts: result.unseenAttempts,
      hugeBodyBytesWritten: streamed, shortestRetryAfterGapMs: Math.min(...gaps), closedOnReuse: reused.length,
      reuseRequests: answered + reused.length, reuseNetworkErrors: reuseOutcomes.filter((outcome) => outcome === "network_error null").length,
    });
  });

  it("has no /_faults route without FAULT_INJECTION", async () => {
    const response = await running.server.api("/_faults", { method: "POST", json: { queueSendsRefused: true } });
    expect(response.status).toBe(404);
  });
});
