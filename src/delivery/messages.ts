import { withoutBodies, type DeliveryItem } from "../domain/delivery";
import { faults } from "../faults";

/**
 * What travels on the deliveries queue. A delivery message names one subscription and the deliveries
 * it owes, each with its events' bodies when they fit (the consumer POSTs straight from the message),
 * else by reference to the event ledger, where each body is stored once.
 */
export interface DeliveryMessage {
  readonly type: "delivery";
  readonly subscriptionId: string;
  readonly deliveries: readonly DeliveryItem[];
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
  | {
      readonly type: "delivery.failed";
      readonly subscriptionId: string;
      readonly deliveryId: string;
      readonly eventIds: readonly string[];
      readonly attempts: number;
    }
  | { readonly type: "subscription.recovered"; readonly subscriptionId: string; readonly failuresBefore: number };

export interface OpsMessage {
  readonly type: "ops";
  /** Unique per alert: the receiver's deduplication key (`webhook-id`). */
  readonly id: string;
  readonly at: string;
  readonly event: OpsEvent;
}

export type QueueMessage = DeliveryMessage | OpsMessage;

/** A queue message may be 128 KB; this leaves room for the envelope and JSON escaping estimates. */
const MESSAGE_BYTES = 100 * 1024;
/** `sendBatch` takes at most 100 messages and 256 KB per call. */
const SEND_BATCH_LIMIT = 100;
const SEND_BATCH_BYTES = 200 * 1024;

/**
 * An upper bound of the bytes `text` takes as a JSON string in UTF-8, without serialising it: quotes
 * and backslashes are escaped, control characters take up to six bytes, others up to three.
 */
export function jsonStringBytes(text: string): number {
  let bytes = text.length + 2;
  for (let index = 0; index < text.length; index++) {
    const unit = text.charCodeAt(index);
    if (unit === 0x22 || unit === 0x5c) bytes += 1;
    else if (unit < 0x20) bytes += 5;
    else if (unit > 0x7f) bytes += 2;
  }
  return bytes;
}

/** An upper bound of the UTF-8 length of `text` (a UTF-16 unit takes at most three bytes). */
function utf8Bytes(text: string): number {
  let bytes = text.length;
  for (let index = 0; index < text.length; index++) if (text.charCodeAt(index) > 0x7f) bytes += 2;
  return bytes;
}

/** Room for an item's fields and punctuation besides its ids, codes and bodies. */
const ITEM_OVERHEAD_BYTES = 64;
const EVENT_OVERHEAD_BYTES = 32;

function sizeOfItem(item: DeliveryItem): number {
  let bytes = ITEM_OVERHEAD_BYTES + item.id.length;
  for (const event of item.events)
    bytes += EVENT_OVERHEAD_BYTES + jsonStringBytes(event.id) + jsonStringBytes(event.code) + (event.body === undefined ? 0 : jsonStringBytes(event.body));
  return bytes;
}

/**
 * The messages that carry these deliveries to a subscription, each sent after `delaySeconds`: as few
 * as fit within the message size, bodies carried where they fit, by reference where an item alone
 * would not fit.
 */
export function deliveryMessages(
  subscriptionId: string,
  items: readonly DeliveryItem[],
  delaySeconds = 0,
): MessageSendRequest<DeliveryMessage>[] {
  const messages: MessageSendRequest<DeliveryMessage>[] = [];
  let group: DeliveryItem[] = [];
  let bytes = 0;
  const flush = () => {
    if (group.length > 0) messages.push({ body: { type: "delivery", subscriptionId, deliveries: group }, delaySeconds });
    group = [];
    bytes = 0;
  };
  for (const original of items) {
    let item = original;
    let size = sizeOfItem(item);
    if (size > MESSAGE_BYTES) {
      item = withoutBodies(item);
      size = sizeOfItem(item);
    }
    if (bytes + size > MESSAGE_BYTES) flush();
    group.push(item);
    bytes += size;
  }
  flush();
  return messages;
}

/** Splits messages, in order, into as few `sendBatch` calls as its limits allow. */
export function sendBatchesOf<M>(messages: readonly MessageSendRequest<M>[]): MessageSendRequest<M>[][] {
  const batches: MessageSendRequest<M>[][] = [];
  let batch: MessageSendRequest<M>[] = [];
  let bytes = 0;
  for (const message of messages) {
    const size = utf8Bytes(JSON.stringify(message.body));
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
  faults.check("queue");
  await Promise.all(sendBatchesOf(messages).map((batch) => queue.sendBatch(batch)));
}
