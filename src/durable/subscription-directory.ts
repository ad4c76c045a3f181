import { DurableObject } from "cloudflare:workers";
import type { SubscriberEntry } from "../domain/matching";
import type { Env } from "../env";

/**
 * The index of subscriptions: which exist, in what order they were created, and which event types
 * each selects. It answers "who might want events?" (to ingest, which keeps a copy per isolate) and
 * "which ids are on page 3?". Everything else about a subscription is asked of its own object.
 */
export class SubscriptionDirectory extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  /** id -> event types, in creation order; loaded once per instance. */
  private loaded: Map<string, string[]> | null = null;

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
    this.loaded = null;
  }

  remove(id: string): void {
    this.sql.exec("DELETE FROM subscriptions WHERE id = ?", id);
    this.loaded = null;
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

  /** Every subscription's event types, oldest first: what ingest matches events against (it keeps a copy per isolate), and what deleting a catalogue code must not leave dangling. */
  entries(): SubscriberEntry[] {
    return [...this.load()].map(([id, eventTypes]) => ({ id, eventTypes }));
  }

  private load(): Map<string, string[]> {
    this.loaded ??= new Map(
      this.sql
        .exec<{ id: string; event_types: string }>("SELECT id, event_types FROM subscriptions ORDER BY created_at, id")
        .toArray()
        .map((row) => [row.id, JSON.parse(row.event_types) as string[]]),
    );
    return this.loaded;
  }
}
