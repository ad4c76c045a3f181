import type { QueueMessage } from "./delivery/messages";
import type { EventLedger } from "./durable/event-ledger";
import type { SessionGate } from "./durable/session-gate";
import type { SubscriptionDirectory } from "./durable/subscription-directory";
import type { SubscriptionObject } from "./durable/subscription-object";

export interface Env {
  readonly DELIVERIES: Queue<QueueMessage>;
  readonly SUBSCRIPTIONS: DurableObjectNamespace<SubscriptionObject>;
  readonly DIRECTORY: DurableObjectNamespace<SubscriptionDirectory>;
  readonly EVENTS: DurableObjectNamespace<EventLedger>;
  readonly SESSIONS: DurableObjectNamespace<SessionGate>;
  readonly SIGN_IN_LIMITER: RateLimit;
  readonly API_AUTH_LIMITER: RateLimit;

  readonly API_TOKEN?: string;
  readonly INGEST_TOKEN?: string;
  readonly OPS_WEBHOOK_SECRET?: string;

  readonly DELIVERY_TIMEOUT_MS?: string;
  readonly RETRY_DELAY_SECONDS?: string;
  readonly MAX_RETRIES?: string;
  readonly DISABLE_AFTER_FAILURES?: string;
  readonly REDELIVERY_GRACE_SECONDS?: string;
  readonly ALLOW_HTTP_TARGETS?: string;
  readonly ALLOW_PRIVATE_TARGETS?: string;
  readonly OPS_WEBHOOK_URL?: string;
  readonly MAX_SUBSCRIPTIONS?: string;
  readonly BODY_READ_TIMEOUT_MS?: string;
}

export function subscriptionStub(env: Env, subscriptionId: string): DurableObjectStub<SubscriptionObject> {
  return env.SUBSCRIPTIONS.get(env.SUBSCRIPTIONS.idFromName(subscriptionId));
}

export function directoryStub(env: Env): DurableObjectStub<SubscriptionDirectory> {
  return env.DIRECTORY.get(env.DIRECTORY.idFromName("directory"));
}

export function sessionGateStub(env: Env): DurableObjectStub<SessionGate> {
  return env.SESSIONS.get(env.SESSIONS.idFromName("sessions"));
}

/** Events are spread over this many ledger objects by the first byte of their uuid, so no one object sees every ingest. */
export const LEDGER_SHARDS = 16;

export function ledgerShardOf(uuid: string): number {
  return parseInt(uuid.slice(0, 2), 16) % LEDGER_SHARDS;
}

export function ledgerStub(env: Env, shard: number): DurableObjectStub<EventLedger> {
  return env.EVENTS.get(env.EVENTS.idFromName(`events-${shard}`));
}
