/** What travels on the deliveries queue. Bodies stay in the subscription's Durable Object; messages only point at them. */

/**
 * Deliveries owed to one subscription: a message per subscription per ingest request (or per retry
 * wave), not per delivery, since the subscription's object POSTs them all itself.
 */
export interface DeliveryMessage {
  readonly type: "delivery";
  readonly subscriptionId: string;
  readonly eventIds: readonly string[];
}

/** Operational alerts for the operator's own endpoint (OPS_WEBHOOK_URL). */
export type OpsEvent =
  | {
      readonly type: "subscription.disabled";
      readonly subscriptionId: string;
      readonly reason: "failures" | "gone";
      readonly lastStatus: number | null;
      readonly lastError: string | null;
      readonly consecutiveFailures: number;
    }
  | { readonly type: "delivery.failed"; readonly subscriptionId: string; readonly eventId: string; readonly attempts: number }
  | { readonly type: "subscription.recovered"; readonly subscriptionId: string; readonly failuresBefore: number };

export interface OpsMessage {
  readonly type: "ops";
  /** Unique per alert: the receiver's deduplication key (`webhook-id`). */
  readonly id: string;
  readonly at: string;
  readonly event: OpsEvent;
}

export type QueueMessage = DeliveryMessage | OpsMessage;

/**
 * Event ids per message: 1,000 (an ingest request's limit) uuids are about 39 KB, within one 64 KB
 * queue operation and the 128 KB message limit. Quiltt's ids run to 255 characters, so a message
 * also stops at EVENT_ID_BYTES_PER_MESSAGE of them.
 */
const EVENT_IDS_PER_MESSAGE = 1000;
const EVENT_ID_BYTES_PER_MESSAGE = 60 * 1024;

/** The messages that point a subscription at these deliveries, each sent after `delaySeconds`. */
export function deliveryMessages(
  subscriptionId: string,
  eventIds: readonly string[],
  delaySeconds = 0,
): MessageSendRequest<DeliveryMessage>[] {
  const messages: MessageSendRequest<DeliveryMessage>[] = [];
  let group: string[] = [];
  let bytes = 0;
  for (const eventId of eventIds) {
    const size = new TextEncoder().encode(JSON.stringify(eventId)).byteLength + 1;
    if (group.length === EVENT_IDS_PER_MESSAGE || (group.length > 0 && bytes + size > EVENT_ID_BYTES_PER_MESSAGE)) {
      messages.push({ body: { type: "delivery", subscriptionId, eventIds: group }, delaySeconds });
      group = [];
      bytes = 0;
    }
    group.push(eventId);
    bytes += size;
  }
  if (group.length > 0) messages.push({ body: { type: "delivery", subscriptionId, eventIds: group }, delaySeconds });
  return messages;
}

/** `sendBatch` takes at most 100 messages and 256 KB per call; the size is estimated from the JSON, with room to spare. */
const SEND_BATCH_LIMIT = 100;
const SEND_BATCH_BYTES = 200 * 1024;

/** Splits messages, in order, into as few `sendBatch` calls as its limits allow. */
export function sendBatchesOf<M>(messages: readonly MessageSendRequest<M>[]): MessageSendRequest<M>[][] {
  const batches: MessageSendRequest<M>[][] = [];
  let batch: MessageSendRequest<M>[] = [];
  let bytes = 0;
  for (const message of messages) {
    const size = JSON.stringify(message.body).length;
    if (batch.length === SEND_BATCH_LIMIT || (batch.length > 0 && bytes + size > SEND_BATCH_BYTES)) {
      batches.push(batch);
      batch = [];
      bytes = 0;
    }
    batch.push(message);
    bytes += size;
  }
  if (batch.length > 0) batches.push(batch);
  return batches;
}

/** Sends every message, all batches at once. */
export async function sendAll(queue: Queue<QueueMessage>, messages: readonly MessageSendRequest<QueueMessage>[]): Promise<void> {
  await Promise.all(sendBatchesOf(messages).map((batch) => queue.sendBatch(batch)));
}
