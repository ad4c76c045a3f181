import { DurableObject } from "cloudflare:workers";
import { typesMatchCode } from "../domain/catalog";
import type { Env } from "../env";

/**
 * The index of subscriptions: which exist, in what order they were created, and which event types
 * each selects. It answers "who might want this event?" and "which ids are on page 3?". Everything
 * else about a subscription (its state, its settings) is asked of the subscription's own object, which
 * also re-checks event types before it accepts a delivery.
 */
export class SubscriptionDirectory extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  /** id -> event types, in creation order; loaded once per instance. */
  private entries: Map<string, string[]> | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(`CREATE TABLE IF NOT EXISTS subscriptions (
      id TEXT PRIMARY KEY, created_at INTEGER NOT NULL, event_types TEXT NOT NULL)`);
    this.sql.exec("CREATE INDEX IF NOT EXISTS subscriptions_by_age ON subscriptions (created_at, id)");
  }

  put(id: string, createdAt: number, eventTypes: string[]): void {
    this.sql.exec(
      `INSERT INTO subscriptions (id, created_at, event_types) VALUES (?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET event_types = excluded.event_types`,
      id, createdAt, JSON.stringify(eventTypes),
    );
    this.entries = null;
  }

  remove(id: string): void {
    this.sql.exec("DELETE FROM subscriptions WHERE id = ?", id);
    this.entries = null;
  }

  /** Ids oldest first, and how many there are in all. */
  page(offset: number, limit: number): { ids: string[]; total: number } {
    const ids = this.sql
      .exec<{ id: string }>("SELECT id FROM subscriptions ORDER BY created_at, id LIMIT ? OFFSET ?", limit, offset)
      .toArray()
      .map((row) => row.id);
    const total = this.sql.exec<{ total: number }>("SELECT COUNT(*) AS total FROM subscriptions").one().total;
    return { ids, total };
  }

  /** Every subscription's event types, oldest first (what deleting a catalogue code must not leave dangling). */
  all(): { id: string; eventTypes: string[] }[] {
    return [...this.load()].map(([id, eventTypes]) => ({ id, eventTypes }));
  }

  /** For each code, the subscriptions whose event types select it. */
  match(codes: string[]): Record<string, string[]> {
    const entries = this.load();
    const matches: Record<string, string[]> = {};
    for (const code of new Set(codes)) {
      const ids: string[] = [];
      for (const [id, eventTypes] of entries) if (typesMatchCode(eventTypes, code)) ids.push(id);
      matches[code] = ids;
    }
    return matches;
  }

  private load(): Map<string, string[]> {
    this.entries ??= new Map(
      this.sql
        .exec<{ id: string; event_types: string }>("SELECT id, event_types FROM subscriptions ORDER BY created_at, id")
        .toArray()
        .map((row) => [row.id, JSON.parse(row.event_types) as string[]]),
    );
    return this.entries;
  }
}
