import { DurableObject } from "cloudflare:workers";
import type { IngestedEvent } from "../domain/event";
import type { Env } from "../env";

/** Accepted events are remembered this long: the idempotency window (the SPEC asks for at least 24 hours). */
export const EVENT_RETENTION_MS = 7 * 24 * 60 * 60 * 1000;

export interface LedgerEntry {
  /** The event exactly as ingested (JSON text). */
  readonly body: string;
  readonly receivedAt: string;
  readonly subscriptionIds: string[];
}

/**
 * One shard of the record of accepted events (by uuid), for idempotency and `GET /v1/events/{uuid}`.
 * An event is written here only after every delivery it owes is enqueued, so a uuid found here was
 * fully accepted; a uuid missing here may safely be ingested again (subscriptions deduplicate too).
 */
export class EventLedger extends DurableObject<Env> {
  private readonly sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(`CREATE TABLE IF NOT EXISTS events (
      uuid TEXT PRIMARY KEY, code TEXT NOT NULL, body TEXT NOT NULL,
      subscription_ids TEXT NOT NULL, received_at INTEGER NOT NULL)`);
    this.sql.exec("CREATE INDEX IF NOT EXISTS events_by_age ON events (received_at)");
  }

  /** Which of these uuids were already accepted. */
  known(uuids: string[]): string[] {
    return uuids.filter((uuid) => this.sql.exec("SELECT 1 FROM events WHERE uuid = ?", uuid).toArray().length > 0);
  }

  /** Records accepted events; returns the uuids that another request recorded first. */
  async commit(entries: { event: IngestedEvent; subscriptionIds: string[] }[]): Promise<string[]> {
    const now = Date.now();
    const already: string[] = [];
    for (const { event, subscriptionIds } of entries) {
      const written = this.sql.exec(
        `INSERT INTO events (uuid, code, body, subscription_ids, received_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (uuid) DO NOTHING`,
        event.id, event.code, event.body, JSON.stringify(subscriptionIds), now,
      ).rowsWritten;
      if (written === 0) already.push(event.id);
    }
    if ((await this.ctx.storage.getAlarm()) === null) await this.ctx.storage.setAlarm(now + EVENT_RETENTION_MS);
    return already;
  }

  get(uuid: string): LedgerEntry | null {
    const row = this.sql
      .exec<{ body: string; subscription_ids: string; received_at: number }>(
        "SELECT body, subscription_ids, received_at FROM events WHERE uuid = ?", uuid,
      )
      .toArray()[0];
    if (!row) return null;
    return {
      body: row.body,
      receivedAt: new Date(row.received_at).toISOString(),
      subscriptionIds: JSON.parse(row.subscription_ids) as string[],
    };
  }

  override async alarm(): Promise<void> {
    const now = Date.now();
    this.sql.exec("DELETE FROM events WHERE received_at < ?", now - EVENT_RETENTION_MS);
    const oldest = this.sql.exec<{ oldest: number | null }>("SELECT MIN(received_at) AS oldest FROM events").one().oldest;
    if (oldest !== null) await this.ctx.storage.setAlarm(oldest + EVENT_RETENTION_MS);
  }
}
