/** What travels on the deliveries queue. Bodies stay in the subscription's Durable Object; messages only point at them. */

export interface DeliveryMessage {
  readonly type: "delivery";
  readonly subscriptionId: string;
  readonly eventId: string;
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

export function deliveryMessage(subscriptionId: string, eventId: string): DeliveryMessage {
  return { type: "delivery", subscriptionId, eventId };
}

/** `sendBatch` takes at most 100 messages per call. */
export const SEND_BATCH_LIMIT = 100;

export async function sendAll(queue: Queue<QueueMessage>, messages: MessageSendRequest<QueueMessage>[]): Promise<void> {
  const sends: Promise<unknown>[] = [];
  for (let start = 0; start < messages.length; start += SEND_BATCH_LIMIT)
    sends.push(queue.sendBatch(messages.slice(start, start + SEND_BATCH_LIMIT)));
  await Promise.all(sends);
}
