import type { AttemptResult } from "../../delivery/attempt";
import type { Outcome } from "../../delivery/retry-policy";
import type { DeliveryItem } from "../../domain/delivery";

/** The `attempt_log` table: every POST made for this subscription, in the order they were recorded. */

const SCHEMA = `
CREATE TABLE IF NOT EXISTS attempt_log (
  seq INTEGER PRIMARY KEY, delivery_id TEXT NOT NULL, event_ids TEXT NOT NULL, event_code TEXT NOT NULL,
  attempt INTEGER NOT NULL, at INTEGER NOT NULL, outcome TEXT NOT NULL, status INTEGER, duration_ms INTEGER NOT NULL, error TEXT
);
`;

/** Characters of a response body kept in the log. */
const MAX_ERROR_LENGTH = 512;
/** Rows kept whatever the retention, so that one object's storage stays bounded (~150 bytes a row). */
export const MAX_LOGGED_ATTEMPTS = 1_000_000;

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

type Row = {
  seq: number; delivery_id: string; event_ids: string; event_code: string; attempt: number; at: number;
  outcome: Outcome; status: number | null; duration_ms: number; error: string | null;
};

export class AttemptLog {
  constructor(private readonly sql: SqlStorage) {
    sql.exec(SCHEMA);
  }

  append(item: DeliveryItem, result: AttemptResult): void {
    this.sql.exec(
      "INSERT INTO attempt_log (delivery_id, event_ids, event_code, attempt, at, outcome, status, duration_ms, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
      item.id, JSON.stringify(item.events.map((event) => event.id)), item.events[0]?.code ?? "", item.attempt, result.at,
      result.outcome, result.status, result.durationMs, result.error?.slice(0, MAX_ERROR_LENGTH) ?? null,
    );
  }

  /** Newest first; `before` is the cursor a previous page returned. */
  page(limit: number, before: number | null): AttemptPage {
    const rows = this.sql
      .exec<Row>("SELECT * FROM attempt_log WHERE seq < ? ORDER BY seq DESC LIMIT ?", before ?? Number.MAX_SAFE_INTEGER, limit + 1)
      .toArray();
    const page = rows.slice(0, limit);
    return {
      items: page.map((row) => {
        const eventIds = JSON.parse(row.event_ids) as string[];
        return {
          // The SPEC's fields first, in its order; then what a Quiltt batch adds.
          eventId: eventIds[0] ?? row.delivery_id, eventCode: row.event_code, attempt: row.attempt, at: new Date(row.at).toISOString(),
          outcome: row.outcome, status: row.status, durationMs: row.duration_ms, error: row.error, eventIds, deliveryId: row.delivery_id,
        };
      }),
      nextCursor: rows.length > limit ? (page.at(-1)?.seq ?? null) : null,
    };
  }

  /** Outcomes newest first, read lazily: the caller stops when it has seen enough. */
  newestFirst(): Iterable<LoggedOutcome> {
    return this.sql.exec<LoggedOutcome>("SELECT at, outcome, status FROM attempt_log ORDER BY seq DESC");
  }

  /** Forgets attempts before `horizon`, and the oldest past MAX_LOGGED_ATTEMPTS; reads from the oldest end only. */
  prune(horizon: number): void {
    const firstKept = this.sql.exec<{ seq: number }>("SELECT seq FROM attempt_log WHERE at >= ? ORDER BY seq LIMIT 1", horizon).toArray()[0];
    if (firstKept) this.sql.exec("DELETE FROM attempt_log WHERE seq < ?", firstKept.seq);
    else this.sql.exec("DELETE FROM attempt_log");
    this.sql.exec("DELETE FROM attempt_log WHERE seq <= (SELECT MAX(seq) FROM attempt_log) - ?", MAX_LOGGED_ATTEMPTS);
  }
}
