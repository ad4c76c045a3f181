import type { QueueMessage } from "./delivery/messages";
import type { CatalogObject } from "./durable/catalog-object";
import type { EventLedger } from "./durable/event-ledger";
import type { SubscriptionDirectory } from "./durable/subscription-directory";
import type { SubscriptionObject } from "./durable/subscription-object";

export interface Env {
  readonly DELIVERIES: Queue<QueueMessage>;
  readonly SUBSCRIPTIONS: DurableObjectNamespace<SubscriptionObject>;
  readonly DIRECTORY: DurableObjectNamespace<SubscriptionDirectory>;
  readonly EVENTS: DurableObjectNamespace<EventLedger>;
  readonly CATALOG: DurableObjectNamespace<CatalogObject>;
  readonly SIGN_IN_LIMITER: RateLimit;

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
  readonly QUILTT_ENVIRONMENT?: string;
}

export function subscriptionStub(env: Env, subscriptionId: string): DurableObjectStub<SubscriptionObject> {
  return env.SUBSCRIPTIONS.get(env.SUBSCRIPTIONS.idFromName(subscriptionId));
}

/** The operator's event codes: one well-known object (ingest reads it through a short cache, see api/catalog.ts). */
export function catalogStub(env: Env): DurableObjectStub<CatalogObject> {
  return env.CATALOG.get(env.CATALOG.idFromName("catalog"));
}

export function directoryStub(env: Env): DurableObjectStub<SubscriptionDirectory> {
  return env.DIRECTORY.get(env.DIRECTORY.idFromName("directory"));
}

/** Events are spread over this many ledger objects by their key, so no one object sees every ingest. */
export const LEDGER_SHARDS = 16;

/** A uuid by its first byte (random already); any other id (Quiltt's `evt_...` share a prefix) by a hash of it all. */
export function ledgerShardOf(key: string): number {
  if (/^[0-9a-f]{8}-/.test(key)) return parseInt(key.slice(0, 2), 16) % LEDGER_SHARDS;
  let hash = 0;
  for (let index = 0; index < key.length; index++) hash = (Math.imul(hash, 31) + key.charCodeAt(index)) >>> 0;
  return hash % LEDGER_SHARDS;
}

export function ledgerStub(env: Env, shard: number): DurableObjectStub<EventLedger> {
  return env.EVENTS.get(env.EVENTS.idFromName(`events-${shard}`));
}
