import type { EventRef, PayloadFormat } from "../domain/delivery";
import { eventShapeOf } from "../domain/event";
import { quilttPayloadBody, type QuilttEnvironment } from "../domain/quiltt-payload";

/** An event of a delivery with its body at hand. */
export type LoadedEvent = EventRef & { readonly body: string };

/** The body of one POST: the event exactly as ingested, or a Quiltt `WebhookPayload` of all the delivery's events. */
export function payloadOf(format: PayloadFormat, events: readonly LoadedEvent[], environment: QuilttEnvironment): string {
  if (format === "event") {
    const [event] = events;
    if (!event || events.length > 1) throw new Error(`an event-format delivery carries exactly one event (got ${events.length})`);
    return event.body;
  }
  // Messages and the ledger keep bodies, not shapes: a stored body says which it is.
  return quilttPayloadBody(environment, events.map((event) => ({ ...event, shape: eventShapeOf(JSON.parse(event.body)) })));
}
