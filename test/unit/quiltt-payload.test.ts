import { describe, expect, it } from "vitest";
import { parseEventBatch, type IngestedEvent } from "../../src/domain/event";
import { DEFAULT_QUILTT_ENVIRONMENT, WebhookPayload, quilttPayloadBody } from "../../src/domain/quiltt-payload";
import { makeEvent, makeQuilttEvent } from "../support/events";

/** Events as ingest stores them: their JSON text exactly as the producer sent it (odd spacing included). */
function ingested(id: string, code: string, body: string, shape: IngestedEvent["shape"]): IngestedEvent {
  return { id, code, body, shape };
}

const env = DEFAULT_QUILTT_ENVIRONMENT;
const quilttA = ingested("evt_a", "profile.created", '{"id":"evt_a","type":"profile.created","record":{"b":2,"a":1}}', "quiltt");
const quilttB = ingested("evt_b", "profile.ready", '{"type":"profile.ready","id":"evt_b"}', "quiltt");
const quable = ingested("ce6c64a3-4f27-4b0e-862c-ee780eae06d1", "document.update", '{"uuid":"ce6c64a3-4f27-4b0e-862c-ee780eae06d1","code":"document.update","x":1.50}', "quable");

describe("quilttPayloadBody", () => {
  it.each([
    [
      "one Quiltt event, as ingested",
      [quilttA],
      `{"environment":${JSON.stringify(env)},"eventTypes":["profile.created"],"events":[${quilttA.body}]}`,
    ],
    [
      "a Quable event, as {id, type, record}",
      [quable],
      `{"environment":${JSON.stringify(env)},"eventTypes":["document.update"],"events":[{"id":"${quable.id}","type":"document.update","record":${quable.body}}]}`,
    ],
    [
      "mixed events, distinct codes in order of first appearance",
      [quilttB, quable, quilttA, quilttB],
      `{"environment":${JSON.stringify(env)},"eventTypes":["profile.ready","document.update","profile.created"],"events":[${quilttB.body},` +
        `{"id":"${quable.id}","type":"document.update","record":${quable.body}},${quilttA.body},${quilttB.body}]}`,
    ],
  ])("builds %s", (_what, events, expected) => {
    expect(quilttPayloadBody(env, events)).toBe(expected);
  });

  it("keeps each event byte for byte (key order, number spelling), so the body is JSON with those events in it", () => {
    const body = quilttPayloadBody(env, [quable, quilttA]);
    expect(body).toContain('"x":1.50}');
    expect(body).toContain('{"b":2,"a":1}');
    expect(JSON.parse(body).events[1]).toEqual(JSON.parse(quilttA.body));
  });

  it("carries the configured environment", () => {
    const staging = { id: "env_1", name: "Staging", mode: "SANDBOX" as const, metadata: { team: "pim" } };
    expect(JSON.parse(quilttPayloadBody(staging, [quilttA])).environment).toEqual(staging);
  });

  it("validates against the WebhookPayload schema for ingested Quiltt and Quable events", () => {
    const parsed = parseEventBatch([makeQuilttEvent(), makeEvent(), makeQuilttEvent({ type: "connection.synced.successful" })]);
    if (parsed.kind !== "ok") throw new Error(`not parsed: ${JSON.stringify(parsed)}`);
    const result = WebhookPayload.safeParse(JSON.parse(quilttPayloadBody(env, parsed.events)));
    expect(result.success, JSON.stringify(result.error?.issues)).toBe(true);
    expect(result.data?.eventTypes).toEqual(["profile.created", "document.update", "connection.synced.successful"]);
  });

  it("refuses to build a payload of no events", () => {
    expect(() => quilttPayloadBody(env, [])).toThrow("at least one event");
  });
});
