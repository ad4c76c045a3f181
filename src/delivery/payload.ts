import type { EventRef, PayloadFormat } from "../domain/delivery";
import { quilttPayloadBody, type QuilttEnvironment } from "../domain/quiltt-payload";

/** An event of a delivery with its body at hand. */
export type LoadedEvent = EventRef & { readonly body: string };

/** A Quable event carries a `uuid`; a Quiltt-style one an `id` and a `type`. */
function shapeOf(body: string): "quable" | "quiltt" {
  const parsed = JSON.parse(body) as { uuid?: unknown };
  return typeof parsed.uuid === "string" ? "quable" : "quiltt";
}

/** The body of one POST: the event exactly as ingested, or a Quiltt `WebhookPayload` of all the delivery's events. */
export function payloadOf(format: PayloadFormat, events: readonly LoadedEvent[], environment: QuilttEnvironment): string {
  if (format === "event") {
    const [event] = events;
    if (!event || events.length > 1) throw new Error(`an event-format delivery carries exactly one event (got ${events.length})`);
    return event.body;
  }
  return quilttPayloadBody(environment, events.map((event) => ({ ...event, shape: shapeOf(event.body) })));
}
