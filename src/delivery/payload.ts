import type { EventRef, PayloadFormat } from "../domain/delivery";
import { eventShapeOf } from "../domain/event";
import { quilttPayloadBody, type QuilttEnvironment } from "../domain/quiltt-payload";

/** An event of a delivery with its body at hand. */
export type LoadedEvent = EventRef & { readonly body: string };

/**
 * The body of one POST: the event exactly as ingested, or a Quiltt `WebhookPayload` of all the
 * delivery's events. A Quiltt batch (a delivery with an id of its own) stays a `WebhookPayload` after
 * its subscription switched to the event format: a batch's retries carry the body it was first sent with.
 */
export function payloadOf(
  format: PayloadFormat,
  delivery: { readonly id: string; readonly events: readonly LoadedEvent[] },
  environment: QuilttEnvironment,
): string {
  const { events } = delivery;
  const [event] = events;
  if (format === "event" && event && events.length === 1 && event.id === delivery.id) return event.body;
  // Messages and the ledger keep bodies, not shapes: a stored body says which it is.
  return quilttPayloadBody(environment, events.map((loaded) => ({ ...loaded, shape: eventShapeOf(JSON.parse(loaded.body)) })));
}
