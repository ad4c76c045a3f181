import { shardOf } from "./domain/shard";
import type { QueueMessage } from "./delivery/messages";
import type { EventLedger } from "./durable/event-ledger";
import type { SubscriptionDirectory } from "./durable/subscription-directory";
import type { SubscriptionObject } from "./durable/subscription-object";

export interface Env {
  readonly DELIVERIES: Queue<QueueMessage>;
  readonly SUBSCRIPTIONS: DurableObjectNamespace<SubscriptionObject>;
  readonly DIRECTORY: DurableObjectNamespace<SubscriptionDirectory>;
  readonly EVENTS: DurableObjectNamespace<EventLedger>;
  readonly SIGN_IN_LIMITER: RateLimit;

  readonly API_TOKEN?: string;
  readonly INGEST_TOKEN?: string;
  readonly OPS_WEBHOOK_SECRET?: string;

  readonly DELIVERY_TIMEOUT_MS?: string;
  readonly RETRY_DELAY_SECONDS?: string;
  readonly MAX_RETRIES?: string;
  readonly DISABLE_AFTER_FAILURES?: string;
  readonly REDELIVERY_GRACE_SECONDS?: string;
  readonly EVENT_RETENTION_DAYS?: string;
  readonly CONNECTIONS_PER_INVOCATION?: string;
  readonly ALLOW_HTTP_TARGETS?: string;
  readonly ALLOW_PRIVATE_TARGETS?: string;
  readonly OPS_WEBHOOK_URL?: string;
  /** Test-only; see src/faults.ts. */
  readonly FAULT_INJECTION?: string;
}

export function subscriptionStub(env: Env, subscriptionId: string): DurableObjectStub<SubscriptionObject> {
  return env.SUBSCRIPTIONS.get(env.SUBSCRIPTIONS.idFromName(subscriptionId));
}

export function directoryStub(env: Env): DurableObjectStub<SubscriptionDirectory> {
  return env.DIRECTORY.get(env.DIRECTORY.idFromName("directory"));
}

/** Events are spread over this many ledger objects by a hash of their id, so no one object sees every ingest. */
export const LEDGER_SHARDS = 32;

export function ledgerShardOf(eventId: string): number {
  return shardOf(eventId, LEDGER_SHARDS);
}

export function ledgerStub(env: Env, shard: number): DurableObjectStub<EventLedger> {
  return env.EVENTS.get(env.EVENTS.idFromName(`ledger-${shard}`));
}
