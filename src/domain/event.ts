import { z } from "./zod";
import { EVENT_CODE_MESSAGE, EVENT_CODE_PATTERN, MAX_EVENT_CODE_LENGTH } from "./catalog";
import type { EventChecker } from "./event-schema";
import { formatPath, issuesToErrors, type ValidationErrors } from "./validation-errors";

const NonEmpty = z.string().min(1, "must not be empty");
/** A format check's message, but "is required" when the field is missing (a custom message would replace both). */
const formatMessage = (message: string) => ({ error: (issue: { input: unknown }) => (issue.input === undefined ? "is required" : message) });
const Link = z.object({ rel: z.string(), href: z.string() });

const EventCode = z
  .string()
  .regex(EVENT_CODE_PATTERN, EVENT_CODE_MESSAGE)
  .max(MAX_EVENT_CODE_LENGTH, `must be at most ${MAX_EVENT_CODE_LENGTH} characters`);

/** One change event in Quable's notification format. Unknown fields are kept (loose objects). */
export const Event = z
  .looseObject({
    uuid: z.uuid(formatMessage("must be a UUID")),
    code: EventCode,
    links: z.array(Link).min(1, "must contain at least one link"),
    created_at: z.iso.datetime({ offset: true, ...formatMessage("must be an ISO 8601 date-time with offset") }),
    created_by: z.string(),
    resource: z
      .looseObject({
        code: NonEmpty,
        type: NonEmpty,
        document_type_code: NonEmpty.optional(),
        links: z.array(Link),
        locales: z.looseObject({ updated: z.array(z.string()), inherited: z.array(z.string()) }),
        updated_items: z.array(z.looseObject({ type: z.string(), code: z.string() })).optional(),
      })
      .superRefine((resource, ctx) => {
        if (resource.type === "document" && resource.document_type_code === undefined)
          ctx.addIssue({ code: "custom", path: ["document_type_code"], message: "required when resource.type is document" });
      }),
    process: z
      .looseObject({
        correlationId: z.string(),
        id: z.string().optional(),
        type: z.enum(["import", "bulk_edit"]).optional(),
      })
      .optional(),
  })
  .openapi("Event", { description: "A change event in Quable's notification format; delivered to subscribers exactly as ingested." });
export type ChangeEvent = z.infer<typeof Event>;

/** One event in the shape Quiltt's webhooks carry (`ProfileEvent`, `ConnectionEvent`, ...). Unknown fields are kept. */
export const QuilttEvent = z
  .looseObject({
    id: z.string().min(1, "must not be empty").max(255, "must be at most 255 characters"),
    type: EventCode,
    at: z.iso.datetime({ offset: true, message: "must be an ISO 8601 date-time" }).optional(),
    profile: z.looseObject({}).optional(),
    record: z.looseObject({}).optional(),
    metadata: z.looseObject({}).nullable().optional(),
  })
  .openapi("QuilttEvent", {
    description: "An event in the shape of Quiltt's webhook events: `id` is its idempotency key, `type` its event code. Delivered exactly as ingested.",
  });

const AnyEvent = z.union([Event, QuilttEvent]);

export const EventBatchRequest = z
  .union([AnyEvent, z.array(AnyEvent), z.object({ events: z.array(AnyEvent) })])
  .openapi("EventIngestRequest", {
    description: "One event (what a Quable webhook sends), an array of events, or `{events: [...]}`; Quable- and Quiltt-shaped events mix freely.",
  });

export const MAX_EVENTS_PER_REQUEST = 1000;
export const MAX_EVENT_BYTES = 64 * 1024;
export const MAX_REQUEST_BYTES = 5 * 1024 * 1024;
/** Objects and arrays within one event (Quable's nest 4 deep); deeper is refused before serialising it costs seconds. */
export const MAX_EVENT_NESTING = 32;

export type EventShape = "quable" | "quiltt";

/** An accepted event: its identity (`uuid` or `id`), its code, the exact JSON that subscribers will receive, and its shape. */
export interface IngestedEvent {
  /** The idempotency key and `webhook-id`: a Quable event's uuid (lower-cased). */
  readonly id: string;
  readonly code: string;
  readonly body: string;
  readonly shape: EventShape;
}

export type BatchParse =
  | { readonly kind: "ok"; readonly events: IngestedEvent[] }
  | { readonly kind: "invalid"; readonly errors: ValidationErrors }
  | { readonly kind: "too_large"; readonly message: string };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The key an event is known by: a UUID in lower case (Quable's uuids are case-insensitive), any other
 * id as sent (Quiltt's ids are case-sensitive); null for what cannot be an event's id.
 */
export function eventKey(id: string): string | null {
  if (UUID.test(id)) return id.toLowerCase();
  return id.length > 0 && id.length <= 255 ? id : null;
}

/**
 * Quiltt's shape is told apart by its own fields; anything else is read (and refused) as Quable's.
 * Also for a stored body whose shape was not kept: `eventShapeOf(JSON.parse(body))`.
 */
export function eventShapeOf(item: unknown): EventShape {
  return isRecord(item) && !("uuid" in item) && !("code" in item) && ("type" in item || "id" in item) ? "quiltt" : "quable";
}

/**
 * Reads an ingestion body (already JSON-parsed) into events, or says what is wrong; `checkerOf` gives
 * the schema a code must satisfy, if it has one.
 * Paths name the event: `events[3].resource.code` for a batch, `resource.code` for a bare event.
 */
export function parseEventBatch(payload: unknown, checkerOf: (code: string) => EventChecker | undefined = () => undefined): BatchParse {
  const batched = Array.isArray(payload) || (isRecord(payload) && eventShapeOf(payload) === "quable" && !("uuid" in payload) && "events" in payload);
  const items: unknown = Array.isArray(payload) ? payload : batched && isRecord(payload) ? payload.events : [payload];
  if (!Array.isArray(items)) return { kind: "invalid", errors: { events: ["must be an array of events"] } };
  if (items.length === 0) return { kind: "invalid", errors: { events: ["must contain at least one event"] } };
  if (items.length > MAX_EVENTS_PER_REQUEST)
    return { kind: "too_large", message: `at most ${MAX_EVENTS_PER_REQUEST} events per request (got ${items.length})` };

  const errors: ValidationErrors = {};
  const events: IngestedEvent[] = [];
  const seen = new Set<string>();
  for (const [index, item] of items.entries()) {
    const prefix = batched ? ["events", index] : [];
    if (nestsDeeperThan(item, MAX_EVENT_NESTING)) {
      errors[formatPath(prefix)] = [`must not nest objects and arrays more than ${MAX_EVENT_NESTING} deep`];
      continue;
    }
    const body = JSON.stringify(item);
    if (new TextEncoder().encode(body).byteLength > MAX_EVENT_BYTES)
      return { kind: "too_large", message: `${batched ? `events[${index}]` : "the event"} is larger than ${MAX_EVENT_BYTES / 1024} KiB` };
    const identified = identify(item);
    if (!identified.ok) {
      issuesToErrors(identified.issues, prefix, errors);
      continue;
    }
    const { id, code, shape } = identified;
    const schemaIssues = checkerOf(code)?.(item) ?? [];
    if (schemaIssues.length > 0) {
      issuesToErrors(schemaIssues, prefix, errors);
      continue;
    }
    if (seen.has(id)) continue; // the same event twice in one batch is delivered once
    seen.add(id);
    events.push({ id, code, body, shape });
  }
  if (Object.keys(errors).length > 0) return { kind: "invalid", errors };
  return { kind: "ok", events };
}

type Identified =
  | { readonly ok: true; readonly id: string; readonly code: string; readonly shape: EventShape }
  | { readonly ok: false; readonly issues: z.core.$ZodIssue[] };

/** Validates one event in its shape; its key and code when valid. */
function identify(item: unknown): Identified {
  if (eventShapeOf(item) === "quiltt") {
    const result = QuilttEvent.safeParse(item);
    return result.success ? { ok: true, id: eventKey(result.data.id)!, code: result.data.type, shape: "quiltt" } : { ok: false, issues: result.error.issues };
  }
  const result = Event.safeParse(item);
  return result.success ? { ok: true, id: result.data.uuid.toLowerCase(), code: result.data.code, shape: "quable" } : { ok: false, issues: result.error.issues };
}

/** Whether objects and arrays nest more than `limit` deep; stops at the first path that does, without recursion. */
export function nestsDeeperThan(value: unknown, limit: number): boolean {
  const pending: { value: unknown; depth: number }[] = [{ value, depth: 0 }];
  for (let next = pending.pop(); next; next = pending.pop()) {
    if (typeof next.value !== "object" || next.value === null) continue;
    const depth = next.depth + 1;
    if (depth > limit) return true;
    for (const child of Object.values(next.value)) if (typeof child === "object" && child !== null) pending.push({ value: child, depth });
  }
  return false;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
