import { describe, expect, it } from "vitest";
import { groupBy } from "../../src/domain/collections";
import { deliveryMessages, jsonStringBytes, sendBatchesOf } from "../../src/delivery/messages";
import { withoutBodies, type DeliveryItem } from "../../src/domain/delivery";

const uuids = (count: number) => Array.from({ length: count }, () => crypto.randomUUID());

/** A first delivery of one event whose body is `bodyBytes` long. */
function item(id: string, bodyBytes = 200): DeliveryItem {
  return { id, round: 0, attempt: 1, events: [{ id, code: "document.update", body: `{"uuid":"${id}","pad":"${"x".repeat(bodyBytes)}"}` }] };
}

const MESSAGE_LIMIT = 128 * 1024;
const bytesOf = (value: unknown) => new TextEncoder().encode(JSON.stringify(value)).byteLength;

describe("deliveryMessages", () => {
  it("carries every delivery a request owes a subscription in one message, bodies included", () => {
    const items = uuids(3).map((id) => item(id));
    expect(deliveryMessages("wh_a", items, 7)).toEqual([{ body: { type: "delivery", subscriptionId: "wh_a", deliveries: items }, delaySeconds: 7 }]);
  });

  it("splits a large request into messages within the 128 KB limit, keeping every delivery once and in order", () => {
    const items = uuids(1000).map((id) => item(id, 1000));
    const messages = deliveryMessages("wh_a", items);
    expect(messages.length).toBeGreaterThan(8);
    expect(messages.flatMap((message) => message.body.deliveries)).toEqual(items);
    for (const message of messages) expect(bytesOf(message.body)).toBeLessThan(MESSAGE_LIMIT);
  });

  it("counts escaping and multi-byte text, so a body of quotes or accents still fits", () => {
    const quoted: DeliveryItem = { id: "q", round: 0, attempt: 1, events: [{ id: "q", code: "c.d", body: JSON.stringify({ text: '"'.repeat(40_000) }) }] };
    const accented: DeliveryItem = { id: "a", round: 0, attempt: 1, events: [{ id: "a", code: "c.d", body: JSON.stringify({ text: "é".repeat(30_000) }) }] };
    for (const message of deliveryMessages("wh_a", [quoted, accented, quoted, accented])) expect(bytesOf(message.body)).toBeLessThan(MESSAGE_LIMIT);
  });

  it("sends by reference a delivery whose bodies alone would not fit, leaving the others as they are", () => {
    const big: DeliveryItem = { id: "big", round: 1, attempt: 2, events: uuids(3).map((id) => ({ id, code: "c.d", body: `"${"x".repeat(60_000)}"` })) };
    const small = item("small");
    const [message] = deliveryMessages("wh_a", [big, small]);
    expect(message?.body.deliveries).toEqual([withoutBodies(big), small]);
  });

  it("sends nothing for nothing owed", () => {
    expect(deliveryMessages("wh_a", [])).toEqual([]);
  });

  it("keeps long ids (Quiltt's run to 255 characters) within the message limit, sent by reference when their bodies are large", () => {
    const items = Array.from({ length: 1000 }, (_, index) => item(`evt_${index}`.padEnd(255, "é"), 500));
    const messages = deliveryMessages("wh_a", items);
    expect(messages.length).toBeGreaterThan(1);
    for (const message of messages) expect(bytesOf(message.body)).toBeLessThan(MESSAGE_LIMIT);
    expect(messages.flatMap((message) => message.body.deliveries)).toEqual(items);
  });
});

describe("jsonStringBytes", () => {
  it.each([
    ["plain", "abc"],
    ["quotes and backslashes", 'a"b\\c'],
    ["control characters", "a\u0001\n"],
    ["accents", "éàü"],
    ["emoji", "🙂🙂"],
  ])("is never below the real size: %s", (_, text) => {
    expect(jsonStringBytes(text)).toBeGreaterThanOrEqual(bytesOf(text));
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
    // Ten subscriptions owed the same 100 events of 1 KB: ten messages of about 110 KB each.
    const items = uuids(100).map((id) => item(id, 1000));
    const messages = Array.from({ length: 10 }, (_, index) => deliveryMessages(`wh_${index}`, items)).flat();
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
