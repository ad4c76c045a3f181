import { bytesToBase64Url } from "./base64";
import type { DeliveryItem, DeliveryStatus, EventRef, PayloadFormat } from "./delivery";

/**
 * The gate a consumer passes before it POSTs: which of the deliveries it holds go now and with how
 * many POSTs at once (its share of the subscription's concurrency budget), which wait for a share,
 * which are held (the subscription is disabled), and which are skipped (done, superseded, a stale
 * duplicate, or under way elsewhere). Pure: the subscription's object reads the state and writes what
 * follows.
 */

/**
 * Items planned per `begin`; the rest wait (they come back in a later message). A full consumer batch
 * (25 messages of up to ~120 deliveries) fits in one plan: a remainder sent back round the queue waits
 * for the next batch, up to `max_batch_timeout`, which left a lone busy subscriber idle a quarter of the time.
 */
export const MAX_ITEMS_PER_GATE = 3000;

export interface GateSubscription {
  readonly disabled: boolean;
  /** Its last attempt failed (consecutive failures > 0): one probe in flight at most. */
  readonly failing: boolean;
  readonly maxConcurrency: number;
  readonly format: PayloadFormat;
  readonly maxEventsPerDelivery: number;
}

/** What the gate needs of a delivery's row. */
export interface DeliveryState {
  readonly round: number;
  readonly status: DeliveryStatus;
  readonly attempts: number;
}

export interface GateInput {
  readonly subscription: GateSubscription;
  readonly items: readonly DeliveryItem[];
  /** The row of each item that has one, by item id (a fresh item's row may be the batch that carried it). */
  readonly rows: ReadonlyMap<string, DeliveryState>;
  /** `leaseKeyOf` each delivery under an unexpired lease, and the ids of the events they carry. */
  readonly leased: ReadonlySet<string>;
  /** Slots (POSTs at once) held by unexpired leases. */
  readonly inFlight: number;
  /** The most slots the asking consumer can use (its connections): the rest of the budget stays for others. */
  readonly connections: number;
}

export interface GateDecision {
  /** POSTs the consumer may have in flight at once for `send`: at least 1 when anything is sent. */
  readonly slots: number;
  readonly send: DeliveryItem[];
  readonly wait: DeliveryItem[];
  /** To record as held: the subscription is disabled. */
  readonly hold: DeliveryItem[];
}

export function leaseKeyOf(item: Pick<DeliveryItem, "id" | "round">): string {
  return `${item.id}@${item.round}`;
}

/** The `webhook-id` of a Quiltt batch: the same events in the same order always make the same id. */
export async function batchIdOf(eventIds: readonly string[]): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(eventIds.join(","))));
  return `msg_${bytesToBase64Url(digest)}`;
}

/** As ingest enqueues it: one event, never attempted, never started over. */
export function isFresh(item: DeliveryItem): boolean {
  return item.round === 0 && item.attempt === 1 && item.events.length === 1 && item.events[0]?.id === item.id;
}

/** Done with, superseded by a later round, or a duplicate of an attempt already made. */
function isStale(row: DeliveryState, item: DeliveryItem): boolean {
  if (row.round !== item.round) return row.round > item.round;
  return row.status === "delivered" || row.status === "failed" || row.status === "held" || row.attempts >= item.attempt;
}

export async function gate(input: GateInput): Promise<GateDecision> {
  const { subscription, rows, leased } = input;
  const quiltt = subscription.format === "quiltt";
  const seen = new Set<string>();
  const candidates: DeliveryItem[] = [];
  const hold: DeliveryItem[] = [];
  for (const item of input.items.slice(0, MAX_ITEMS_PER_GATE)) {
    const key = leaseKeyOf(item);
    if (seen.has(key)) continue;
    seen.add(key);
    const row = rows.get(item.id);
    if (row && isStale(row, item)) continue;
    if (leased.has(key) || (quiltt && isFresh(item) && leased.has(item.id))) continue;
    if (subscription.disabled) hold.push(item);
    else candidates.push(item);
  }
  const planned = quiltt ? await mergeFresh(candidates, rows, subscription.maxEventsPerDelivery) : candidates;
  // Held in batches too, so that a replay sends what was owed together as it would have gone.
  const held = quiltt ? await mergeFresh(hold, rows, subscription.maxEventsPerDelivery) : hold;
  const overflow = input.items.slice(MAX_ITEMS_PER_GATE);
  // While failing, one probe at a time; else what the budget has left, and no more than there is to send.
  const limit = subscription.failing ? 1 : subscription.maxConcurrency;
  const slots = Math.min(planned.length, input.connections, Math.max(0, limit - input.inFlight));
  if (slots === 0) return { slots: 0, send: [], wait: [...planned, ...overflow], hold: held };
  return { slots, send: planned, wait: overflow, hold: held };
}

/**
 * Quiltt: fresh events without a row go out together, in order, up to `maxEvents` a POST, each batch
 * where its first event stood; everything else (retries, restarts, waiting batches) goes as it is.
 */
async function mergeFresh(items: readonly DeliveryItem[], rows: ReadonlyMap<string, DeliveryState>, maxEvents: number): Promise<DeliveryItem[]> {
  const planned: (DeliveryItem | { events: EventRef[]; acceptedAt?: number })[] = [];
  let open: { events: EventRef[]; acceptedAt?: number } | null = null;
  for (const item of items) {
    if (!isFresh(item) || rows.has(item.id)) {
      planned.push(item);
      continue;
    }
    if (!open || open.events.length >= maxEvents) {
      open = { events: [], acceptedAt: item.acceptedAt };
      planned.push(open);
    }
    open.events.push(...item.events);
  }
  return Promise.all(
    planned.map(async (entry) =>
      "id" in entry ? entry : { id: await batchIdOf(entry.events.map((event) => event.id)), round: 0, attempt: 1, ...entry },
    ),
  );
}
