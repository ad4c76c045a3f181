import { groupBy } from "../domain/collections";
import type { DeliveryItem } from "../domain/delivery";
import type { IngestedEvent } from "../domain/event";
import { ledgerShardOf, ledgerStub, type Env } from "../env";
import { deliveryMessages, sendAll } from "./messages";
import { subscribersOf } from "./subscribers";

export interface IngestResult {
  readonly accepted: string[];
  readonly duplicates: string[];
}

/** Thrown when the events could not be recorded or their deliveries enqueued: nothing was kept, send the same body again. */
export class NotEnqueued extends Error {}

/**
 * Accepts events: the ledger records each new one once, with the subscriptions it matched, then one
 * message per subscription carries its deliveries (with the bodies) to the queue. If either step
 * fails, the ledger takes back what it recorded for this request and the producer gets a 503. No
 * subscription's object is asked: one that is failing cannot refuse ingestion.
 */
export async function fanOut(env: Env, events: readonly IngestedEvent[]): Promise<IngestResult> {
  const acceptedAt = Date.now();
  const matches = await subscribersOf(env, events.map((event) => event.code));
  const subscribersOfEvent = (event: IngestedEvent) => matches.get(event.code) ?? [];
  const byShard = [...groupBy(events, (event) => ledgerShardOf(event.id))];

  const recordedPerShard = await Promise.allSettled(
    byShard.map(([shard, group]) =>
      ledgerStub(env, shard).accept(group.map((event) => ({ event, subscriptionIds: subscribersOfEvent(event) }))),
    ),
  );
  const recorded = new Set(recordedPerShard.flatMap((result) => (result.status === "fulfilled" ? result.value : [])));
  const fresh = events.filter((event) => recorded.has(event.id));
  // Nothing may stay recorded behind a 503 (the backstop would deliver it): take back what the shards recorded.
  const withdrawAll = () =>
    Promise.allSettled(
      [...groupBy([...recorded], (id) => ledgerShardOf(id))].map(([shard, ids]) => ledgerStub(env, shard).withdraw(ids)),
    );

  try {
    const refused = recordedPerShard.find((result) => result.status === "rejected");
    if (refused) throw refused.reason;
    const owed = groupBy(
      fresh.flatMap((event) => subscribersOfEvent(event).map((subscriptionId) => ({ subscriptionId, event }))),
      (pair) => pair.subscriptionId,
    );
    await sendAll(
      env.DELIVERIES,
      [...owed].flatMap(([subscriptionId, pairs]) => deliveryMessages(subscriptionId, pairs.map(({ event }) => firstDelivery(event, acceptedAt)))),
    );
  } catch (error) {
    await withdrawAll();
    throw new NotEnqueued("recording or enqueueing the events failed", { cause: error });
  }

  return {
    accepted: fresh.map((event) => event.id),
    duplicates: events.filter((event) => !recorded.has(event.id)).map((event) => event.id),
  };
}

/** An event's first delivery: one event, attempt 1, round 0 (a Quiltt-format subscription's object merges these into batches). */
function firstDelivery(event: IngestedEvent, acceptedAt: number): DeliveryItem {
  return { id: event.id, round: 0, attempt: 1, events: [{ id: event.id, code: event.code, body: event.body }], acceptedAt };
}
