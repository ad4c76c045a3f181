import type { DeliveryItem } from "../../domain/delivery";
import type { Backstop } from "./backstop";
import type { DeliveryStore } from "./deliveries";
import type { LeaseSnapshot } from "./leases";

/** Restarted deliveries looked at per look; more are looked at a second later. */
const RESTARTS_PER_LOOK = 500;
const MORE_RESTARTS_MS = 1_000;
const NEW_PASS = { after: { at: Number.MIN_SAFE_INTEGER, id: "" }, nextCheckAt: Number.POSITIVE_INFINITY };

/**
 * The object's own watch over the deliveries it started over (replayed, redelivered): the ledger's
 * backstop stopped asking about their events when it first saw them settled, so if a restarted
 * delivery's queue message is lost (Miniflare's queue lives in memory) nobody else sends it again.
 * Owns its pass over them, in memory: a pass over more than one look goes on from where the last stopped.
 */
export class RestartWatch {
  private pass = NEW_PASS;

  constructor(
    private readonly deliveries: DeliveryStore,
    private readonly backstop: Backstop,
  ) {}

  /** What of the restarted deliveries overdue by more than the grace period to enqueue again, and when to look next (null: none is owed). */
  look(now: number, graceMs: number, leases: LeaseSnapshot): { resend: DeliveryItem[]; nextLookAt: number | null } {
    const overdue = this.deliveries.owedRestarts(this.pass.after, now - graceMs, RESTARTS_PER_LOOK);
    const { resend, nextCheckAt } = this.backstop.decideRestarts(overdue, leases, graceMs, now);
    const passCheckAt = Math.min(this.pass.nextCheckAt, nextCheckAt ?? Number.POSITIVE_INFINITY);
    const last = overdue.at(-1);
    if (overdue.length === RESTARTS_PER_LOOK && last) {
      this.pass = { after: { at: last.nextAttemptAt, id: last.id }, nextCheckAt: passCheckAt };
      return { resend, nextLookAt: now + MORE_RESTARTS_MS };
    }
    this.pass = NEW_PASS;
    const nextDue = this.deliveries.nextRestartDueAfter(now - graceMs);
    const next = Math.min(passCheckAt, nextDue === null ? Number.POSITIVE_INFINITY : RestartWatch.overdueAt(nextDue, graceMs));
    return { resend, nextLookAt: Number.isFinite(next) ? next : null };
  }

  /** When a restarted delivery due at `dueAt` is first overdue past the grace period. */
  static overdueAt(dueAt: number, graceMs: number): number {
    return dueAt + graceMs + 1;
  }
}
