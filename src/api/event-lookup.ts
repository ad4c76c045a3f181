import { ledgerShardOf, ledgerStub, subscriptionStub, type Env } from "../env";
import type { LedgerEntry } from "../durable/ledger/event-store";
import type { DeliveryView } from "../durable/subscription/deliveries";
import { eventKey } from "../domain/event";
import { SUBSCRIPTION_ID_PATTERN } from "../domain/subscription";
import { ApiError, notFound } from "./errors";

export interface EventDeliveries {
  /** The event exactly as ingested (JSON text). */
  readonly body: string;
  readonly receivedAt: string;
  readonly deliveries: (DeliveryView & { readonly subscriptionId: string })[];
}

/** The ledger's record of an accepted event, by id (a uuid in any case); 404 when there is none. */
async function acceptedEvent(env: Env, id: string): Promise<{ key: string; entry: LedgerEntry }> {
  const key = eventKey(id);
  if (key === null) throw notFound("event");
  const entry = await ledgerStub(env, ledgerShardOf(key)).get(key);
  if (!entry) throw notFound("event");
  return { key, entry };
}

/**
 * An accepted event and, per subscription it matched, its delivery, for the API and the dashboard: a
 * deleted subscription's delivery stays in the history, marked as deleted.
 */
export async function lookupEvent(env: Env, uuid: string): Promise<EventDeliveries> {
  const { key, entry } = await acceptedEvent(env, uuid);
  const deliveries = await Promise.all(
    entry.subscriptionIds.map(async (subscriptionId) => {
      const delivery = await subscriptionStub(env, subscriptionId).deliveryOf(key, { settled: entry.settled, receivedAt: entry.receivedAt });
      return delivery ? { subscriptionId, ...delivery } : null;
    }),
  );
  return { body: entry.body, receivedAt: new Date(entry.receivedAt).toISOString(), deliveries: deliveries.filter((delivery) => delivery !== null) };
}

/**
 * Sends an accepted event again, with fresh attempts, to one subscription it matched (404 when it did
 * not, 409 while that subscription is disabled) or to every one; returns how many were queued.
 */
export async function redeliverEvent(env: Env, uuid: string, subscriptionId?: string): Promise<number> {
  const { key, entry } = await acceptedEvent(env, uuid);
  if (subscriptionId === undefined) {
    const results = await Promise.all(entry.subscriptionIds.map((id) => subscriptionStub(env, id).redeliver({ id: key, code: entry.code })));
    return results.filter((result) => result === "queued").length;
  }
  const unmatched = notFound("delivery of this event to that subscription");
  if (!SUBSCRIPTION_ID_PATTERN.test(subscriptionId) || !entry.subscriptionIds.includes(subscriptionId)) throw unmatched;
  const result = await subscriptionStub(env, subscriptionId).redeliver({ id: key, code: entry.code });
  if (result === "unknown") throw unmatched;
  if (result === "disabled") throw new ApiError(409, "conflict", "the subscription is disabled; re-enable it before redelivering");
  return 1;
}
