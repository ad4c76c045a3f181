import { createRoute, z } from "@hono/zod-openapi";
import { Event, EventBatchRequest, MAX_EVENT_NESTING, MAX_REQUEST_BYTES, QuilttEvent, parseEventBatch } from "../domain/event";
import { NotEnqueued, fanOut } from "../delivery/fan-out";
import { DELIVERY_STATUSES } from "../domain/delivery";
import { jsonBody, parseJson, readBodyText } from "./body";
import { loadCatalog, type Catalog } from "./catalog";
import type { Env } from "../env";
import { ApiError, ValidationFailed } from "./errors";
import { lookupEvent, redeliverEvent } from "./event-lookup";
import { BEARER_SECURITY, createRouter } from "./router";
import { ErrorBody, ValidationErrorsBody, json } from "./schemas";

const tags = ["Events"];
/** What a 503 asks the producer to wait before sending the same body again. */
const INGEST_RETRY_AFTER_SECONDS = 5;

const UuidParam = z.object({
  uuid: z.string().openapi({
    param: { name: "uuid", in: "path", description: "A Quable event's `uuid` or a Quiltt-shaped event's `id`." }, example: "ce6c64a3-4f27-4b0e-862c-ee780eae06d1",
  }),
});

const IngestResult = z
  .object({ accepted: z.array(z.string()), duplicates: z.array(z.string()) })
  .openapi("IngestResult");

const EventDeliveries = z
  .object({
    event: z.union([Event, QuilttEvent]),
    receivedAt: z.string(),
    deliveries: z.array(
      z.object({
        subscriptionId: z.string(),
        status: z.enum(DELIVERY_STATUSES),
        attempts: z.number().int().nullable().openapi({ description: "Attempts made; null once a delivery is a day past being delivered (its record is forgotten, its status stays)." }),
        nextAttemptAt: z.string().nullable().openapi({ description: "When the next attempt is due, while `retrying`; null otherwise." }),
        deliveryId: z.string().nullable().openapi({
          description: "The delivery that carries the event (its `webhook-id`): the event id, or a Quiltt batch's id; null before its first attempt, and once a delivered delivery's record is forgotten.",
        }),
        subscriptionDeleted: z.boolean().openapi({ description: "The subscription was deleted since; its delivery history is kept." }),
      }),
    ),
  })
  .openapi("EventWithDeliveries");

const RedeliverRequest = z
  .object({ subscriptionId: z.string().optional().openapi({ description: "Only this subscription; all matched ones without it." }) })
  .openapi("RedeliverRequest");

export const events = createRouter();

// Documented from the same schema that validates it; validated by hand so that the 422 map names
// each event (`events[3].resource.code`) and the limits answer 413 before any schema work.
events.openAPIRegistry.registerPath({
  // Relative to where this router is mounted (/v1/events), like the createRoute paths below.
  method: "post", path: "/", tags, security: BEARER_SECURITY, summary: "Ingest events",
  description:
    "One event (exactly what a Quable webhook sends), an array, or `{events: [...]}`: at most 1,000 events and 5 MiB, " +
    "64 KiB per event (413 past these), objects and arrays nested at most 32 deep. Quable-shaped events (`uuid`, `code`, ...) and " +
    "Quiltt-shaped ones (`id`, `type`, ...) mix freely. Idempotent on `uuid` (`id` for Quiltt's shape). An event whose code has a schema " +
    "in the catalogue must satisfy it (422 naming the failing paths). 202 means every delivery is durably enqueued; on 503 nothing was recorded " +
    "and the same body can be sent again. Accepts `API_TOKEN` or `INGEST_TOKEN`.",
  request: { body: { required: true, content: { "application/json": { schema: EventBatchRequest } } } },
  responses: {
    202: json(IngestResult, "Accepted: every delivery is enqueued"),
    400: json(ErrorBody, "The body is not JSON"),
    413: json(ErrorBody, "Too many events, or a body or event too large"),
    422: json(ValidationErrorsBody, "An event failed validation (its shape or its code's schema); nothing was accepted"),
    503: json(ErrorBody, "Deliveries could not be enqueued; nothing was recorded, send again"),
  },
});

/** The catalogue whose schemas ingest enforces; if it cannot be read, nothing is recorded and the producer sends again. */
async function catalogForIngest(env: Env): Promise<Catalog> {
  try {
    return await loadCatalog(env);
  } catch (error) {
    console.error("reading the event catalogue failed", error);
    throw new ApiError(503, "unavailable", "the event catalogue could not be read; nothing was accepted, send the same body again");
  }
}

events.post("/", async (c) => {
  // An event may nest 32 deep, inside `{"events": [...]}`: two levels more for the body as a whole.
  const payload = parseJson(await readBodyText(c, MAX_REQUEST_BYTES), MAX_EVENT_NESTING + 2);
  const parsed = parseEventBatch(payload, (await catalogForIngest(c.env)).checkerOf);
  if (parsed.kind === "too_large") throw new ApiError(413, "payload_too_large", parsed.message);
  if (parsed.kind === "invalid") throw new ValidationFailed(parsed.errors);
  try {
    return c.json(await fanOut(c.env, parsed.events), 202);
  } catch (error) {
    if (!(error instanceof NotEnqueued)) throw error;
    console.error(error.message, error.cause);
    throw new ApiError(503, "unavailable", "the events could not be enqueued; nothing was accepted, send the same body again", {
      headers: { "retry-after": String(INGEST_RETRY_AFTER_SECONDS) },
    });
  }
});

events.openapi(
  createRoute({
    method: "get", path: "/{uuid}", tags, security: BEARER_SECURITY, summary: "An event and its delivery status per subscription",
    request: { params: UuidParam },
    responses: { 200: json(EventDeliveries, "The event as ingested, and each matched subscription's delivery"), 404: json(ErrorBody, "Unknown event") },
  }),
  async (c) => {
    const { body, receivedAt, deliveries } = await lookupEvent(c.env, c.req.valid("param").uuid);
    return c.json({ event: JSON.parse(body) as z.infer<typeof Event>, receivedAt, deliveries }, 200);
  },
);

events.openapi(
  createRoute({
    method: "post", path: "/{uuid}/redeliver", tags, security: BEARER_SECURITY, summary: "Send an event again",
    description: "Resends the event to one (or every) matched subscription, whatever its delivery's state, with fresh attempts and the same `webhook-id`.",
    middleware: [jsonBody(64 * 1024, { optional: true })],
    request: { params: UuidParam, body: { required: false, content: { "application/json": { schema: RedeliverRequest } } } },
    responses: {
      202: json(z.object({ queued: z.number().int() }).openapi("RedeliverResult"), "Queued"),
      404: json(ErrorBody, "Unknown event, or the subscription was not matched by it"),
      409: json(ErrorBody, "The subscription is disabled"),
    },
  }),
  async (c) => {
    const { subscriptionId } = c.req.valid("json") ?? {}; // the body is optional
    return c.json({ queued: await redeliverEvent(c.env, c.req.valid("param").uuid, subscriptionId) }, 202);
  },
);
