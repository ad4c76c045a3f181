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

/**
 * The backstop's side in the object: of the events the event ledger still counts as owed here, which
 * to enqueue again (overdue by more than the grace period, not under way, not re-sent within it), and
 * when to ask again. Remembers its own resends in memory, so that a ledger asking twice does not send twice.
 */
export class Backstop {
  /** When each delivery (by lease key) was last re-sent. */
  private readonly resentAt = new Map<string, number>();

  decide(input: OwedInput): OwedDecision {
    const { now, graceMs, leases } = input;
    for (const [key, at] of this.resentAt) if (at + graceMs <= now) this.resentAt.delete(key);
    const resend: DeliveryItem[] = [];
    const hold: DeliveryItem[] = [];
    const unsettled: string[] = [];
    const planned = new Set<string>();
    let nextCheckAt: number | null = null;
    const checkAt = (at: number) => {
      nextCheckAt = nextCheckAt === null ? at : Math.min(nextCheckAt, at);
    };
    const resendOrWait = (item: DeliveryItem, dueAt: number) => {
      const key = leaseKeyOf(item);
      if (planned.has(key)) return;
      const leaseExpiry = leases.expiryOf(key);
      const resent = this.resentAt.get(key);
      if (leaseExpiry !== null) checkAt(leaseExpiry);
      else if (resent !== undefined && now < resent + graceMs) checkAt(resent + graceMs); // resent lately: give it its grace too
      else if (now <= dueAt + graceMs) checkAt(dueAt + graceMs);
      else {
        planned.add(key);
        this.resentAt.set(key, now);
        resend.push(item);
        checkAt(now + graceMs);
      }
    };

    for (const { event, row } of input.events) {
      if (row && row.status !== "pending" && row.status !== "retrying") continue; // settled: delivered, failed or held
      const fresh: DeliveryItem = { id: event.id, round: 0, attempt: 1, events: [{ id: event.id, code: event.code }], acceptedAt: event.acceptedAt };
      if (!row && input.disabled && leases.expiryOf(event.id) === null) {
        hold.push(fresh);
        continue;
      }
      unsettled.push(event.id);
      if (row) resendOrWait(nextItemOf(row), row.nextAttemptAt);
      else if (leases.expiryOf(event.id) !== null) checkAt(leases.expiryOf(event.id)!);
      else resendOrWait(fresh, Number.NEGATIVE_INFINITY); // accepted and never attempted: the ledger asks only once it is overdue
    }
    return { resend, hold, unsettled, nextCheckAt };
  }
}
