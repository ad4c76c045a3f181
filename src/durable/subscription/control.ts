import type { AttemptResult } from "../../delivery/attempt";
import type { OpsEvent } from "../../delivery/messages";
import type { DeliveryItem, PayloadFormat } from "../../domain/delivery";

/**
 * What the queue consumer and the backstop ask of a subscription's object (its control plane), and
 * what it answers. The object never POSTs and never stores an event body.
 */

/** Where and how to POST, as the gate hands it to the consumer. */
export interface DeliveryTarget {
  readonly url: string;
  readonly authorization: string | null;
  /** The current secret first, then rotated-out ones still valid. */
  readonly secrets: readonly string[];
  readonly format: PayloadFormat;
}

/** `begin`: the deliveries a consumer holds for this subscription (bodies left out). */
export interface GateRequest {
  /** How long the consumer may take to report back; its lease on the slots it is given expires then. */
  readonly leaseMs: number;
  /** The POSTs the consumer can have open at once (its connections): a lease takes no more of the budget than it can use. */
  readonly connections: number;
  readonly deliveries: readonly DeliveryItem[];
}

/**
 * `begin`'s answer. `target` null: the subscription is gone, drop everything. `send`: POST these now,
 * at most `slots` at a time (in the Quiltt format, fresh events are merged into batches here). `wait`: no slot is free (the
 * concurrency budget or the probe while failing); send them again after a short delay. Everything
 * else asked about was skipped (already delivered, under way elsewhere, superseded) or recorded as held.
 */
export interface GatePlan {
  readonly target: DeliveryTarget | null;
  readonly leaseId: string;
  /** POSTs of `send` the consumer may have in flight at once: its share of the subscription's concurrency budget. */
  readonly slots: number;
  /** Failed POSTs after which the subscription is disabled (when they are recorded): the consumer starts no POST past them. */
  readonly failuresBeforeDisable: number;
  readonly send: DeliveryItem[];
  readonly wait: DeliveryItem[];
}

/** One POST the consumer made under a lease, and how it ended. */
export interface FinishedAttempt {
  readonly item: DeliveryItem;
  readonly result: AttemptResult;
}

/** `finish`'s answer: what the consumer enqueues after recording. */
export interface FinishResult {
  readonly retries: { readonly item: DeliveryItem; readonly delaySeconds: number }[];
  readonly alerts: OpsEvent[];
}

/** `owed`'s answer to the backstop (event ledger): what to enqueue again, and when to look again. */
export interface OwedCheck {
  readonly resend: DeliveryItem[];
  /** The ids of the events asked about that are not settled yet (owed, under way, or just resent): the backstop asks again about these. */
  readonly unsettled: string[];
  /** The earliest time something asked about may need sending again, or null when all are settled. */
  readonly nextCheckAt: number | null;
}
