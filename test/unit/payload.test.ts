import { describe, expect, it } from "vitest";
import { payloadOf, type LoadedEvent } from "../../src/delivery/payload";
import type { PayloadFormat } from "../../src/domain/delivery";
import { DEFAULT_QUILTT_ENVIRONMENT, quilttPayloadBody } from "../../src/domain/quiltt-payload";

const profile: LoadedEvent = { id: "evt_1", code: "profile.created", body: '{"id":"evt_1","type":"profile.created"}' };
const document: LoadedEvent = { id: "u-1", code: "document.update", body: '{"uuid":"u-1","code":"document.update"}' };
/** The WebhookPayload of these events, each body's shape told rather than read. */
const quiltt = (events: readonly LoadedEvent[]) =>
  quilttPayloadBody(DEFAULT_QUILTT_ENVIRONMENT, events.map((event) => ({ ...event, shape: event === profile ? "quiltt" : "quable" })));

describe("payloadOf: the body of one POST", () => {
  it.each<[string, PayloadFormat, string, LoadedEvent[], string]>([
    ["an event's own delivery, event format: the event as ingested", "event", "u-1", [document], document.body],
    ["an event's own delivery, quiltt format: a WebhookPayload", "quiltt", "u-1", [document], quiltt([document])],
    ["a batch, quiltt format", "quiltt", "msg_x", [profile, document], quiltt([profile, document])],
    ["a batch retried after a switch to the event format: still its WebhookPayload", "event", "msg_x", [profile, document], quiltt([profile, document])],
    ["a one-event batch after a switch to the event format", "event", "msg_x", [profile], quiltt([profile])],
  ])("%s", (_, format, id, events, expected) => {
    expect(payloadOf(format, { id, events }, DEFAULT_QUILTT_ENVIRONMENT)).toBe(expected);
  });

  it("refuses a delivery without events", () => {
    expect(() => payloadOf("quiltt", { id: "msg_x", events: [] }, DEFAULT_QUILTT_ENVIRONMENT)).toThrow(/at least one event/);
  });
});
