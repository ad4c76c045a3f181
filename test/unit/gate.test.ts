import { describe, expect, it } from "vitest";
import type { DeliveryItem } from "../../src/domain/delivery";
import { MAX_ITEMS_PER_GATE, batchIdOf, gate, leaseKeyOf, type DeliveryState, type GateInput, type GateSubscription } from "../../src/domain/gate";

const OPEN: GateSubscription = { disabled: false, failing: false, maxConcurrency: 20, format: "event", maxEventsPerDelivery: 1 };

function fresh(id: string): DeliveryItem {
  return { id, round: 0, attempt: 1, events: [{ id, code: "document.update" }] };
}

function input(fields: Partial<Omit<GateInput, "subscription">> & { subscription?: Partial<GateSubscription> }): GateInput {
  return { items: [], rows: new Map(), leased: new Set(), inFlight: 0, connections: 1000, ...fields, subscription: { ...OPEN, ...fields.subscription } };
}

const ids = (items: readonly DeliveryItem[]) => items.map((item) => item.id);

describe("gate: which deliveries go, wait, are held or skipped", () => {
  const row = (fields: Partial<DeliveryState>): ReadonlyMap<string, DeliveryState> =>
    new Map([["e1", { round: 0, status: "retrying", attempts: 1, ...fields }]]);

  it.each<[string, Partial<DeliveryState>, DeliveryItem, "send" | "skip"]>([
    ["no row yet", {}, fresh("e1"), "send"],
    ["delivered in this round", { status: "delivered" }, fresh("e1"), "skip"],
    ["failed in this round", { status: "failed", attempts: 3 }, { ...fresh("e1"), attempt: 4 }, "skip"],
    ["held in this round", { status: "held", attempts: 0 }, fresh("e1"), "skip"],
    ["a duplicate of an attempt already recorded", { status: "retrying", attempts: 1 }, fresh("e1"), "skip"],
    ["the retry a recorded attempt asked for", { status: "retrying", attempts: 1 }, { ...fresh("e1"), attempt: 2 }, "send"],
    ["superseded by a later round", { round: 1, status: "pending", attempts: 0 }, fresh("e1"), "skip"],
    ["the first attempt of a restarted round", { round: 1, status: "pending", attempts: 0 }, { ...fresh("e1"), round: 1 }, "send"],
    ["a later round than the row (its row pruned or lagging)", { round: 0, status: "delivered" }, { ...fresh("e1"), round: 2 }, "send"],
  ])("%s", async (_name, state, item, expected) => {
    const rows = Object.keys(state).length === 0 ? new Map() : row(state);
    const decision = await gate(input({ items: [item], rows }));
    expect(ids(decision.send)).toEqual(expected === "send" ? ["e1"] : []);
    expect(decision.wait).toEqual([]);
    expect(decision.hold).toEqual([]);
  });

  it("skips what is under an unexpired lease, and a second copy in the same request", async () => {
    const decision = await gate(input({ items: [fresh("e1"), fresh("e2"), fresh("e2")], leased: new Set([leaseKeyOf(fresh("e1"))]) }));
    expect(ids(decision.send)).toEqual(["e2"]);
  });

  it("holds what would be sent while disabled, and skips what is settled", async () => {
    const decision = await gate(input({ subscription: { disabled: true }, items: [fresh("e1"), fresh("e2")], rows: row({ status: "delivered" }) }));
    expect(decision).toEqual({ slots: 0, send: [], wait: [], hold: [fresh("e2")] });
  });

  it.each<[string, Partial<GateSubscription>, number, number, number, number?]>([
    ["healthy: the concurrency budget", { maxConcurrency: 3 }, 0, 3, 4],
    ["healthy: the budget less what other leases hold", { maxConcurrency: 3 }, 2, 1, 4],
    ["healthy: no more slots than deliveries", { maxConcurrency: 20 }, 0, 4, 4],
    ["healthy: no more slots than the consumer has connections", { maxConcurrency: 20 }, 0, 2, 4, 2],
    ["healthy: no slot left", { maxConcurrency: 3 }, 5, 0, 0],
    ["failing: one probe", { maxConcurrency: 3, failing: true }, 0, 1, 4],
    ["failing: the probe is already out", { maxConcurrency: 3, failing: true }, 1, 0, 0],
  ])("slots, %s", async (_name, subscription, inFlight, slots, sent, connections = 1000) => {
    const items = ["a", "b", "c", "d"].map(fresh);
    const decision = await gate(input({ subscription, items, inFlight, connections }));
    // A lease's slots are POSTs at once: every delivery goes with any share of the budget, none without one.
    expect(decision.slots).toBe(slots);
    expect(ids(decision.send)).toEqual(ids(items.slice(0, sent)));
    expect(ids(decision.wait)).toEqual(ids(items.slice(sent)));
  });

  it("plans at most MAX_ITEMS_PER_GATE items; the rest wait", async () => {
    const items = Array.from({ length: MAX_ITEMS_PER_GATE + 2 }, (_, index) => fresh(`e${index}`));
    const decision = await gate(input({ subscription: { maxConcurrency: 500 }, items }));
    expect(decision.slots).toBe(500);
    expect(decision.send).toHaveLength(MAX_ITEMS_PER_GATE);
    expect(ids(decision.wait)).toEqual([`e${MAX_ITEMS_PER_GATE}`, `e${MAX_ITEMS_PER_GATE + 1}`]);
  });
});

describe("gate: Quiltt batches", () => {
  const QUILTT: Partial<GateSubscription> = { format: "quiltt", maxEventsPerDelivery: 2 };

  it("merges fresh events in order into batches of at most maxEventsPerDelivery, with ids from their events", async () => {
    const decision = await gate(input({ subscription: QUILTT, items: ["a", "b", "c"].map(fresh) }));
    expect(decision.send).toEqual([
      { id: await batchIdOf(["a", "b"]), round: 0, attempt: 1, events: [fresh("a").events[0], fresh("b").events[0]] },
      { id: await batchIdOf(["c"]), round: 0, attempt: 1, events: [fresh("c").events[0]] },
    ]);
  });

  it("makes the same batch ids from the same message, and different ones from other events", async () => {
    const first = await gate(input({ subscription: QUILTT, items: ["a", "b"].map(fresh) }));
    const again = await gate(input({ subscription: QUILTT, items: ["a", "b"].map(fresh) }));
    expect(ids(again.send)).toEqual(ids(first.send));
    expect(ids(first.send)[0]).toMatch(/^msg_[A-Za-z0-9_-]{43}$/);
    expect(await batchIdOf(["b", "a"])).not.toBe(await batchIdOf(["a", "b"]));
  });

  it("sends retries as they are, skips events already in a batch or under way, and counts a batch as one POST", async () => {
    const retry: DeliveryItem = { id: "msg_x", round: 0, attempt: 2, events: [fresh("p").events[0]!, fresh("q").events[0]!] };
    const decision = await gate(
      input({
        subscription: { ...QUILTT, maxConcurrency: 2 },
        items: [fresh("a"), retry, fresh("b"), fresh("c"), fresh("d"), fresh("e")],
        rows: new Map([["c", { round: 0, status: "delivered", attempts: 1 }]]), // c went out in a batch
        leased: new Set(["d"]), // d is in a batch under way
      }),
    );
    expect(decision.send.map((item) => item.events.map((event) => event.id))).toEqual([["a", "b"], ["p", "q"], ["e"]]);
    expect(decision.slots).toBe(2); // three POSTs, two at a time
    expect(decision.wait).toEqual([]);
  });

  it("holds fresh events in batches while disabled, as they would have gone", async () => {
    const decision = await gate(input({ subscription: { ...QUILTT, disabled: true }, items: ["a", "b", "c"].map(fresh) }));
    expect(decision.hold).toEqual([
      { id: await batchIdOf(["a", "b"]), round: 0, attempt: 1, events: [fresh("a").events[0], fresh("b").events[0]] },
      { id: await batchIdOf(["c"]), round: 0, attempt: 1, events: [fresh("c").events[0]] },
    ]);
    expect(decision.send).toEqual([]);
  });
});
