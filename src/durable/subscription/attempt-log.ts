import type { Outcome } from "../../delivery/retry-policy";
import { cursorOf, packRows, positionOf, ROW_CAPACITY, type LoggedAttempt } from "./attempt-rows";
import type { FinishedAttempt } from "./control";

/**
 * The `attempt_batch` table: every POST made for this subscription, in the order they were recorded,
 * one row per `finish` (see attempt-rows.ts). `logged_before` counts the attempts logged before the
 * row (since the log was last emptied), so that capping the log reads only its oldest rows.
 */

const SCHEMA = `
CREATE TABLE IF NOT EXISTS attempt_batch (
  seq INTEGER PRIMARY KEY, logged_before INTEGER NOT NULL, count INTEGER NOT NULL, newest_at INTEGER NOT NULL, attempts TEXT NOT NULL
);
`;

/** Characters of a response body kept in the log. */
const MAX_ERROR_LENGTH = 512;
/** The share of the cap logged since the last prune after which `finish` cuts the log back itself. */
const GROWTH_BEFORE_PRUNE = 0.1;

export interface AttemptView {
  /** The first event of the delivery. */
  eventId: string;
  eventCode: string;
  attempt: number;
  at: string;
  outcome: Outcome;
  status: number | null;
  durationMs: number;
  error: string | null;
  /** Every event it carried (more than one in a Quiltt batch). */
  eventIds: string[];
  /** Its `webhook-id`. */
  deliveryId: string;
}

export interface AttemptPage {
  items: AttemptView[];
  nextCursor: number | null;
}

/** What the dashboard's summary reads of each attempt. */
export type LoggedOutcome = { at: number; outcome: Outcome; status: number | null };

/** A row of the one-row-per-attempt table earlier versions kept. */
type OldRow = {
  seq: number; delivery_id: string; event_ids: string; event_code: string; attempt: number; at: number;
  outcome: Outcome; status: number | null; duration_ms: number; error: string | null;
};

export class AttemptLog {
  private readonly sql: SqlStorage;
  /** Attempts logged by this instance since it last pruned (in memory: a new instance starts again at 0, and the daily prune still runs). */
  private loggedSincePrune = 0;

  /** `maxAttempts`: the cap pruning keeps to, so that one object's storage stays bounded (~230 bytes an attempt, as JSON). */
  constructor(storage: DurableObjectStorage, private readonly maxAttempts: number) {
    this.sql = storage.sql;
    this.sql.exec(SCHEMA);
    // All or nothing: a move cut short would be moved again, twice logged.
    storage.transactionSync(() => this.moveOldRows());
  }

  /** Logs the attempts of one `finish`, in their order: one row, more only past a row's capacity. */
  appendAll(attempts: readonly FinishedAttempt[]): void {
    this.loggedSincePrune += attempts.length;
    this.write(
      attempts.map(({ item, result }) => ({
        deliveryId: item.id, eventIds: item.events.map((event) => event.id), eventCode: item.events[0]?.code ?? "", attempt: item.attempt,
        at: result.at, outcome: result.outcome, status: result.status, durationMs: result.durationMs,
        error: result.error?.slice(0, MAX_ERROR_LENGTH) ?? null,
      })),
    );
  }

  /** Newest first; `before` is the cursor a previous page returned. */
  page(limit: number, before: number | null): AttemptPage {
    const found: { cursor: number; entry: LoggedAttempt }[] = [];
    for (const attempt of this.newestEntries(before)) {
      found.push(attempt);
      if (found.length > limit) break;
    }
    const page = found.slice(0, limit);
    return {
      items: page.map(({ entry }) => ({
        // The SPEC's fields first, in its order; then what a Quiltt batch adds.
        eventId: entry.eventIds[0] ?? entry.deliveryId, eventCode: entry.eventCode, attempt: entry.attempt, at: new Date(entry.at).toISOString(),
        outcome: entry.outcome, status: entry.status, durationMs: entry.durationMs, error: entry.error, eventIds: [...entry.eventIds],
        deliveryId: entry.deliveryId,
      })),
      nextCursor: found.length > limit ? (page.at(-1)?.cursor ?? null) : null,
    };
  }

  /** Outcomes newest first, read lazily (a row at a time): the caller stops when it has seen enough. */
  *newestFirst(): Generator<LoggedOutcome> {
    for (const { entry } of this.newestEntries(null)) yield entry;
  }

  /** Whether this instance has logged a tenth of the cap since it last pruned: time to cut the log back, not to wait for the day. */
  outgrown(): boolean {
    return this.loggedSincePrune >= this.maxAttempts * GROWTH_BEFORE_PRUNE;
  }

  /**
   * Forgets the rows whose newest attempt is before `horizon`, up to the first that is not, then the
   * oldest rows past `maxAttempts`; reads from the oldest end only.
   */
  prune(horizon: number): void {
    this.loggedSincePrune = 0;
    this.dropRowsBefore("newest_at >= ?", horizon);
    const newest = this.sql.exec<{ end: number }>("SELECT logged_before + count AS end FROM attempt_batch ORDER BY seq DESC LIMIT 1").toArray()[0];
    if (newest) this.dropRowsBefore("logged_before >= ?", newest.end - this.maxAttempts);
  }

  /** Deletes the rows before the oldest one that meets `keep` (every row when none does). */
  private dropRowsBefore(keep: string, value: number): void {
    const kept = this.sql.exec<{ seq: number }>(`SELECT seq FROM attempt_batch WHERE ${keep} ORDER BY seq LIMIT 1`, value).toArray()[0];
    if (kept) this.sql.exec("DELETE FROM attempt_batch WHERE seq < ?", kept.seq);
    else this.sql.exec("DELETE FROM attempt_batch");
  }

  /** Attempts newest first, each with its cursor, from just before the cursor `before` (or the newest). */
  private *newestEntries(before: number | null): Generator<{ cursor: number; entry: LoggedAttempt }> {
    const from = positionOf(before);
    const rows = this.sql.exec<{ seq: number; attempts: string }>(
      "SELECT seq, attempts FROM attempt_batch WHERE seq <= ? ORDER BY seq DESC", from?.seq ?? Number.MAX_SAFE_INTEGER,
    );
    for (const { seq, attempts } of rows) {
      const entries = JSON.parse(attempts) as LoggedAttempt[];
      const end = seq === from?.seq ? Math.min(from.index, entries.length) : entries.length;
      for (let index = end - 1; index >= 0; index -= 1) yield { cursor: cursorOf({ seq, index }), entry: entries[index] as LoggedAttempt };
    }
  }

  private write(entries: readonly LoggedAttempt[]): void {
    for (const row of packRows(entries)) {
      this.sql.exec(
        "INSERT INTO attempt_batch (logged_before, count, newest_at, attempts) VALUES (COALESCE((SELECT logged_before + count FROM attempt_batch ORDER BY seq DESC LIMIT 1), 0), ?, ?, ?)",
        row.count, row.newestAt, row.attempts,
      );
    }
  }

  /**
   * Once per object: moves the rows of the `attempt_log` table of earlier versions (one row per
   * attempt) into batch rows, in their order, and drops it. Only a look at the schema when it is gone.
   */
  private moveOldRows(): void {
    if (this.sql.exec("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'attempt_log'").toArray().length === 0) return;
    for (let after = 0; ; ) {
      const rows = this.sql.exec<OldRow>("SELECT * FROM attempt_log WHERE seq > ? ORDER BY seq LIMIT ?", after, ROW_CAPACITY).toArray();
      const last = rows.at(-1);
      if (!last) break;
      this.write(
        rows.map((row) => ({
          deliveryId: row.delivery_id, eventIds: JSON.parse(row.event_ids) as string[], eventCode: row.event_code, attempt: row.attempt,
          at: row.at, outcome: row.outcome, status: row.status, durationMs: row.duration_ms, error: row.error,
        })),
      );
      after = last.seq;
    }
    this.sql.exec("DROP TABLE attempt_log");
  }
}
