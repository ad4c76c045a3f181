import { describe, expect, it } from "vitest";
import type { z } from "@hono/zod-openapi";
import { MAX_EVENTS_PER_REQUEST, MAX_EVENT_BYTES, MAX_EVENT_NESTING, nestsDeeperThan, parseEventBatch, type BatchParse } from "../../src/domain/event";
import { SubscriptionCreateRequest, SubscriptionUpdateRequest } from "../../src/domain/subscription";
import { formatPath, issuesToErrors, type ValidationErrors } from "../../src/domain/validation-errors";
import { makeEvent } from "../support/events";

/** The ValidationErrors map a schema gives for this input (empty when valid), as the API would answer it. */
function errorsOf(schema: z.ZodType, input: unknown): ValidationErrors {
  const result = schema.safeParse(input);
  return result.success ? {} : issuesToErrors(result.error.issues);
}

/** The same fields are refused, each with at least the expected messages (a value may break more than one rule). */
function expectErrors(actual: ValidationErrors, expected: ValidationErrors): void {
  expect(Object.keys(actual).sort()).toEqual(Object.keys(expected).sort());
  for (const [path, messages] of Object.entries(expected)) expect(actual[path]).toEqual(expect.arrayContaining(messages));
}

const validCreate = { name: "ERP sync", targetUrl: "https://erp.example.com/hooks", eventTypes: ["document", "media.update"] };
const CONTROL = "must not contain control characters (CR, LF, ...)";

describe("formatPath", () => {
  it("renders paths as Quiltt field names", () => {
    expect(formatPath(["events", 3, "resource", "code"])).toBe("events[3].resource.code");
    expect(formatPath(["eventTypes", 0])).toBe("eventTypes[0]");
    expect(formatPath([])).toBe("body");
  });
});

describe("subscription create request", () => {
  it("accepts a complete request", () => {
    expect(errorsOf(SubscriptionCreateRequest, { ...validCreate, disabled: true, authorization: "Bearer s3cr3t" })).toEqual({});
  });

  it("names every missing field", () => {
    expect(errorsOf(SubscriptionCreateRequest, {})).toEqual({
      name: ["is required"],
      targetUrl: ["is required"],
      eventTypes: ["is required"],
    });
  });

  it("refuses a body that is not an object", () => {
    expect(errorsOf(SubscriptionCreateRequest, [])).toEqual({ body: ["must be an object"] });
  });

  it.each([
    ["an empty name", { name: "" }, { name: ["must not be empty"] }],
    ["a blank name", { name: "   " }, { name: ["must not be blank"] }],
    ["a name of 201 characters", { name: "n".repeat(201) }, { name: ["must be at most 200 characters"] }],
    ["a name with a line feed", { name: "ERP\nsync" }, { name: [CONTROL] }],
    ["a name with a carriage return", { name: "ERP\rsync" }, { name: [CONTROL] }],
    ["a name with DEL", { name: "ERP\u007fsync" }, { name: [CONTROL] }],
    ["a name that is a number", { name: 42 }, { name: ["must be a string"] }],
    ["an empty targetUrl", { targetUrl: "" }, { targetUrl: ["must not be empty"] }],
    ["empty eventTypes", { eventTypes: [] }, { eventTypes: ["must list at least one event type"] }],
    ["eventTypes that is a string", { eventTypes: "document" }, { eventTypes: ["must be an array"] }],
    ["a duplicate event type", { eventTypes: ["document", "media", "document"] }, { "eventTypes[2]": ['duplicate event type "document"'] }],
    ["an empty event type", { eventTypes: [""] }, { "eventTypes[0]": ["must not be empty"] }],
    ["an unknown payload format", { payloadFormat: "batch" }, { payloadFormat: ['must be one of "event", "quiltt"'] }],
    ["maxEventsPerDelivery above 1 with the event format", { maxEventsPerDelivery: 2 }, { maxEventsPerDelivery: ['must be 1 with payloadFormat "event" (one event per POST)'] }],
    ["maxEventsPerDelivery of 0", { payloadFormat: "quiltt", maxEventsPerDelivery: 0 }, { maxEventsPerDelivery: ["must be from 1 to 100"] }],
    ["maxEventsPerDelivery of 101", { payloadFormat: "quiltt", maxEventsPerDelivery: 101 }, { maxEventsPerDelivery: ["must be from 1 to 100"] }],
    ["maxConcurrency of 0", { maxConcurrency: 0 }, { maxConcurrency: ["must be from 1 to 500"] }],
    ["maxConcurrency of 501", { maxConcurrency: 501 }, { maxConcurrency: ["must be from 1 to 500"] }],
    ["maxConcurrency of 2.5", { maxConcurrency: 2.5 }, { maxConcurrency: ["must be an integer"] }],
    ["maxConcurrency as a string", { maxConcurrency: "20" }, { maxConcurrency: ["must be a number"] }],
    ["an authorization with CR LF", { authorization: "Bearer x\r\nX-Injected: 1" }, { authorization: [CONTROL] }],
    ["an empty authorization", { authorization: "" }, { authorization: ["must not be empty"] }],
    ["disabled that is a string", { disabled: "yes" }, { disabled: ["must be a boolean"] }],
  ])("refuses %s", (_what, change, expected) => {
    expectErrors(errorsOf(SubscriptionCreateRequest, { ...validCreate, ...change }), expected);
  });

  it("accepts a name of exactly 200 characters and the wildcard", () => {
    expect(errorsOf(SubscriptionCreateRequest, { ...validCreate, name: "n".repeat(200), eventTypes: ["*"] })).toEqual({});
  });

  it("reports every problem at once", () => {
    expectErrors(errorsOf(SubscriptionCreateRequest, { name: "", targetUrl: "https://erp.example.com", eventTypes: ["doc", "doc"] }), {
      name: ["must not be empty"],
      "eventTypes[1]": ['duplicate event type "doc"'],
    });
  });
});

describe("subscription update request", () => {
  it("accepts an empty patch, a partial patch and removing the authorization", () => {
    expect(errorsOf(SubscriptionUpdateRequest, {})).toEqual({});
    expect(errorsOf(SubscriptionUpdateRequest, { name: "Renamed" })).toEqual({});
    expect(errorsOf(SubscriptionUpdateRequest, { disabled: false })).toEqual({});
    expect(errorsOf(SubscriptionUpdateRequest, { authorization: null })).toEqual({});
  });

  it("holds each present field to the create rules", () => {
    expectErrors(errorsOf(SubscriptionUpdateRequest, { name: "", eventTypes: [], disabled: "no", authorization: "a\nb" }), {
      name: ["must not be empty"],
      eventTypes: ["must list at least one event type"],
      disabled: ["must be a boolean"],
      authorization: [CONTROL],
    });
  });

  it("refuses null where a value is needed", () => {
    expect(errorsOf(SubscriptionUpdateRequest, { name: null })).toEqual({ name: ["must be a string"] });
  });
});


function accepted(result: BatchParse) {
  if (result.kind !== "ok") throw new Error(`expected ok, got ${JSON.stringify(result)}`);
  return result.events;
}

function refused(result: BatchParse): ValidationErrors {
  if (result.kind !== "invalid") throw new Error(`expected invalid, got ${JSON.stringify(result)}`);
  return result.errors;
}

describe("nestsDeeperThan", () => {
  it("counts objects and arrays, not scalars", () => {
    expect(nestsDeeperThan("text", 0)).toBe(false);
    expect(nestsDeeperThan({}, 0)).toBe(true);
    expect(nestsDeeperThan({ a: [1, { b: null }] }, 3)).toBe(false);
    expect(nestsDeeperThan({ a: [1, { b: null }] }, 2)).toBe(true);
    expect(nestsDeeperThan([[], [[[]]], []], 3)).toBe(true);
  });
});

describe("parseEventBatch", () => {
  it("reads a bare event, exactly as Quable's webhook sends it", () => {
    const one = makeEvent();
    expect(accepted(parseEventBatch(one))).toEqual([{ id: one.uuid, code: "document.update", body: JSON.stringify(one), shape: "quable" }]);
  });

  it("reads an array of events and an {events} object, in order", () => {
    const batch = [makeEvent(), makeEvent({ code: "media.create" }, { type: "media", document_type_code: undefined })];
    const uuids = batch.map((item) => item.uuid);
    expect(accepted(parseEventBatch(batch)).map((item) => item.id)).toEqual(uuids);
    expect(accepted(parseEventBatch({ events: batch })).map((item) => item.id)).toEqual(uuids);
  });

  it("refuses an empty batch in either form", () => {
    expect(refused(parseEventBatch([]))).toEqual({ events: ["must contain at least one event"] });
    expect(refused(parseEventBatch({ events: [] }))).toEqual({ events: ["must contain at least one event"] });
  });

  it("refuses {events} that is not an array", () => {
    expect(refused(parseEventBatch({ events: "many" }))).toEqual({ events: ["must be an array of events"] });
  });

  it("answers too_large past the event count limit, before checking any event", () => {
    const batch = Array.from({ length: MAX_EVENTS_PER_REQUEST + 1 }, () => ({}));
    expect(parseEventBatch(batch)).toEqual({ kind: "too_large", message: `at most ${MAX_EVENTS_PER_REQUEST} events per request (got ${MAX_EVENTS_PER_REQUEST + 1})` });
    expect(parseEventBatch({ events: batch }).kind).toBe("too_large");
  });

  it("accepts exactly the event count limit", () => {
    const batch = Array.from({ length: MAX_EVENTS_PER_REQUEST }, () => makeEvent());
    expect(accepted(parseEventBatch(batch))).toHaveLength(MAX_EVENTS_PER_REQUEST);
  });

  it("answers too_large for one event over 64 KiB, naming it", () => {
    const big = makeEvent({ padding: "x".repeat(MAX_EVENT_BYTES) });
    expect(parseEventBatch(big)).toEqual({ kind: "too_large", message: "the event is larger than 64 KiB" });
    expect(parseEventBatch([makeEvent(), big])).toEqual({ kind: "too_large", message: "events[1] is larger than 64 KiB" });
  });

  it("refuses an event nested deeper than the limit at its own path, quickly, and keeps checking the others", () => {
    const nested = (depth: number): unknown => {
      let value: unknown = 1;
      for (let level = 0; level < depth; level++) value = level % 2 ? { a: value } : [value];
      return value;
    };
    const deep = makeEvent({ extra: nested(200_000) });
    const startedAt = Date.now();
    expect(refused(parseEventBatch([makeEvent(), deep, makeEvent({ uuid: "nope" })]))).toEqual({
      "events[1]": [`must not nest objects and arrays more than ${MAX_EVENT_NESTING} deep`],
      "events[2].uuid": ["must be a UUID"],
    });
    expect(Date.now() - startedAt).toBeLessThan(1000);
    expect(refused(parseEventBatch(deep))).toEqual({ body: [`must not nest objects and arrays more than ${MAX_EVENT_NESTING} deep`] });
    // The event itself is one level: MAX_EVENT_NESTING - 1 more inside it are fine.
    expect(accepted(parseEventBatch(makeEvent({ extra: nested(MAX_EVENT_NESTING - 1) })))).toHaveLength(1);
  });

  it("requires document_type_code for documents, at the event's own path", () => {
    const batch = [makeEvent(), makeEvent(), makeEvent(), makeEvent({}, { document_type_code: undefined })];
    expect(refused(parseEventBatch({ events: batch }))).toEqual({
      "events[3].resource.document_type_code": ["required when resource.type is document"],
    });
    expect(refused(parseEventBatch(batch[3]))).toEqual({ "resource.document_type_code": ["required when resource.type is document"] });
  });

  it("does not require document_type_code for other resource types", () => {
    const media = makeEvent({ code: "media.update" }, { type: "media", document_type_code: undefined });
    expect(accepted(parseEventBatch(media))).toHaveLength(1);
  });

  it("says a missing uuid or created_at is required, and a malformed one what it must be", () => {
    expect(refused(parseEventBatch(makeEvent({ uuid: undefined, created_at: undefined })))).toEqual({ uuid: ["is required"], created_at: ["is required"] });
    expect(refused(parseEventBatch(makeEvent({ uuid: "nope", created_at: "yesterday" })))).toEqual({
      uuid: ["must be a UUID"],
      created_at: ["must be an ISO 8601 date-time with offset"],
    });
    expect(refused(parseEventBatch(makeEvent({ uuid: 7 })))).toEqual({ uuid: ["must be a UUID"] });
  });

  it("requires process.correlationId when process is present", () => {
    expect(refused(parseEventBatch(makeEvent({ process: { id: "42", type: "import" } })))).toEqual({ "process.correlationId": ["is required"] });
    expect(accepted(parseEventBatch(makeEvent({ process: { correlationId: "c-1", id: "42", type: "bulk_edit" } })))).toHaveLength(1);
    expect(Object.keys(refused(parseEventBatch(makeEvent({ process: { correlationId: "c-1", type: "export" } }))))).toEqual(["process.type"]);
  });

  it.each([
    ["uuid", { uuid: "not-a-uuid" }, "uuid"],
    ["code in capitals", { code: "Document.Update" }, "code"],
    ["code without a dot", { code: "document" }, "code"],
    ["no links", { links: [] }, "links"],
    ["a link without href", { links: [{ rel: "self" }] }, "links[0].href"],
    ["created_at without an offset", { created_at: "2026-11-22T10:00:00" }, "created_at"],
    ["created_at that is not a date", { created_at: "yesterday" }, "created_at"],
    ["created_by missing", { created_by: undefined }, "created_by"],
    ["resource missing", { resource: undefined }, "resource"],
  ])("refuses a bad %s", (_what, overrides, path) => {
    expect(Object.keys(refused(parseEventBatch(makeEvent(overrides))))).toEqual([path]);
  });

  it.each([
    ["an empty resource.code", { code: "" }, "resource.code"],
    ["an empty resource.type", { type: "" }, "resource.type"],
    ["locales without inherited", { locales: { updated: [] } }, "resource.locales.inherited"],
    ["updated_items without code", { updated_items: [{ type: "attribute" }] }, "resource.updated_items[0].code"],
  ])("refuses %s", (_what, resource, path) => {
    expect(Object.keys(refused(parseEventBatch(makeEvent({}, resource))))).toEqual([path]);
  });

  it("keeps unknown extra fields, at every level, in the body sent to subscribers", () => {
    const rich = makeEvent({ tenant: "acme", extra: { nested: [1, 2] } }, { custom_field: "kept", updated_items: [{ type: "attribute", code: "color", weight: 3 }] });
    const [parsed] = accepted(parseEventBatch(rich));
    expect(JSON.parse(parsed!.body)).toEqual(rich);
  });

  it("refuses the whole batch when any event is invalid, reporting each bad one", () => {
    const batch = [makeEvent(), makeEvent({ uuid: "nope" }), makeEvent(), makeEvent({ created_by: 7 })];
    expect(refused(parseEventBatch(batch))).toEqual({ "events[1].uuid": ["must be a UUID"], "events[3].created_by": ["must be a string"] });
  });

  it("keeps one of a uuid repeated in one batch, whatever its case", () => {
    const first = makeEvent();
    const again = { ...first, uuid: String(first.uuid).toUpperCase() };
    const events = accepted(parseEventBatch([first, makeEvent(), again]));
    expect(events).toHaveLength(2);
    expect(events[0]).toEqual({ id: first.uuid, code: "document.update", body: JSON.stringify(first), shape: "quable" });
  });
});
