import type { DeliveryView } from "../durable/subscription-object";
import { ledgerShardOf, ledgerStub, subscriptionStub, type Env } from "../env";
import { notFound } from "./errors";

export const EVENT_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface EventDeliveries {
  /** The event exactly as ingested (JSON text). */
  readonly body: string;
  readonly receivedAt: string;
  readonly deliveries: (DeliveryView & { subscriptionId: string })[];
}

/** An accepted event and, per subscription it matched (and that still exists), its delivery; for the API and the dashboard. */
export async function lookupEvent(env: Env, uuid: string): Promise<EventDeliveries> {
  const key = uuid.toLowerCase();
  if (!EVENT_UUID.test(key)) throw notFound("event");
  const entry = await ledgerStub(env, ledgerShardOf(key)).get(key);
  if (!entry) throw notFound("event");
  const deliveries = await Promise.all(
    entry.subscriptionIds.map(async (subscriptionId) => {
      const delivery = await subscriptionStub(env, subscriptionId).deliveryOf(key);
      return delivery ? { subscriptionId, ...delivery } : null;
    }),
  );
  return { body: entry.body, receivedAt: entry.receivedAt, deliveries: deliveries.filter((delivery) => delivery !== null) };
}
