import type { DeliveryItem } from "../../domain/delivery";
import { leaseKeyOf } from "../../domain/gate";
import { nextItemOf, type DeliveryRow } from "./deliveries";
import type { LeaseSnapshot } from "./leases";
import type { OwedCheck } from "./control";

/** An event the ledger asks about: its id, code and when it was accepted. */
export interface AskedEvent {
  readonly id: string;
  readonly code: string;
  readonly acceptedAt?: number;
}

/** What the backstop needs to know about one event owed to this subscription. */
export interface OwedEvent {
  readonly event: AskedEvent;
  /** The delivery that carries it (its own, or its Quiltt batch), if it has a row yet. */
  readonly row: DeliveryRow | null;
}

export interface OwedInput {
  readonly events: readonly OwedEvent[];
  readonly disabled: boolean;
  readonly leases: LeaseSnapshot;
  readonly graceMs: number;
  readonly now: number;
}

export interface OwedDecision extends OwedCheck {
  /** Events without a row while the subscription is disabled: to record as held. */
  readonly hold: DeliveryItem[];
}

/** The longest a re-sent delivery waits before it may be re-sent again. */
const MAX_RESEND_WAIT_MS = 60 * 60 * 1000;

/** What one look over owed deliveries found: which to enqueue again, and when to look again (null: nothing to watch). */
interface Plan {
  readonly resend: DeliveryItem[];
  readonly nextCheckAt: () => number | null;
  readonly checkAt: (at: number) => void;
  /** Enqueues the delivery again once it is overdue by more than the grace period, unless it is under way or was re-sent lately. */
  readonly resendOrWait: (item: DeliveryItem, dueAt: number) => void;
}

/**
 * The backstop's side in the object: of the events the event ledger still counts as owed here, which
 * to enqueue again (overdue by more than the grace period, not under way, not re-sent within it), and
 * when to ask again; and the same for the restarted deliveries (replayed, redelivered) that the object
 * watches itself. Remembers its own resends in memory, so that being asked twice does not send twice.
 */
export class Backstop {
  /** Each delivery re-sent (by lease key): when it may be re-sent again, and how often it was. */
  private readonly resent = new Map<string, { readonly until: number; readonly times: number }>();

  decide(input: OwedInput): OwedDecision {
    const { now, leases } = input;
    const plan = this.plan(now, input.graceMs, leases);
    const hold: DeliveryItem[] = [];
    const unsettled: string[] = [];
    for (const { event, row } of input.events) {
      if (row && row.status !== "pending" && row.status !== "retrying") continue; // settled: delivered, failed or held
      const fresh: DeliveryItem = { id: event.id, round: 0, attempt: 1, events: [{ id: event.id, code: event.code }], acceptedAt: event.acceptedAt };
      if (!row && input.disabled && leases.expiryOf(event.id) === null) {
        hold.push(fresh);
        continue;
      }
      unsettled.push(event.id);
      const leasedUntil = leases.expiryOf(event.id); // leased under its own key or inside a batch
      if (row) plan.resendOrWait(nextItemOf(row), row.nextAttemptAt);
      else if (leasedUntil !== null) plan.checkAt(leasedUntil);
      else plan.resendOrWait(fresh, Number.NEGATIVE_INFINITY); // accepted and never attempted: the ledger asks only once it is overdue
    }
    return { resend: plan.resend, hold, unsettled, nextCheckAt: plan.nextCheckAt() };
  }

  /** Restarted deliveries still owed (the ledger no longer watches their events): which to enqueue again, and when to look again. */
  decideRestarts(rows: readonly DeliveryRow[], leases: LeaseSnapshot, graceMs: number, now: number): { resend: DeliveryItem[]; nextCheckAt: number | null } {
    const plan = this.plan(now, graceMs, leases);
    for (const row of rows) plan.resendOrWait(nextItemOf(row), row.nextAttemptAt);
    return { resend: plan.resend, nextCheckAt: plan.nextCheckAt() };
  }

  private plan(now: number, graceMs: number, leases: LeaseSnapshot): Plan {
    // Forgotten once well past their wait, so a delivery that keeps being owed backs off without the map growing.
    for (const [key, { until }] of this.resent) if (until + MAX_RESEND_WAIT_MS <= now) this.resent.delete(key);
    const resend: DeliveryItem[] = [];
    const planned = new Set<string>();
    let nextCheckAt: number | null = null;
    const checkAt = (at: number) => {
      nextCheckAt = nextCheckAt === null ? at : Math.min(nextCheckAt, at);
    };
    const resendOrWait = (item: DeliveryItem, dueAt: number) => {
      const key = leaseKeyOf(item);
      if (planned.has(key)) return;
      const leaseExpiry = leases.expiryOf(key);
      const resent = this.resent.get(key);
      if (leaseExpiry !== null) checkAt(leaseExpiry);
      else if (resent !== undefined && now < resent.until) checkAt(resent.until); // resent lately: its copy may still be queued
      else if (now <= dueAt + graceMs) checkAt(dueAt + graceMs);
      else {
        planned.add(key);
        // A queue that is only slow (a backlog) would get a copy every grace period: each resend waits twice as long.
        const times = (resent?.times ?? 0) + 1;
        const until = now + Math.min(MAX_RESEND_WAIT_MS, graceMs * 2 ** (times - 1));
        this.resent.set(key, { until, times });
        resend.push(item);
        checkAt(until);
      }
    };
    return { resend, resendOrWait, checkAt, nextCheckAt: () => nextCheckAt };
  }
}
