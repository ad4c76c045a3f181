import { describe, expect, it } from "vitest";
import { Backstop } from "../../src/durable/subscription/backstop";
import type { DeliveryRow } from "../../src/durable/subscription/deliveries";
import type { LeaseSnapshot } from "../../src/durable/subscription/leases";

const GRACE_MS = 30_000;
const NOW = 1_000_000_000;

function restarted(id: string, nextAttemptAt: number, fields: Partial<DeliveryRow> = {}): DeliveryRow {
  return { id, round: 1, status: "pending", attempts: 0, nextAttemptAt, events: [{ id, code: "document.update" }], createdAt: 0, ...fields };
}

function leases(leased: Record<string, number> = {}): LeaseSnapshot {
  return { leased: new Set(Object.keys(leased)), inFlight: 0, expiryOf: (key) => leased[key] ?? null };
}

describe("the subscription's watch over restarted deliveries (Backstop.decideRestarts)", () => {
  it.each<[string, DeliveryRow, LeaseSnapshot, string[], number]>([
    ["overdue past the grace period: sent again, looked at again after one grace period", restarted("e1", NOW - GRACE_MS - 1), leases(), ["e1@1#1"], NOW + GRACE_MS],
    ["due, but inside the grace period (its message may be on its way): looked at once it is overdue", restarted("e1", NOW - 1_000), leases(), [], NOW - 1_000 + GRACE_MS],
    ["overdue, but leased (a consumer has it): looked at when the lease ends", restarted("e1", NOW - GRACE_MS - 1), leases({ "e1@1": NOW + 5_000 }), [], NOW + 5_000],
    ["a retry of a restarted round: sent as its next attempt", restarted("e1", NOW - GRACE_MS - 1, { status: "retrying", attempts: 1 }), leases(), ["e1@1#2"], NOW + GRACE_MS],
  ])("%s", (_, row, snapshot, expected, nextCheckAt) => {
    const decision = new Backstop().decideRestarts([row], snapshot, GRACE_MS, NOW);
    expect(decision.resend.map((item) => `${item.id}@${item.round}#${item.attempt}`)).toEqual(expected);
    expect(decision.nextCheckAt).toBe(nextCheckAt);
  });

  it("does not send the same delivery twice while its copy may still be queued, then waits twice as long after the next", () => {
    const backstop = new Backstop();
    const row = restarted("e1", NOW - GRACE_MS - 1);
    expect(backstop.decideRestarts([row], leases(), GRACE_MS, NOW).resend).toHaveLength(1);
    expect(backstop.decideRestarts([row], leases(), GRACE_MS, NOW + 1_000)).toEqual({ resend: [], nextCheckAt: NOW + GRACE_MS });
    const again = backstop.decideRestarts([row], leases(), GRACE_MS, NOW + GRACE_MS);
    expect(again.resend).toHaveLength(1);
    expect(again.nextCheckAt).toBe(NOW + GRACE_MS + 2 * GRACE_MS);
  });

  it("has nothing to look at again without rows", () => {
    expect(new Backstop().decideRestarts([], leases(), GRACE_MS, NOW)).toEqual({ resend: [], nextCheckAt: null });
  });
});
