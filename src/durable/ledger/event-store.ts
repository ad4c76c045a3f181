import type { IngestedEvent } from "../../domain/event";
import { forEachChunk } from "../sql-chunks";

/** An accepted event as the ledger keeps it. */
export interface LedgerEntry {
  /** The event exactly as ingested (JSON text). */
  readonly body: string;
  readonly code: string;
  readonly receivedAt: string;
  /** The subscriptions it matched when it was accepted. */
  readonly subscriptionIds: string[];
}

/** An event with the subscriptions it owes a delivery to, as the backstop reads it. */
export interface OwedEvent {
  readonly id: string;
  readonly code: string;
  readonly subscriptionIds: string[];
  readonly receivedAt: number;
}

/** An event past its retention, as pruning reads it. */
export interface ExpiredEvent {
  readonly id: string;
  readonly subscriptionIds: string[];
}

/**
 * The events table: each accepted event once, whatever the number of its subscribers, with the
 * subscriptions it matched. Keyed by id without a rowid; one index, by age, for the backstop and pruning.
 * Beside it, `kept`: the events past their retention that a subscription still owes or holds, and when
 * to ask about them again.
 */
export class EventStore {
  constructor(private readonly sql: SqlStorage) {
    sql.exec(`CREATE TABLE IF NOT EXISTS events (
      id TEXT PRIMARY KEY, code TEXT NOT NULL, body TEXT NOT NULL,
      subscription_ids TEXT NOT NULL, received_at INTEGER NOT NULL) WITHOUT ROWID`);
    sql.exec("CREATE INDEX IF NOT EXISTS events_by_age ON events (received_at, id)");
    sql.exec("CREATE TABLE IF NOT EXISTS kept (id TEXT PRIMARY KEY, recheck_at INTEGER NOT NULL) WITHOUT ROWID");
  }

  /** Records the events not recorded yet; returns the ids it recorded (the others were accepted before). */
  insert(entries: readonly { event: IngestedEvent; subscriptionIds: readonly string[] }[], now: number): string[] {
    const inserted: string[] = [];
    for (const { event, subscriptionIds } of entries) {
      const written = this.sql.exec(
        "INSERT INTO events (id, code, body, subscription_ids, received_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
        event.id, event.code, event.body, JSON.stringify(subscriptionIds), now,
      ).rowsWritten;
      if (written > 0) inserted.push(event.id);
    }
    return inserted;
  }

  delete(ids: readonly string[]): void {
    forEachChunk(ids, (chunk, placeholders) => {
      this.sql.exec(`DELETE FROM events WHERE id IN (${placeholders})`, ...chunk);
      this.sql.exec(`DELETE FROM kept WHERE id IN (${placeholders})`, ...chunk);
    });
  }

  get(id: string): LedgerEntry | null {
    const row = this.sql
      .exec<{ body: string; code: string; subscription_ids: string; received_at: number }>(
        "SELECT body, code, subscription_ids, received_at FROM events WHERE id = ?", id,
      )
      .toArray()[0];
    if (!row) return null;
    return {
      body: row.body,
      code: row.code,
      receivedAt: new Date(row.received_at).toISOString(),
      subscriptionIds: JSON.parse(row.subscription_ids) as string[],
    };
  }

  /** The bodies of those of these events still kept, by id. */
  bodies(ids: readonly string[]): Record<string, string> {
    const found: Record<string, string> = {};
    forEachChunk(ids, (chunk, placeholders) => {
      for (const row of this.sql.exec<{ id: string; body: string }>(`SELECT id, body FROM events WHERE id IN (${placeholders})`, ...chunk))
        found[row.id] = row.body;
    });
    return found;
  }

  /**
   * Events after `mark` (by time, then id) received at or before `until` that owe deliveries, oldest
   * first. Events that matched no subscription are passed over: there is nothing to watch.
   */
  owedAfter(mark: { at: number; id: string }, until: number, limit: number): OwedEvent[] {
    return this.sql
      .exec<{ id: string; code: string; subscription_ids: string; received_at: number }>(
        `SELECT id, code, subscription_ids, received_at FROM events
         WHERE (received_at, id) > (?, ?) AND received_at <= ? AND subscription_ids <> '[]' ORDER BY received_at, id LIMIT ?`,
        mark.at, mark.id, until, limit,
      )
      .toArray()
      .map((row) => ({ id: row.id, code: row.code, subscriptionIds: JSON.parse(row.subscription_ids) as string[], receivedAt: row.received_at }));
  }

  /** When the oldest event after `mark` that owes deliveries was received, or null. */
  oldestAfter(mark: { at: number; id: string }): number | null {
    return (
      this.sql
        .exec<{ received_at: number }>(
          "SELECT received_at FROM events WHERE (received_at, id) > (?, ?) AND subscription_ids <> '[]' ORDER BY received_at, id LIMIT 1",
          mark.at, mark.id,
        )
        .toArray()[0]?.received_at ?? null
    );
  }

  /**
   * Events received before `horizon`, oldest first, that the backstop has seen settled (up to `settled`)
   * or that matched no subscription, leaving out those kept until after `now`.
   */
  expired(horizon: number, settled: { at: number; id: string }, now: number, limit: number): ExpiredEvent[] {
    return this.sql
      .exec<{ id: string; subscription_ids: string }>(
        `SELECT id, subscription_ids FROM events
         WHERE received_at < ? AND ((received_at, id) <= (?, ?) OR subscription_ids = '[]')
           AND NOT EXISTS (SELECT 1 FROM kept WHERE kept.id = events.id AND kept.recheck_at > ?)
         ORDER BY received_at, id LIMIT ?`,
        horizon, settled.at, settled.id, now, limit,
      )
      .toArray()
      .map((row) => ({ id: row.id, subscriptionIds: JSON.parse(row.subscription_ids) as string[] }));
  }

  /** Keeps these events past their retention, to be asked about again at `recheckAt`. */
  keep(ids: readonly string[], recheckAt: number): void {
    for (const id of ids)
      this.sql.exec("INSERT INTO kept (id, recheck_at) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET recheck_at = excluded.recheck_at", id, recheckAt);
  }

  /** When pruning next has something to look at: the oldest event not kept expires, or a kept one is due a recheck. */
  nextExpiry(retentionMs: number): number | null {
    const oldest = this.sql
      .exec<{ received_at: number }>(
        "SELECT received_at FROM events WHERE NOT EXISTS (SELECT 1 FROM kept WHERE kept.id = events.id) ORDER BY received_at, id LIMIT 1",
      )
      .toArray()[0];
    const recheck = this.sql.exec<{ at: number | null }>("SELECT MIN(recheck_at) AS at FROM kept").one().at;
    const times = [oldest === undefined ? null : oldest.received_at + retentionMs, recheck].filter((at): at is number => at !== null);
    return times.length > 0 ? Math.min(...times) : null;
  }
}
