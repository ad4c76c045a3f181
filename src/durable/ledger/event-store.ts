import type { IngestedEvent } from "../../domain/event";

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

/**
 * The events table: each accepted event once, whatever the number of its subscribers, with the
 * subscriptions it matched. Keyed by id without a rowid; one index, by age, for the backstop and pruning.
 */
export class EventStore {
  constructor(private readonly sql: SqlStorage) {
    sql.exec(`CREATE TABLE IF NOT EXISTS events (
      id TEXT PRIMARY KEY, code TEXT NOT NULL, body TEXT NOT NULL,
      subscription_ids TEXT NOT NULL, received_at INTEGER NOT NULL) WITHOUT ROWID`);
    sql.exec("CREATE INDEX IF NOT EXISTS events_by_age ON events (received_at, id)");
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
    for (const id of ids) this.sql.exec("DELETE FROM events WHERE id = ?", id);
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
    for (const id of ids) {
      const row = this.sql.exec<{ body: string }>("SELECT body FROM events WHERE id = ?", id).toArray()[0];
      if (row) found[id] = row.body;
    }
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

  /** When the oldest event kept was received, or null when none is. */
  oldest(): number | null {
    return this.sql.exec<{ oldest: number | null }>("SELECT MIN(received_at) AS oldest FROM events").one().oldest;
  }

  /** Forgets events received before `horizon`. */
  prune(horizon: number): void {
    this.sql.exec("DELETE FROM events WHERE received_at < ?", horizon);
  }
}
