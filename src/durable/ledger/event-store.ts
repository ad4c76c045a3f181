import type { IngestedEvent } from "../../domain/event";
import { forEachChunk } from "../sql-chunks";

/** An accepted event as the ledger keeps it. */
export interface LedgerEntry {
  /** The event exactly as ingested (JSON text). */
  readonly body: string;
  readonly code: string;
  /** When it was accepted (ms since the epoch). */
  readonly receivedAt: number;
  /** The subscriptions it matched when it was accepted. */
  readonly subscriptionIds: string[];
  /** The backstop has seen each of its deliveries settled (delivered, failed or held). */
  readonly settled: boolean;
}

/** What a subscription is told of an event when asked about its delivery of it. */
export type LedgerView = Pick<LedgerEntry, "settled" | "receivedAt">;

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
 * subscriptions it matched. Keyed by id without a rowid. An event past its retention that a subscription
 * still needs is kept, with `recheck_at`, when to ask about it again; an event the backstop sets aside
 * has it too, set to when its retention ends. Two partial indexes: by age for the events with none (the
 * backstop and pruning walk it, and never wade through the others), and by recheck time for the others.
 */
export class EventStore {
  constructor(private readonly sql: SqlStorage) {
    sql.exec(`CREATE TABLE IF NOT EXISTS events (
      id TEXT PRIMARY KEY, code TEXT NOT NULL, body TEXT NOT NULL,
      subscription_ids TEXT NOT NULL, received_at INTEGER NOT NULL, recheck_at INTEGER) WITHOUT ROWID`);
    // Tables made before events could be kept: add the column, and move the age index to the partial one.
    const columns = sql.exec<{ name: string }>("SELECT name FROM pragma_table_info('events')").toArray();
    if (!columns.some((column) => column.name === "recheck_at")) sql.exec("ALTER TABLE events ADD COLUMN recheck_at INTEGER");
    sql.exec("DROP INDEX IF EXISTS events_by_age");
    sql.exec("CREATE INDEX IF NOT EXISTS events_unkept_by_age ON events (received_at, id) WHERE recheck_at IS NULL");
    sql.exec("CREATE INDEX IF NOT EXISTS events_kept_by_recheck ON events (recheck_at) WHERE recheck_at IS NOT NULL");
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
    forEachChunk(ids, (chunk, placeholders) => this.sql.exec(`DELETE FROM events WHERE id IN (${placeholders})`, ...chunk));
  }

  /** The event, settled if it is at or before the backstop's watermark or set aside. */
  get(id: string, watermark: { at: number; id: string }): LedgerEntry | null {
    const row = this.sql
      .exec<{ body: string; code: string; subscription_ids: string; received_at: number; settled: number }>(
        `SELECT body, code, subscription_ids, received_at, (recheck_at IS NOT NULL OR (received_at, id) <= (?, ?)) AS settled
         FROM events WHERE id = ?`,
        watermark.at, watermark.id, id,
      )
      .toArray()[0];
    if (!row) return null;
    return {
      body: row.body,
      code: row.code,
      receivedAt: row.received_at,
      subscriptionIds: JSON.parse(row.subscription_ids) as string[],
      settled: row.settled === 1,
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
         WHERE recheck_at IS NULL AND (received_at, id) > (?, ?) AND received_at <= ? AND subscription_ids <> '[]' ORDER BY received_at, id LIMIT ?`,
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
          "SELECT received_at FROM events WHERE recheck_at IS NULL AND (received_at, id) > (?, ?) AND subscription_ids <> '[]' ORDER BY received_at, id LIMIT 1",
          mark.at, mark.id,
        )
        .toArray()[0]?.received_at ?? null
    );
  }

  /**
   * What pruning looks at, at most `limit` of each: events received before `horizon` that the backstop
   * has seen settled (up to `settled`) or that matched no subscription (it never watches those), oldest
   * first; and kept events whose recheck is due by `now`.
   */
  expired(horizon: number, settled: { at: number; id: string }, now: number, limit: number): { aged: ExpiredEvent[]; due: ExpiredEvent[] } {
    const read = (query: string, ...values: (number | string)[]) =>
      this.sql
        .exec<{ id: string; subscription_ids: string }>(query, ...values)
        .toArray()
        .map((row) => ({ id: row.id, subscriptionIds: JSON.parse(row.subscription_ids) as string[] }));
    return {
      aged: read(
        `SELECT id, subscription_ids FROM events WHERE recheck_at IS NULL AND received_at < ?
           AND ((received_at, id) <= (?, ?) OR subscription_ids = '[]') ORDER BY received_at, id LIMIT ?`,
        horizon, settled.at, settled.id, limit,
      ),
      due: read("SELECT id, subscription_ids FROM events WHERE recheck_at IS NOT NULL AND recheck_at <= ? ORDER BY recheck_at LIMIT ?", now, limit),
    };
  }

  /** Keeps these events past their retention, to be asked about again at `recheckAt`. */
  keep(ids: readonly string[], recheckAt: number): void {
    forEachChunk(ids, (chunk, placeholders) => this.sql.exec(`UPDATE events SET recheck_at = ? WHERE id IN (${placeholders})`, recheckAt, ...chunk), 1);
  }

  /**
   * Takes these settled events out of the backstop's walk: each is looked at again (by pruning, as one
   * kept) when its retention ends.
   */
  setAside(ids: readonly string[], retentionMs: number): void {
    forEachChunk(ids, (chunk, placeholders) => this.sql.exec(`UPDATE events SET recheck_at = received_at + ? WHERE id IN (${placeholders})`, retentionMs, ...chunk), 1);
  }

  /** When pruning next has something to look at: the oldest event not kept expires, or a kept one is due a recheck. */
  nextExpiry(retentionMs: number): number | null {
    const oldest = this.sql
      .exec<{ received_at: number }>("SELECT received_at FROM events WHERE recheck_at IS NULL ORDER BY received_at, id LIMIT 1")
      .toArray()[0];
    const recheck = this.sql
      .exec<{ recheck_at: number }>("SELECT recheck_at FROM events WHERE recheck_at IS NOT NULL ORDER BY recheck_at LIMIT 1")
      .toArray()[0];
    const times = [oldest && oldest.received_at + retentionMs, recheck?.recheck_at].filter((at): at is number => at !== undefined);
    return times.length > 0 ? Math.min(...times) : null;
  }
}
