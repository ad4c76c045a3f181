import { describe, expect, it } from "vitest";
import { resolveDeliveryOptions, type DeliveryOptions } from "../../src/domain/subscription";

const EVENT: DeliveryOptions = { payloadFormat: "event", maxEventsPerDelivery: 1, maxConcurrency: 20 };
const QUILTT_50: DeliveryOptions = { payloadFormat: "quiltt", maxEventsPerDelivery: 50, maxConcurrency: 5 };
const ONE_PER_POST = 'must be 1 with payloadFormat "event" (one event per POST)';

describe("resolveDeliveryOptions", () => {
  it.each<[string, Partial<DeliveryOptions>, DeliveryOptions | undefined, DeliveryOptions | string]>([
    ["a create with nothing set", {}, undefined, EVENT],
    ["a create in the quiltt format", { payloadFormat: "quiltt" }, undefined, { payloadFormat: "quiltt", maxEventsPerDelivery: 100, maxConcurrency: 20 }],
    ["a create in the quiltt format of 10", { payloadFormat: "quiltt", maxEventsPerDelivery: 10, maxConcurrency: 500 }, undefined, { payloadFormat: "quiltt", maxEventsPerDelivery: 10, maxConcurrency: 500 }],
    ["a create of 2 per POST in the event format", { maxEventsPerDelivery: 2 }, undefined, ONE_PER_POST],
    ["a patch of the concurrency alone", { maxConcurrency: 7 }, QUILTT_50, { ...QUILTT_50, maxConcurrency: 7 }],
    ["a patch of the batch size on a quiltt subscription", { maxEventsPerDelivery: 3 }, QUILTT_50, { ...QUILTT_50, maxEventsPerDelivery: 3 }],
    ["a patch of the batch size on an event subscription", { maxEventsPerDelivery: 3 }, EVENT, ONE_PER_POST],
    ["a patch to the event format", { payloadFormat: "event" }, QUILTT_50, { ...EVENT, maxConcurrency: 5 }],
    ["a patch to the event format keeping 50", { payloadFormat: "event", maxEventsPerDelivery: 50 }, QUILTT_50, ONE_PER_POST],
    ["a patch to the quiltt format", { payloadFormat: "quiltt" }, EVENT, { ...EVENT, payloadFormat: "quiltt", maxEventsPerDelivery: 100 }],
    ["a patch restating the quiltt format", { payloadFormat: "quiltt" }, QUILTT_50, QUILTT_50],
  ])("%s", (_what, input, current, expected) => {
    const resolved = resolveDeliveryOptions(input, current);
    expect(resolved).toEqual(typeof expected === "string" ? { ok: false, message: expected } : { ok: true, options: expected });
  });
});
