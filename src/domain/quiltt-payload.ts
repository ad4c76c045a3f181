import { z } from "./zod";
import { Event, QuilttEvent, type IngestedEvent } from "./event";

/** Quiltt's `Environment`: who sends a `WebhookPayload` (`QUILTT_ENVIRONMENT`). */
export const QuilttEnvironment = z
  .object({
    id: z.string().min(1, "must not be empty"),
    name: z.string(),
    mode: z.enum(["TEST", "SANDBOX", "PRODUCTION"], { message: 'must be one of "TEST", "SANDBOX", "PRODUCTION"' }),
    metadata: z
      .record(z.string(), z.unknown())
      .refine((metadata) => Object.keys(metadata).length >= 1 && Object.keys(metadata).length <= 50, "must have from 1 to 50 keys")
      .nullable(),
  })
  .openapi("Environment", { description: "Information about the Environment (`QUILTT_ENVIRONMENT`)." });
export type QuilttEnvironment = z.infer<typeof QuilttEnvironment>;

export const DEFAULT_QUILTT_ENVIRONMENT: QuilttEnvironment = { id: "env_doorbell", name: "Doorbell", mode: "PRODUCTION", metadata: null };

const WrappedQuableEvent = z
  .object({
    id: z.string().openapi({ description: "The event's `uuid`." }),
    type: z.string().openapi({ description: "The event's `code`." }),
    record: Event,
  })
  .openapi("QuilttWrappedEvent", { description: "A Quable event in a Quiltt payload: `record` is the event exactly as ingested." });

/** What a `payloadFormat: "quiltt"` subscription receives: one POST, one or more events. */
export const WebhookPayload = z
  .object({
    environment: QuilttEnvironment,
    eventTypes: z.array(z.string()).min(1).openapi({ description: "The distinct codes of the events in it, in order of first appearance." }),
    events: z.array(z.union([QuilttEvent, WrappedQuableEvent])).min(1).openapi({
      description: "Quiltt-shaped events as ingested; Quable events as `{id, type, record}`.",
    }),
  })
  .openapi("WebhookPayload", {
    description: "The body a `payloadFormat: \"quiltt\"` subscription receives: Quiltt's `WebhookPayload`, signed as a whole.",
  });

/**
 * The body of one Quiltt-format delivery carrying these events (at least one), in order. It is put
 * together from the stored JSON texts, so every event inside is byte-for-byte what was ingested.
 */
export function quilttPayloadBody(environment: QuilttEnvironment, events: readonly IngestedEvent[]): string {
  if (events.length === 0) throw new Error("a Quiltt payload carries at least one event");
  const eventTypes = [...new Set(events.map((event) => event.code))];
  const items = events.map((event) =>
    event.shape === "quiltt" ? event.body : `{"id":${JSON.stringify(event.id)},"type":${JSON.stringify(event.code)},"record":${event.body}}`,
  );
  return `{"environment":${JSON.stringify(environment)},"eventTypes":${JSON.stringify(eventTypes)},"events":[${items.join(",")}]}`;
}
