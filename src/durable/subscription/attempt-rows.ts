import type { Outcome } from "../../delivery/retry-policy";

/**
 * How the attempt log packs attempts into rows, and the page cursor that points into them. Cloudflare
 * bills rows written, so a `finish` writes its attempts as one row (a JSON array in recorded order).
 */

/** One attempt as its row's JSON array holds it. */
export interface LoggedAttempt {
  readonly deliveryId: string;
  readonly eventIds: readonly string[];
  readonly eventCode: string;
  readonly attempt: number;
  /** ms since the epoch */
  readonly at: number;
  readonly outcome: Outcome;
  readonly status: number | null;
  readonly durationMs: number;
  readonly error: string | null;
}

/** Attempts a row holds at most; also the cursor's radix, so that an index in a row fits below it. */
export const ROW_CAPACITY = 256;
/**
 * JSON characters past which a row takes no more attempts: at most 3 bytes each in UTF-8, well below
 * the 2 MB row limit. An attempt is bounded (100 event ids, an error excerpt of 512 characters), so a
 * row still holds a few of them.
 */
export const MAX_ROW_CHARS = 256 * 1024;

/** What one row stores of its attempts. */
export interface PackedRow {
  /** The JSON array, oldest first. */
  readonly attempts: string;
  readonly count: number;
  /** The latest `at` among them: what pruning by age reads. */
  readonly newestAt: number;
}

/** Splits attempts, in recorded order, into as few rows as fit ROW_CAPACITY and MAX_ROW_CHARS; none for none. */
export function packRows(entries: readonly LoggedAttempt[]): PackedRow[] {
  const rows: PackedRow[] = [];
  let parts: string[] = [];
  /** The row's length so far: "[" and each attempt with the "," or "]" after it. */
  let chars = 1;
  let newestAt = -Infinity;
  const close = () => {
    if (parts.length > 0) rows.push({ attempts: `[${parts.join(",")}]`, count: parts.length, newestAt });
    parts = [];
    chars = 1;
    newestAt = -Infinity;
  };
  for (const entry of entries) {
    const json = JSON.stringify(entry);
    if (parts.length === ROW_CAPACITY || (parts.length > 0 && chars + json.length + 1 > MAX_ROW_CHARS)) close();
    parts.push(json);
    chars += json.length + 1;
    newestAt = Math.max(newestAt, entry.at);
  }
  close();
  return rows;
}

/** Where an attempt is: its row and its index there (0 the oldest). */
export interface LogPosition {
  readonly seq: number;
  readonly index: number;
}

/**
 * A page cursor as one number that orders as the log does (rows by seq, then index): it stays valid
 * while new rows arrive, since rows are never changed once written.
 */
export function cursorOf({ seq, index }: LogPosition): number {
  return seq * ROW_CAPACITY + index;
}

/** The position a cursor names; null for none or for a number no cursor can be (the page starts at the newest then). */
export function positionOf(cursor: number | null): LogPosition | null {
  if (cursor === null || !Number.isSafeInteger(cursor) || cursor < 0) return null;
  return { seq: Math.floor(cursor / ROW_CAPACITY), index: cursor % ROW_CAPACITY };
}
