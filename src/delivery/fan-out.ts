import { groupBy } from "../domain/collections";
import type { IngestedEvent } from "../domain/event";
import { directoryStub, ledgerShardOf, ledgerStub, subscriptionStub, type Env } from "../env";
import { deliveryMessages, sendAll } from "./messages";

export interface IngestResult {
  readonly accepted: string[];
  readonly duplicates: string[];
}

/** Thrown when a delivery could not be durably enqueued: the producer should send the same body again. */
export class NotEnqueued extends Error {}

/**
 * Accepts events: each matching subscription's object records what it is owed, the deliveries go on
 * the queue, then the ledger remembers the events. Only then is anything reported accepted. A failure on the way
 * takes back what was recorded and leaves the ledger untouched, so the producer can send the same
 * body again. A message already on the queue for a withdrawn delivery finds nothing owed and is dropped.
 */
export async function fanOut(env: Env, events: readonly IngestedEvent[]): Promise<IngestResult> {
  const byShard = groupBy(events, (event) => ledgerShardOf(event.id));
  const [knownPerShard, matches] = await Promise.all([
    Promise.all([...byShard].map(([shard, group]) => ledgerStub(env, shard).known(group.map((event) => event.id)))),
    directoryStub(env).match([...new Set(events.map((event) => event.code))]),
  ]);
  const known = new Set(knownPerShard.flat());
  const fresh = events.filter((event) => !known.has(event.id));
  const subscribersOf = (event: IngestedEvent) => matches[event.code] ?? [];

  const owed = groupBy(fresh.flatMap((event) => subscribersOf(event).map((id) => ({ id, event }))), (pair) => pair.id);
  const accepted = await Promise.allSettled(
    [...owed].map(async ([id, pairs]) => ({ id, ...(await subscriptionStub(env, id).accept(pairs.map((pair) => pair.event))) })),
  );
  const recorded = accepted.flatMap((result) => (result.status === "fulfilled" ? [result.value] : []));
  // Nothing may stay recorded behind a 503: take back what the subscriptions accepted.
  const withdrawAll = () =>
    Promise.allSettled(recorded.map(({ id, eventIds }) => subscriptionStub(env, id).withdraw(eventIds)));
  try {
    const refused = accepted.find((result) => result.status === "rejected");
    if (refused) throw refused.reason;
    // One message per subscription, all of them in one sendBatch (per 100 subscriptions).
    await sendAll(env.DELIVERIES, recorded.flatMap(({ id, eventIds, held }) => (held ? [] : deliveryMessages(id, eventIds))));
  } catch (error) {
    await withdrawAll();
    throw new NotEnqueued(`enqueueing deliveries failed: ${String(error)}`);
  }

  let recordedElsewhere: string[];
  try {
    const freshByShard = groupBy(fresh, (event) => ledgerShardOf(event.id));
    const committed = await Promise.all(
      [...freshByShard].map(([shard, group]) =>
        ledgerStub(env, shard).commit(group.map((event) => ({ event, subscriptionIds: subscribersOf(event) }))),
      ),
    );
    recordedElsewhere = committed.flat();
  } catch (error) {
    await withdrawAll();
    throw new NotEnqueued(`recording events failed: ${String(error)}`);
  }

  const duplicate = new Set([...known, ...recordedElsewhere]);
  return {
    accepted: events.filter((event) => !duplicate.has(event.id)).map((event) => event.id),
    duplicates: events.filter((event) => duplicate.has(event.id)).map((event) => event.id),
  };
}
