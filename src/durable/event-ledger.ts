import { DurableObject } from "cloudflare:workers";
import { configOf } from "../config";
import type { IngestedEvent } from "../domain/event";
import type { Env } from "../env";
import { faults } from "../faults";
import { Backstop } from "./ledger/backstop";
import { EventStore, type LedgerEntry } from "./ledger/event-store";
import { Retention } from "./ledger/retention";

/** Where a failing sweep's alarm is left: the backstop is tried again this soon, never dropped. */
const SWEEP_RETRY_MS = 10_000;

/**
 * One shard of the accepted events (by a hash of their id): each body stored once, for idempotency,
 * lookups, redeliver and replay, and for the consumer when a body was too large to ride on its
 * message. Its alarm runs the backstop, which sees that every delivery an event owes is settled.
 */
export class EventLedger extends DurableObject<Env> {
  private readonly events: EventStore;
  private readonly backstop: Backstop;
  private readonly retention: Retention;
  private readonly graceMs: number;
  /** When the alarm is set for, once known (undefined: not read yet); saves a storage read per ingest. */
  private alarmAt: number | null | undefined;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    const config = configOf(env);
    this.graceMs = config.redeliveryGraceSeconds * 1000;
    this.events = new EventStore(ctx.storage.sql);
    this.backstop = new Backstop(ctx.storage.sql, this.events, env, this.graceMs, config.eventRetentionMs);
    this.retention = new Retention(this.events, env, config.eventRetentionMs);
  }

  /**
   * Records the events not accepted before, with the subscriptions each matched, and makes sure the
   * backstop will look at them. Returns the ids recorded here; the others are duplicates.
   */
  async accept(entries: { event: IngestedEvent; subscriptionIds: string[] }[]): Promise<string[]> {
    faults.check("storage", "accept");
    const now = Date.now();
    const recorded = this.events.insert(entries, now);
    if (recorded.length > 0) await this.alarmNoLaterThan(now + this.graceMs);
    return recorded;
  }

  /** Takes back events this shard recorded for an ingest request that was then refused (503). */
  withdraw(ids: string[]): void {
    this.events.delete(ids);
  }

  get(id: string): LedgerEntry | null {
    return this.events.get(id, this.backstop.settled());
  }

  bodies(ids: string[]): Record<string, string> {
    faults.check("storage", "bodies");
    return this.events.bodies(ids);
  }

  /** The backstop, then pruning. Re-armed before any work, so that no failure can stop it. */
  override async alarm(): Promise<void> {
    const now = Date.now();
    await this.setAlarm(now + SWEEP_RETRY_MS);
    let sweepAt: number | null;
    let pruneAt: number | null;
    try {
      sweepAt = await this.backstop.sweep(now);
      pruneAt = await this.retention.prune(now, this.backstop.settled());
    } catch (error) {
      console.error("ledger: the backstop or pruning failed; both run again shortly", error);
      return;
    }
    const next = Math.min(sweepAt ?? Number.POSITIVE_INFINITY, pruneAt ?? Number.POSITIVE_INFINITY);
    if (Number.isFinite(next)) await this.setAlarm(next);
    else {
      await this.ctx.storage.deleteAlarm();
      this.alarmAt = null;
    }
  }

  private async alarmNoLaterThan(at: number): Promise<void> {
    if (this.alarmAt === undefined) this.alarmAt = await this.ctx.storage.getAlarm();
    if (this.alarmAt === null || this.alarmAt > at) await this.setAlarm(at);
  }

  private async setAlarm(at: number): Promise<void> {
    await this.ctx.storage.setAlarm(at);
    this.alarmAt = at;
  }
}
