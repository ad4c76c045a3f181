/** What a delivery is, as every layer speaks of it: pure types and names, no platform calls. */

export const DELIVERY_STATUSES = ["pending", "delivered", "retrying", "failed", "held"] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

export const PAYLOAD_FORMATS = ["event", "quiltt"] as const;
export type PayloadFormat = (typeof PAYLOAD_FORMATS)[number];

/**
 * One event as a delivery carries it: its id and code, and its JSON exactly as ingested, unless that
 * would not fit in a queue message (then `body` is left out and read from the event ledger).
 */
export interface EventRef {
  readonly id: string;
  readonly code: string;
  readonly body?: string;
}

/**
 * One POST owed to one subscription. `id` is its `webhook-id`: the event id in the event format, a
 * batch id in the Quiltt format (see `batchIdOf`). `round` counts the times it was started over (a
 * replay or a redeliver); `attempt` is the number of the attempt this message makes, from 1.
 */
export interface DeliveryItem {
  readonly id: string;
  readonly round: number;
  readonly attempt: number;
  readonly events: readonly EventRef[];
  /** When its (first) event was accepted, ms since the epoch: replay windows are in event time. */
  readonly acceptedAt?: number;
}

/** The item without event bodies: what a Durable Object is told and what it hands back. */
export function withoutBodies(item: DeliveryItem): DeliveryItem {
  return { ...item, events: item.events.map(({ id, code }) => ({ id, code })) };
}
