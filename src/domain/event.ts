import { z } from "./zod";
import { formatPath, issuesToErrors, type ValidationErrors } from "./validation-errors";

const NonEmpty = z.string().min(1, "must not be empty");
/** A format check's message, but "is required" when the field is missing (a custom message would replace both). */
const formatMessage = (message: string) => ({ error: (issue: { input: unknown }) => (issue.input === undefined ? "is required" : message) });
const Link = z.object({ rel: z.string(), href: z.string() });

/** One change event in Quable's notification format. Unknown fields are kept (loose objects). */
export const Event = z
  .looseObject({
    uuid: z.uuid(formatMessage("must be a UUID")),
    code: z
      .string()
      .regex(/^[a-z0-9_]+(\.[a-z0-9_]+)+$/, "must be a dotted lower-case event code, e.g. document.update")
      .max(100, "must be at most 100 characters"),
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

export const EventBatchRequest = z
  .union([Event, z.array(Event), z.object({ events: z.array(Event) })])
  .openapi("EventIngestRequest", { description: "One event (what a Quable webhook sends), an array of events, or `{events: [...]}`." });

export const MAX_EVENTS_PER_REQUEST = 1000;
export const MAX_EVENT_BYTES = 64 * 1024;
export const MAX_REQUEST_BYTES = 5 * 1024 * 1024;
/** Objects and arrays within one event (Quable's nest 4 deep); deeper is refused before serialising it costs seconds. */
export const MAX_EVENT_NESTING = 32;

/** An accepted event: its identity, its code, and the exact JSON that subscribers will receive. */
export interface IngestedEvent {
  /** The idempotency key and `webhook-id`: a Quable event's uuid (lower-cased). */
  readonly id: string;
  readonly code: string;
  readonly body: string;
}

export type BatchParse =
  | { readonly kind: "ok"; readonly events: IngestedEvent[] }
  | { readonly kind: "invalid"; readonly errors: ValidationErrors }
  | { readonly kind: "too_large"; readonly message: string };

/**
 * Reads an ingestion body (already JSON-parsed) into events, or says what is wrong.
 * Paths name the event: `events[3].resource.code` for a batch, `resource.code` for a bare event.
 */
export function parseEventBatch(payload: unknown): BatchParse {
  const batched = Array.isArray(payload) || (isRecord(payload) && !("uuid" in payload) && "events" in payload);
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
    const result = Event.safeParse(item);
    if (!result.success) {
      issuesToErrors(result.error.issues, prefix, errors);
      continue;
    }
    const uuid = result.data.uuid.toLowerCase();
    if (seen.has(uuid)) continue; // the same event twice in one batch is delivered once
    seen.add(uuid);
    events.push({ id: uuid, code: result.data.code, body });
  }
  if (Object.keys(errors).length > 0) return { kind: "invalid", errors };
  return { kind: "ok", events };
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
