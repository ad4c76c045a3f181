import { describe, expect, it } from "vitest";
import { eventKey, parseEventBatch, type BatchParse } from "../../src/domain/event";
import { ledgerShardOf, LEDGER_SHARDS } from "../../src/env";
import { makeEvent, makeQuilttEvent } from "../support/events";

function refused(parsed: BatchParse) {
  if (parsed.kind !== "invalid") throw new Error(`expected a refusal, got ${parsed.kind}`);
  return parsed.errors;
}

describe("parseEventBatch with Quiltt-shaped events", () => {
  it("reads a bare Quiltt event with its id, type and exact body", () => {
    const event = makeQuilttEvent();
    expect(parseEventBatch(event)).toEqual({ kind: "ok", events: [{ id: event.id, code: "profile.created", body: JSON.stringify(event), shape: "quiltt" }] });
  });

  it("mixes both shapes in one batch, in order, and keeps unknown fields", () => {
    const batch = [makeQuilttEvent({ extra: { kept: true } }), makeEvent(), makeQuilttEvent({ type: "acme.thing.done" })];
    const parsed = parseEventBatch({ events: batch });
    if (parsed.kind !== "ok") throw new Error(JSON.stringify(parsed));
    expect(parsed.events.map((event) => [event.id, event.shape])).toEqual([
      [batch[0]!.id, "quiltt"], [String(batch[1]!.uuid), "quable"], [batch[2]!.id, "quiltt"],
    ]);
    expect(JSON.parse(parsed.events[0]!.body)).toEqual(batch[0]);
  });

  it("takes only id and type as required", () => {
    expect(parseEventBatch({ id: "evt_1", type: "profile.ready" }).kind).toBe("ok");
  });

  it.each([
    ["an empty id", { id: "" }, "events[1].id", "must not be empty"],
    ["an id of 256 characters", { id: "e".repeat(256) }, "events[1].id", "must be at most 255 characters"],
    ["an id that is a number", { id: 42 }, "events[1].id", "must be a string"],
    ["a missing type", { type: undefined }, "events[1].type", "is required"],
    ["a type in upper case", { type: "Profile.Created" }, "events[1].type", "must be a dotted lower-case event code, e.g. document.update"],
    ["a type without a dot", { type: "profile" }, "events[1].type", "must be a dotted lower-case event code, e.g. document.update"],
    ["an at that is no date-time", { at: "yesterday" }, "events[1].at", "must be an ISO 8601 date-time"],
    ["a record that is a string", { record: "p_1" }, "events[1].record", "must be an object"],
  ])("refuses %s at its path", (_what, override, path, message) => {
    expect(refused(parseEventBatch([makeQuilttEvent(), makeQuilttEvent(override)]))).toEqual({ [path]: [message] });
  });

  it("accepts an id of 255 characters and keeps its case", () => {
    const id = `evt_${"aB".repeat(125)}X`;
    const parsed = parseEventBatch(makeQuilttEvent({ id }));
    expect(parsed.kind === "ok" && parsed.events[0]!.id).toBe(id);
  });

  it("keeps one of an id repeated in one batch", () => {
    const event = makeQuilttEvent();
    const parsed = parseEventBatch([event, { ...event, at: "2026-11-23T00:00:00Z" }]);
    expect(parsed.kind === "ok" && parsed.events.length).toBe(1);
  });
});

describe("eventKey", () => {
  it.each([
    ["CE6C64A3-4F27-4B0E-862C-EE780EAE06D1", "ce6c64a3-4f27-4b0e-862c-ee780eae06d1"],
    ["evt_12sDfIGkY96vVvNvTqNfn9", "evt_12sDfIGkY96vVvNvTqNfn9"],
    ["", null],
    ["x".repeat(256), null],
  ])("%s is known as %s", (id, key) => {
    expect(eventKey(id)).toBe(key);
  });
});

describe("ledgerShardOf", () => {
  it("spreads ids that share a prefix over every shard, and puts one id always in the same shard", () => {
    const shards = new Set(Array.from({ length: 500 }, (_, index) => ledgerShardOf(`evt_${index}`)));
    expect(shards.size).toBe(LEDGER_SHARDS);
    const uuid = "1f6c64a3-4f27-4b0e-862c-ee780eae06d1";
    expect(ledgerShardOf(uuid)).toBe(ledgerShardOf(uuid));
    expect(ledgerShardOf(uuid)).toBeLessThan(LEDGER_SHARDS);
  });
});
