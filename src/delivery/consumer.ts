import { configOf, type Config } from "../config";
import { groupBy } from "../domain/collections";
import { withoutBodies, type DeliveryItem, type EventRef } from "../domain/delivery";
import { MAX_ITEMS_PER_GATE } from "../domain/gate";
import type { DeliveryTarget, FinishedAttempt, GatePlan } from "../durable/subscription/control";
import { ledgerShardOf, ledgerStub, subscriptionStub, type Env } from "../env";
import { attemptDelivery } from "./attempt";
import { deliveryMessages, sendAll, type DeliveryMessage, type OpsMessage, type QueueMessage } from "./messages";
import { payloadOf, type LoadedEvent } from "./payload";
import { Slots } from "./slots";

/** Deliveries the gate had no slot for come back this soon (nothing was granted) or at once (some were). */
const WAIT_SECONDS = 1;
/** How long (in delivery timeouts) one subscription may keep starting POSTs in one invocation. */
const TIMEOUTS_PER_SUBSCRIPTION = 2;
/** Room in a lease for the calls around the POSTs (loading bodies, recording). */
const LEASE_MARGIN_MS = 10_000;

/**
 * The queue consumer: it delivers. Per subscription in the batch it asks the subscription's object
 * for a plan (one call), POSTs what it may with the invocation's connections, reports the outcomes
 * (a second call), enqueues what follows (retries, deliveries that waited for a slot, alerts), and
 * only then acks. A fault of Doorbell's own (an object or the ledger unreachable, a send refused)
 * leaves the messages to the queue's retries and, past them, to the backstop; it never counts
 * against an endpoint.
 */
export async function consumeBatch(batch: MessageBatch<QueueMessage>, env: Env): Promise<void> {
  const config = configOf(env);
  const slots = new Slots(config.connectionsPerInvocation);
  const deliveries: Received[] = [];
  const work: Promise<void>[] = [];
  for (const message of batch.messages) {
    // Read once here and handed on with its message, rather than read again at each use.
    const body = message.body;
    if (body.type === "ops") work.push(deliverOpsAlert(message, body, env, config, slots));
    else deliveries.push({ message, body });
  }
  // A subscription starts POSTs for TIMEOUTS_PER_SUBSCRIPTION timeouts, and the last one ends within one more.
  const leaseMs = (TIMEOUTS_PER_SUBSCRIPTION + 1) * config.deliveryTimeoutMs + LEASE_MARGIN_MS;
  for (const [subscriptionId, received] of groupBy(deliveries, ({ body }) => body.subscriptionId))
    work.push(deliverToSubscription(subscriptionId, received, { env, config, slots, leaseMs }));
  await Promise.all(work);
}

/** A delivery message and its body, read once. */
interface Received {
  readonly message: Message<QueueMessage>;
  readonly body: DeliveryMessage;
}

interface Invocation {
  readonly env: Env;
  readonly config: Config;
  readonly slots: Slots;
  readonly leaseMs: number;
}

async function deliverToSubscription(subscriptionId: string, received: readonly Received[], invocation: Invocation): Promise<void> {
  const { env, config } = invocation;
  const messages = received.map(({ message }) => message);
  const items = distinct(received.flatMap(({ body }) => body.deliveries));
  const bodies = new Map(items.flatMap((item) => item.events.flatMap((event) => (event.body === undefined ? [] : [[event.id, event.body] as const]))));
  const subscription = subscriptionStub(env, subscriptionId);
  /** A lease granted and not yet reported back on: released if this fails before any POST is made. */
  let unusedLease: string | null = null;
  try {
    // What one plan can hold is asked about; the rest waits its turn without a round trip through the object.
    const overflow = items.slice(MAX_ITEMS_PER_GATE);
    const plan = await subscription.begin({
      leaseMs: invocation.leaseMs, connections: config.connectionsPerInvocation, deliveries: items.slice(0, MAX_ITEMS_PER_GATE).map(withoutBodies),
    });
    if (plan.target) {
      unusedLease = plan.leaseId;
      await loadMissingBodies(env, plan.send, bodies);
      unusedLease = null;
      const { attempted, unsent, expired } = await postAll({ ...plan, target: plan.target }, bodies, invocation);
      const { retries, alerts } = await subscription.finish(plan.leaseId, attempted, expired);
      const waitSeconds = plan.send.length > 0 ? 0 : WAIT_SECONDS;
      const followUps: MessageSendRequest<QueueMessage>[] = [
        // Retries due together share messages: a failing wave is a message or two, not one per delivery.
        ...[...groupBy(retries, (retry) => retry.delaySeconds)].flatMap(([delaySeconds, due]) =>
          deliveryMessages(subscriptionId, due.map(({ item }) => ({ ...item, events: withBodies(item, bodies) })), delaySeconds)),
        // By reference: a delivery that waits its turn is not copied again and again with its body.
        ...deliveryMessages(subscriptionId, [...plan.wait, ...unsent, ...overflow].map(withoutBodies), waitSeconds),
        ...opsMessages(alerts),
      ];
      if (followUps.length > 0) await sendAll(env.DELIVERIES, followUps);
    }
    for (const message of messages) message.ack();
  } catch (error) {
    console.error(`delivering to subscription ${subscriptionId} failed; the queue will try again`, error);
    // Otherwise the retried messages would find their own deliveries leased, and wait out the lease.
    if (unusedLease) await subscription.finish(unusedLease, []).catch((releaseError: unknown) => {
      console.error(`subscription ${subscriptionId}: releasing an unused lease failed; it expires by itself`, releaseError);
    });
    for (const message of messages) message.retry({ delaySeconds: WAIT_SECONDS });
  }
}

/** The delivery's events with their bodies, where known. */
function withBodies(item: DeliveryItem, bodies: ReadonlyMap<string, string>): EventRef[] {
  return item.events.map((event) => ({ ...event, body: bodies.get(event.id) }));
}

/** The same delivery can arrive twice (the queue is at-least-once, the backstop may resend): keep the first of each. */
function distinct(items: readonly DeliveryItem[]): DeliveryItem[] {
  const seen = new Set<string>();
  return items.filter((item) => {
    const key = `${item.id}/${item.round}/${item.attempt}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** Bodies that did not ride on the messages, from the ledger: one call per shard. */
async function loadMissingBodies(env: Env, items: readonly DeliveryItem[], bodies: Map<string, string>): Promise<void> {
  const missing = [...new Set(items.flatMap((item) => item.events.map((event) => event.id)))].filter((id) => !bodies.has(id));
  const found = await Promise.all(
    [...groupBy(missing, (id) => ledgerShardOf(id))].map(([shard, ids]) => ledgerStub(env, shard).bodies(ids)),
  );
  for (const shardBodies of found) for (const [id, body] of Object.entries(shardBodies)) bodies.set(id, body);
}

/**
 * POSTs the plan's deliveries, at most the lease's share of the subscription's budget at once, each on
 * one of the invocation's connections. What is not started goes back to the queue (unsent): after a
 * failure, unless the gate gave one slot (a probe at a time while the endpoint fails, which goes on one
 * POST after another); once the failures would disable the subscription, or it answered 410; and once
 * the subscription has had its time in this invocation (a slow endpoint must not keep a batch, and
 * everything queued behind it, waiting).
 */
async function postAll(
  { target, send: items, slots: shareSlots, failuresBeforeDisable }: GatePlan & { target: DeliveryTarget },
  bodies: ReadonlyMap<string, string>,
  { config, slots }: Invocation,
): Promise<{ attempted: FinishedAttempt[]; unsent: DeliveryItem[]; expired: DeliveryItem[] }> {
  const share = new Slots(shareSlots);
  let failures = 0;
  let gone = false;
  const stopStartingAt = Date.now() + config.deliveryTimeoutMs * TIMEOUTS_PER_SUBSCRIPTION;
  const mayStart = () =>
    !gone && failures < failuresBeforeDisable && (failures === 0 || shareSlots === 1) && Date.now() < stopStartingAt;
  const attempted: FinishedAttempt[] = [];
  const unsent: DeliveryItem[] = [];
  const expired: DeliveryItem[] = [];
  await Promise.all(
    items.map((item) =>
      share.run(() => slots.run(async () => {
        if (!mayStart()) return void unsent.push(item);
        const events = withBodies(item, bodies);
        if (!events.every((event): event is LoadedEvent => event.body !== undefined)) {
          // Past its retention, or withdrawn after a 503: nothing can be sent, and that is nobody's failure (finish decides which).
          console.error(`delivery ${item.id}: an event body is no longer kept; it cannot be sent`);
          return void expired.push(withoutBodies(item));
        }
        const result = await attemptDelivery({
          target, messageId: item.id, body: payloadOf(target.format, { id: item.id, events }, config.quilttEnvironment),
          timeoutMs: config.deliveryTimeoutMs, policy: config.targetPolicy,
        });
        if (result.outcome !== "success") failures += 1;
        if (result.status === 410) gone = true;
        attempted.push({ item: withoutBodies(item), result });
      })),
    ),
  );
  return { attempted, unsent, expired };
}

/** `finish` returns alerts only when OPS_WEBHOOK_URL is set. */
function opsMessages(alerts: readonly OpsMessage["event"][]): MessageSendRequest<QueueMessage>[] {
  if (alerts.length === 0) return [];
  const at = new Date().toISOString();
  return alerts.map((event) => ({ body: { type: "ops", id: `ops_${crypto.randomUUID()}`, at, event } }));
}

/** The operator configured OPS_WEBHOOK_URL themselves, so it may point anywhere. */
const OPERATOR_TARGET_POLICY = { allowHttp: true, allowPrivate: true };

async function deliverOpsAlert(message: Message<QueueMessage>, { id, at, event }: OpsMessage, env: Env, config: Config, slots: Slots): Promise<void> {
  if (!config.opsWebhookUrl) return message.ack();
  const url = config.opsWebhookUrl;
  const result = await slots.run(() =>
    attemptDelivery({
      target: { url, authorization: null, secrets: env.OPS_WEBHOOK_SECRET ? [env.OPS_WEBHOOK_SECRET] : [] },
      messageId: id,
      body: JSON.stringify({ type: event.type, id, at, data: event }),
      timeoutMs: config.deliveryTimeoutMs,
      policy: OPERATOR_TARGET_POLICY,
    }),
  );
  if (result.outcome === "success") message.ack();
  else message.retry({ delaySeconds: config.retryDelaySeconds });
}
