import { configOf, type Config } from "../config";
import { subscriptionStub, type Env } from "../env";
import { attemptDelivery } from "./attempt";
import type { DeliveryMessage, OpsMessage, QueueMessage } from "./messages";

/**
 * The queue consumer. Delivery messages are grouped by subscription and handed to that
 * subscription's object in one call, which POSTs in the background: a batch is done in
 * milliseconds whatever its endpoints do. Operational alerts are POSTed from here.
 */
export async function consumeBatch(batch: MessageBatch<QueueMessage>, env: Env): Promise<void> {
  const config = configOf(env);
  const groups = new Map<string, Message<DeliveryMessage>[]>();
  const work: Promise<void>[] = [];
  for (const message of batch.messages) {
    const body = message.body;
    if (body.type === "ops") {
      work.push(deliverOpsAlert(message as Message<OpsMessage>, env, config));
      continue;
    }
    const group = groups.get(body.subscriptionId) ?? [];
    group.push(message as Message<DeliveryMessage>);
    groups.set(body.subscriptionId, group);
  }
  for (const [subscriptionId, messages] of groups) work.push(deliverGroup(subscriptionId, messages, env, config));
  await Promise.all(work);
}

async function deliverGroup(subscriptionId: string, messages: Message<DeliveryMessage>[], env: Env, config: Config): Promise<void> {
  try {
    await subscriptionStub(env, subscriptionId).dispatch([...new Set(messages.flatMap((message) => message.body.eventIds))]);
    for (const message of messages) message.ack();
  } catch (error) {
    // A fault of ours (the object unreachable), not the endpoint's: let the queue try again, then dead-letter.
    console.error(`dispatching to subscription ${subscriptionId} failed: ${String(error)}`);
    for (const message of messages) message.retry({ delaySeconds: config.retryDelaySeconds });
  }
}

/** The operator configured OPS_WEBHOOK_URL themselves, so it may point anywhere. */
const OPERATOR_TARGET_POLICY = { allowHttp: true, allowPrivate: true };

async function deliverOpsAlert(message: Message<OpsMessage>, env: Env, config: Config): Promise<void> {
  if (!config.opsWebhookUrl) return message.ack();
  const { id, at, event } = message.body;
  const report = await attemptDelivery({
    target: { url: config.opsWebhookUrl, authorization: null, secrets: env.OPS_WEBHOOK_SECRET ? [env.OPS_WEBHOOK_SECRET] : [] },
    messageId: id,
    body: JSON.stringify({ type: event.type, id, at, data: event }),
    attempt: message.attempts,
    timeoutMs: config.deliveryTimeoutMs,
    policy: OPERATOR_TARGET_POLICY,
  });
  if (report.outcome === "success") message.ack();
  else message.retry({ delaySeconds: config.retryDelaySeconds });
}
