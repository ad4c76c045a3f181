import { describe, expect, it } from "vitest";
import { groupBy } from "../../src/domain/collections";
import { deliveryMessages, sendBatchesOf } from "../../src/delivery/messages";

const uuids = (count: number) => Array.from({ length: count }, () => crypto.randomUUID());

describe("deliveryMessages", () => {
  it("points one message at every delivery a request owes a subscription", () => {
    const ids = uuids(3);
    expect(deliveryMessages("wh_a", ids, 7)).toEqual([
      { body: { type: "delivery", subscriptionId: "wh_a", eventIds: ids }, delaySeconds: 7 },
    ]);
  });

  it("splits past 1,000 ids, keeping every id once and in order, each message within one 64 KB operation", () => {
    const ids = uuids(2_500);
    const messages = deliveryMessages("wh_a", ids);
    expect(messages.map((message) => message.body.eventIds.length)).toEqual([1000, 1000, 500]);
    expect(messages.flatMap((message) => message.body.eventIds)).toEqual(ids);
    for (const message of messages) expect(JSON.stringify(message.body).length).toBeLessThan(64 * 1024);
  });

  it("sends nothing for nothing owed", () => {
    expect(deliveryMessages("wh_a", [])).toEqual([]);
  });

  it("keeps each message's ids within 60 KB however long they are (Quiltt ids run to 255 characters)", () => {
    const ids = Array.from({ length: 1000 }, (_, index) => `evt_${index}`.padEnd(255, "é"));
    const messages = deliveryMessages("wh_a", ids);
    expect(messages.length).toBeGreaterThan(1);
    for (const message of messages) expect(new TextEncoder().encode(JSON.stringify(message.body)).byteLength).toBeLessThan(64 * 1024);
    expect(messages.flatMap((message) => message.body.eventIds)).toEqual(ids);
  });
});

describe("sendBatchesOf", () => {
  it("keeps each batch to 100 messages", () => {
    const messages = Array.from({ length: 250 }, (_, index) => ({ body: { index } }));
    const batches = sendBatchesOf(messages);
    expect(batches.map((batch) => batch.length)).toEqual([100, 100, 50]);
    expect(batches.flat()).toEqual(messages);
  });

  it("keeps each batch under sendBatch's 256 KB, however few messages that is", () => {
    // Ten subscriptions owed the same 1,000 events: ten messages of about 39 KB each.
    const ids = uuids(1000);
    const messages = Array.from({ length: 10 }, (_, index) => deliveryMessages(`wh_${index}`, ids)).flat();
    const batches = sendBatchesOf(messages);
    expect(batches.length).toBeGreaterThan(1);
    expect(batches.flat()).toEqual(messages);
    for (const batch of batches) expect(JSON.stringify(batch.map((message) => message.body)).length).toBeLessThan(256 * 1024);
  });

  it("makes no batch of nothing", () => {
    expect(sendBatchesOf([])).toEqual([]);
  });
});

describe("groupBy", () => {
  it("groups in order of first appearance, each group in input order", () => {
    const grouped = groupBy(["b1", "a1", "b2", "c1", "a2"], (item) => item[0]);
    expect([...grouped]).toEqual([["b", ["b1", "b2"]], ["a", ["a1", "a2"]], ["c", ["c1"]]]);
  });
});
