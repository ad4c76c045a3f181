import type { DeliveryItem, DeliveryStatus, EventRef } from "../../domain/delivery";
import { DAY_MS } from "../../config";
import type { LedgerView } from "../ledger/event-store";
import { forEachChunk } from "../sql-chunks";

/**
 * The `delivery` table: one row per delivery once something happened to it (an attempt, a hold, a
 * restart). Nothing is written when a delivery is only handed out, so a first-try success costs this
 * table one row. Quiltt batches also list their events in `batch_event`, so that an event is found
 * through the batch that carried it.
 */

// No rowid behind the keys; the one index covers only rows not delivered (the owed, the failed and
// the held: replay, the dashboard's counts, holding on disable), so a delivered row writes no entry.
const SCHEMA = `
CREATE TABLE IF NOT EXISTS delivery (
  id TEXT PRIMARY KEY, round INTEGER NOT NULL, status TEXT NOT NULL, attempts INTEGER NOT NULL,
  next_attempt_at INTEGER NOT NULL, events TEXT NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS delivery_unsettled ON delivery (status, created_at) WHERE status <> 'delivered';
CREATE TABLE IF NOT EXISTS batch_event (event_id TEXT PRIMARY KEY, delivery_id TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS delivery_prune (singleton INTEGER PRIMARY KEY CHECK (singleton = 1), after TEXT NOT NULL);
`;

/** Rows one prune step looks at: its work stays small, however large the table (delivered rows have no index by time). */
const ROWS_PER_PRUNE_STEP = 5_000;

export interface DeliveryRow {
  readonly id: string;
  readonly round: number;
  readonly status: DeliveryStatus;
  readonly attempts: number;
  /** When the next attempt is due (pending, retrying); otherwise when it last changed. */
  readonly nextAttemptAt: number;
  readonly events: readonly EventRef[];
  readonly createdAt: number;
}

/** What `deliveryOf` answers for one event. */
export interface DeliveryView {
  /** Null while the event has no delivery row (not attempted yet, or delivered and forgotten). */
  readonly deliveryId: string | null;
  readonly status: DeliveryStatus;
  /** Null once a delivered delivery's row is forgotten. */
  readonly attempts: number | null;
  /** ISO time of the next attempt, while retrying. */
  readonly nextAttemptAt: string | null;
  readonly subscriptionDeleted: boolean;
}

/**
 * How long a delivered row is kept: it is what stops a late copy of its delivery from being POSTed again.
 * Copies come from the queue (a redelivered message, a retry sent before a resend got through: at most
 * RETRY_DELAY_SECONDS, 12 h, late) and from the ledger's backstop, which asks about an event until it has
 * seen it settled and passed it or set it aside (minutes). A day covers both, whatever the retention.
 */
export const DELIVERED_ROWS_KEPT_MS = DAY_MS;

export type UnsettledCounts = Record<Exclude<DeliveryStatus, "delivered">, number>;

type Row = {
  id: string; round: number; status: DeliveryStatus; attempts: number; next_attempt_at: number; events: string; created_at: number;
};

function rowOf(row: Row): DeliveryRow {
  return {
    id: row.id, round: row.round, status: row.status, attempts: row.attempts, nextAttemptAt: row.next_attempt_at,
    events: JSON.parse(row.events) as EventRef[], createdAt: row.created_at,
  };
}

export function viewOfDelivery(row: DeliveryRow, subscriptionDeleted: boolean): DeliveryView {
  return {
    status: row.status, attempts: row.attempts,
    nextAttemptAt: row.status === "retrying" ? new Date(row.nextAttemptAt).toISOString() : null,
    deliveryId: row.id, subscriptionDeleted,
  };
}

/**
 * An event with no delivery row. Not attempted yet, unless the ledger has seen it settled: pending, or
 * held while the subscription is disabled (a removed subscription sends nothing more, so what it never
 * attempted stays so). Settled, it was delivered over a day ago, its row forgotten: every other settled
 * state keeps its row for the retention. Past the retention, a delivered or failed row may be forgotten
 * alike: nothing is known any more (null).
 */
export function viewWithoutRow(
  subscription: { readonly disabledReason: string | null; readonly deletedAt: number | null },
  event: LedgerView,
  retentionHorizon: number,
): DeliveryView | null {
  const deleted = subscription.deletedAt !== null;
  const base = { nextAttemptAt: null, deliveryId: null, subscriptionDeleted: deleted };
  if (!event.settled || deleted) return { ...base, status: subscription.disabledReason ? "held" : "pending", attempts: 0 };
  return event.receivedAt >= retentionHorizon ? { ...base, status: "delivered", attempts: null } : null;
}

/** The item that starts this row's next attempt (bodies left out: the consumer reads them from the ledger). */
export function nextItemOf(row: Pick<DeliveryRow, "id" | "round" | "attempts" | "events">): DeliveryItem {
  return { id: row.id, round: row.round, attempt: row.attempts + 1, events: row.events.map(({ id, code }) => ({ id, code })) };
}

/** A delivery started over (replayed or redelivered) and not settled yet: the object watches these itself. */
export function isOwedRestart(row: Pick<DeliveryRow, "round" | "status">): boolean {
  return row.round > 0 && (row.status === "pending" || row.status === "retrying");
}

export class DeliveryStore {
  constructor(private readonly sql: SqlStorage) {
    sql.exec(SCHEMA);
  }

  /** The rows of these deliveries that exist, by id (one query per 100 ids). */
  getAll(ids: readonly string[]): Map<string, DeliveryRow> {
    const rows = new Map<string, DeliveryRow>();
    forEachChunk(ids, (chunk, placeholders) => {
      for (const row of this.sql.exec<Row>(`SELECT * FROM delivery WHERE id IN (${placeholders})`, ...chunk)) rows.set(row.id, rowOf(row));
    });
    return rows;
  }

  /** The delivery that carries this event: its own, or the Quiltt batch it went out in. */
  ofEvent(eventId: string): DeliveryRow | null {
    return this.ofEvents([eventId]).get(eventId) ?? null;
  }

  /** The delivery that carries each of these events that has one, by event id (a few queries per 100 ids). */
  ofEvents(eventIds: readonly string[]): Map<string, DeliveryRow> {
    const found = this.getAll(eventIds);
    const viaBatch = new Map<string, string>();
    forEachChunk(eventIds.filter((id) => !found.has(id)), (chunk, placeholders) => {
      const rows = this.sql.exec<{ event_id: string; delivery_id: string }>(`SELECT event_id, delivery_id FROM batch_event WHERE event_id IN (${placeholders})`, ...chunk);
      for (const row of rows) viaBatch.set(row.event_id, row.delivery_id);
    });
    const batches = this.getAll([...new Set(viaBatch.values())]);
    for (const [eventId, deliveryId] of viaBatch) {
      const batch = batches.get(deliveryId);
      if (batch) found.set(eventId, batch);
    }
    return found;
  }

  /** Of these events, those whose delivery may still be sent: owed (pending, retrying), held, or failed (replayable while its row is kept). */
  stillSendable(eventIds: readonly string[]): string[] {
    const rows = this.ofEvents(eventIds);
    return eventIds.filter((id) => {
      const status = rows.get(id)?.status;
      return status !== undefined && status !== "delivered";
    });
  }

  /**
   * Writes a delivery's state. A new row of a batch (an id that is not its one event's) also lists its
   * events in `batch_event`.
   */
  put(row: DeliveryRow, now: number, isNew: boolean): void {
    this.sql.exec(
      `INSERT INTO delivery (id, round, status, attempts, next_attempt_at, events, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET round = excluded.round, status = excluded.status, attempts = excluded.attempts,
         next_attempt_at = excluded.next_attempt_at, updated_at = excluded.updated_at`,
      row.id, row.round, row.status, row.attempts, row.nextAttemptAt,
      JSON.stringify(row.events.map(({ id, code }) => ({ id, code }))), row.createdAt, now,
    );
    if (isNew && !(row.events.length === 1 && row.events[0]?.id === row.id))
      for (const event of row.events) this.sql.exec("INSERT OR REPLACE INTO batch_event (event_id, delivery_id) VALUES (?, ?)", event.id, row.id);
  }

  /** Records deliveries as held (the subscription is disabled), keeping their round and attempts. */
  hold(items: readonly DeliveryItem[], now: number): void {
    const rows = this.getAll(items.map((item) => item.id));
    for (const item of items) {
      const row = rows.get(item.id);
      this.put(row ? { ...row, status: "held" } : { ...item, status: "held", attempts: item.attempt - 1, nextAttemptAt: now, createdAt: item.acceptedAt ?? now }, now, !row);
    }
  }

  /** On disable: everything owed is held, to be replayed. */
  holdOwed(now: number): void {
    this.sql.exec("UPDATE delivery SET status = 'held', updated_at = ? WHERE status IN ('pending', 'retrying')", now);
  }

  /** Starts each over in a new round (no attempts yet, due now); the items to enqueue for them. */
  restart(rows: readonly Pick<DeliveryRow, "id" | "round" | "events" | "createdAt">[], now: number): DeliveryItem[] {
    return rows.map((row) => {
      const next = { ...row, round: row.round + 1, status: "pending" as const, attempts: 0, nextAttemptAt: now };
      // A batch restarted listed its events when it was first written; a single event needs no list.
      this.put(next, now, false);
      return nextItemOf(next);
    });
  }

  /**
   * Restarted deliveries (round 1 on: replayed or redelivered) still owed and due by `dueBy`, after
   * `after` (by due time, then id), earliest first. The ledger's backstop stopped watching their events
   * when it saw them settled the first time.
   */
  owedRestarts(after: { at: number; id: string }, dueBy: number, limit: number): DeliveryRow[] {
    return this.sql
      .exec<Row>(
        `SELECT * FROM delivery WHERE status IN ('pending', 'retrying') AND round > 0 AND (next_attempt_at, id) > (?, ?) AND next_attempt_at <= ?
         ORDER BY next_attempt_at, id LIMIT ?`,
        after.at, after.id, dueBy, limit,
      )
      .toArray()
      .map(rowOf);
  }

  /** When the earliest restarted delivery still owed and due after `after` is due, if there is one. */
  nextRestartDueAfter(after: number): number | null {
    return this.sql
      .exec<{ due: number | null }>("SELECT MIN(next_attempt_at) AS due FROM delivery WHERE status IN ('pending', 'retrying') AND round > 0 AND next_attempt_at > ?", after)
      .one().due;
  }

  /** Failed and held deliveries created in the window, oldest first. */
  replayable(since: number, until: number): DeliveryRow[] {
    return this.sql
      .exec<Row>(
        "SELECT * FROM delivery WHERE status IN ('failed', 'held') AND created_at >= ? AND created_at <= ? ORDER BY created_at",
        since, until,
      )
      .toArray()
      .map(rowOf);
  }

  unsettledCounts(): UnsettledCounts {
    const counts: UnsettledCounts = { pending: 0, retrying: 0, failed: 0, held: 0 };
    const byStatus = this.sql.exec<{ status: keyof UnsettledCounts; count: number }>(
      "SELECT status, COUNT(*) AS count FROM delivery WHERE status <> 'delivered' GROUP BY status",
    );
    for (const { status, count } of byStatus) counts[status] = count;
    return counts;
  }

  /**
   * One step of a pass over the table in key order, on from where the last step stopped: forgets the
   * delivered deliveries last changed before `deliveredHorizon`, and the failed ones (replayable until
   * then) before `failedHorizon`, with their batches' event lists; what is owed or held stays. Returns
   * whether the pass has more to do (a finished pass starts again from the first key next time).
   */
  pruneStep(deliveredHorizon: number, failedHorizon: number, rowsPerStep = ROWS_PER_PRUNE_STEP): boolean {
    const after = this.sql.exec<{ after: string }>("SELECT after FROM delivery_prune").toArray()[0]?.after ?? "";
    const last = this.sql.exec<{ id: string }>("SELECT id FROM delivery WHERE id > ? ORDER BY id LIMIT 1 OFFSET ?", after, rowsPerStep - 1).toArray()[0]?.id;
    const inStep = last === undefined ? "delivery.id > ?" : "delivery.id > ? AND delivery.id <= ?";
    const keys = last === undefined ? [after] : [after, last];
    // Qualified: json_each below has columns of the same names.
    const forgotten = `${inStep} AND ((delivery.status = 'delivered' AND delivery.updated_at < ?) OR (delivery.status = 'failed' AND delivery.updated_at < ?))`;
    // A batch's events are found through its own list: batch_event is keyed by event, not by batch.
    this.sql.exec(
      `DELETE FROM batch_event WHERE (event_id, delivery_id) IN (
         SELECT json_extract(listed.value, '$.id'), delivery.id FROM delivery, json_each(delivery.events) AS listed WHERE ${forgotten})`,
      ...keys, deliveredHorizon, failedHorizon,
    );
    this.sql.exec(`DELETE FROM delivery WHERE ${forgotten}`, ...keys, deliveredHorizon, failedHorizon);
    if (last !== undefined || after !== "")
      this.sql.exec("INSERT INTO delivery_prune (singleton, after) VALUES (1, ?) ON CONFLICT (singleton) DO UPDATE SET after = excluded.after", last ?? "");
    return last !== undefined;
  }
}
