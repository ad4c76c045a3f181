import { describe, expect, it } from "vitest";
import { cursorOf, MAX_ROW_CHARS, packRows, positionOf, ROW_CAPACITY, type LoggedAttempt } from "../../src/durable/subscription/attempt-rows";

function attempt(at: number, fields: Partial<LoggedAttempt> = {}): LoggedAttempt {
  return { deliveryId: `d${at}`, eventIds: [`d${at}`], eventCode: "document.update", attempt: 1, at, outcome: "success", status: 200, durationMs: 3, error: null, ...fields };
}

const ats = (row: { attempts: string }) => (JSON.parse(row.attempts) as LoggedAttempt[]).map((entry) => entry.at);

describe("packRows", () => {
  it("writes nothing for no attempts", () => {
    expect(packRows([])).toEqual([]);
  });

  it("packs a finish's attempts into one row, in their order, with the latest `at` (not the last one's)", () => {
    const rows = packRows([attempt(5), attempt(9), attempt(7)]);
    expect(rows.map((row) => [row.count, row.newestAt, ats(row)])).toEqual([[3, 9, [5, 9, 7]]]);
    expect(JSON.parse(rows[0]!.attempts)).toEqual([attempt(5), attempt(9), attempt(7)]);
  });

  it.each([
    [1, [1]],
    [ROW_CAPACITY, [ROW_CAPACITY]],
    [ROW_CAPACITY + 1, [ROW_CAPACITY, 1]],
    [2 * ROW_CAPACITY + 3, [ROW_CAPACITY, ROW_CAPACITY, 3]],
  ])("splits %i attempts into rows of at most ROW_CAPACITY: %j", (n, counts) => {
    const entries = Array.from({ length: n }, (_, i) => attempt(i));
    const rows = packRows(entries);
    expect(rows.map((row) => row.count)).toEqual(counts);
    expect(rows.flatMap(ats)).toEqual(entries.map((entry) => entry.at)); // nothing lost, nothing reordered
    expect(rows.map((row) => row.newestAt)).toEqual(rows.map((row) => Math.max(...ats(row))));
  });

  it("starts a new row before one would pass MAX_ROW_CHARS, and keeps every row under it", () => {
    // Quiltt batches of 100 long ids and a full error excerpt: the largest attempts there are.
    const big = (at: number) => attempt(at, { eventIds: Array.from({ length: 100 }, (_, i) => `evt_${"x".repeat(60)}${i}`), error: "\u0001".repeat(512) });
    const size = JSON.stringify(big(0)).length;
    const entries = Array.from({ length: ROW_CAPACITY }, (_, i) => big(i));
    const rows = packRows(entries);
    expect(rows.length).toBeGreaterThan(1);
    for (const row of rows) expect(row.attempts.length).toBeLessThanOrEqual(MAX_ROW_CHARS);
    expect(rows[0]!.count).toBe(Math.floor((MAX_ROW_CHARS - 1) / (size + 1)));
    expect(rows.flatMap(ats)).toEqual(entries.map((entry) => entry.at));
  });
});

describe("cursors", () => {
  it.each([
    [{ seq: 1, index: 0 }],
    [{ seq: 1, index: ROW_CAPACITY - 1 }],
    [{ seq: 2, index: 0 }],
    [{ seq: 123_456_789, index: 17 }],
  ])("round-trips %j", (position) => {
    expect(positionOf(cursorOf(position))).toEqual(position);
  });

  it("orders as the log does: by row, then by index in the row", () => {
    const positions = [{ seq: 1, index: 0 }, { seq: 1, index: 1 }, { seq: 1, index: ROW_CAPACITY - 1 }, { seq: 2, index: 0 }, { seq: 3, index: 5 }];
    const cursors = positions.map(cursorOf);
    expect([...cursors].sort((a, b) => a - b)).toEqual(cursors);
    expect(new Set(cursors).size).toBe(cursors.length);
  });

  it.each([null, -1, 1.5, Number.MAX_SAFE_INTEGER + 2, Infinity])("names no position for %s: the page starts at the newest", (cursor) => {
    expect(positionOf(cursor)).toBeNull();
  });
});
