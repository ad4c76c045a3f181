import type { Env } from "../../env";
import { askEachSubscription } from "./ask-subscriptions";
import type { EventStore, ExpiredEvent } from "./event-store";

/** Events looked at per prune; a shard with more prunes again a second later. */
const EVENTS_PER_PRUNE = 1_000;
const MORE_TO_PRUNE_MS = 1_000;
/** An event kept past its retention is asked about again this much later. */
const RECHECK_MS = 24 * 60 * 60 * 1000;
/** Pruning alone wakes the shard at most this often (it also runs after every backstop sweep). */
const MIN_PRUNE_GAP_MS = 60 * 60 * 1000;

/**
 * Forgets events past the retention, except those a subscription still needs: a delivery held while it
 * is disabled ("kept for replay, never dropped"), still owed under a backlog, or failed and replayable
 * while the subscription keeps its row, keeps its body, or it could never be sent. It looks only at
 * events the backstop has seen settled, so that an event with no delivery row yet is never taken for
 * one whose row was already pruned.
 */
export class Retention {
  constructor(
    private readonly events: EventStore,
    private readonly env: Env,
    private readonly retentionMs: number,
  ) {}

  /** One prune; returns when to prune next, or null when nothing is kept. */
  async prune(now: number, settled: { at: number; id: string }): Promise<number | null> {
    const { aged, due } = this.events.expired(now - this.retentionMs, settled, now, EVENTS_PER_PRUNE);
    const expired = [...aged, ...due];
    const needed = await this.stillNeeded(expired);
    this.events.keep([...needed], now + RECHECK_MS);
    this.events.delete(expired.filter((event) => !needed.has(event.id)).map((event) => event.id));
    if (aged.length === EVENTS_PER_PRUNE || due.length === EVENTS_PER_PRUNE) return now + MORE_TO_PRUNE_MS;
    const next = this.events.nextExpiry(this.retentionMs);
    return next === null ? null : Math.max(next, now + MIN_PRUNE_GAP_MS);
  }

  /** One call per subscription; one that cannot answer keeps all its events, to be asked again. */
  private async stillNeeded(expired: readonly ExpiredEvent[]): Promise<Set<string>> {
    const asked = expired.flatMap((event) => event.subscriptionIds.map((subscriptionId) => ({ subscriptionId, item: event.id })));
    const answers = await askEachSubscription(this.env, asked, (subscription, ids) => subscription.stillNeeded(ids), (subscriptionId, ids, error) => {
      console.error(`retention: asking subscription ${subscriptionId} which events it still needs failed; they are kept`, error);
      return ids;
    });
    return new Set(answers.flatMap(({ answer }) => answer));
  }
}
