import { leaseKeyOf } from "../../domain/gate";
import type { DeliveryItem } from "../../domain/delivery";

/** The longest a consumer may hold slots without reporting back (a lost consumer holds them this long at most). */
const MAX_LEASE_MS = 15 * 60 * 1000;

interface Lease {
  readonly expiresAt: number;
  /** `leaseKeyOf` each delivery, and the ids of the events they carry. */
  readonly keys: readonly string[];
  /** The POSTs at once it may have: its share of the concurrency budget. */
  readonly slots: number;
}

/** What is under unexpired leases at one moment, as the gate and the backstop read it. */
export interface LeaseSnapshot {
  readonly leased: ReadonlySet<string>;
  /** Slots held: POSTs that may be in flight at once under them. */
  readonly inFlight: number;
  /** When the lease on this key (see `LeaseSnapshot.leased`) expires, if one holds it. */
  expiryOf(key: string): number | null;
}

/**
 * The subscription's concurrency budget across every consumer invocation: the slots (POSTs at once)
 * and deliveries handed out by `begin` and not yet reported by `finish`. In memory on purpose: it is no storage write per
 * delivery, and if this instance is lost its leases go with it, which frees their slots at once.
 */
export class Leases {
  private readonly leases = new Map<string, Lease>();

  grant(items: readonly DeliveryItem[], slots: number, now: number, leaseMs: number): string {
    const leaseId = `lease_${crypto.randomUUID()}`;
    if (items.length === 0 || slots === 0) return leaseId;
    const keys = items.flatMap((item) => [leaseKeyOf(item), ...item.events.map((event) => event.id)]);
    const expiresAt = now + Math.min(MAX_LEASE_MS, Math.max(1, leaseMs));
    this.leases.set(leaseId, { expiresAt, keys, slots });
    return leaseId;
  }

  release(leaseId: string): void {
    this.leases.delete(leaseId);
  }

  /** Forgets expired leases (a consumer that never reported back) and reads what the rest hold. */
  snapshot(now: number): LeaseSnapshot {
    const expiry = new Map<string, number>();
    let inFlight = 0;
    for (const [leaseId, lease] of this.leases) {
      if (lease.expiresAt <= now) {
        this.leases.delete(leaseId);
        continue;
      }
      inFlight += lease.slots;
      for (const key of lease.keys) expiry.set(key, Math.max(expiry.get(key) ?? 0, lease.expiresAt));
    }
    return { leased: new Set(expiry.keys()), inFlight, expiryOf: (key) => expiry.get(key) ?? null };
  }
}
