import { shardOf } from "./domain/shard";
import type { CatalogObject } from "./durable/catalog-object";
import type { EventLedger } from "./durable/event-ledger";
import type { SessionGate } from "./durable/session-gate";
import type { SubscriptionDirectory } from "./durable/subscription-directory";
import type { SubscriptionObject } from "./durable/subscription-object";

// Bindings and [vars] are typed by `wrangler types` from wrangler.toml (worker-configuration.d.ts, checked by
// `npm test`). Secrets and the optional vars have no entry in wrangler.toml, so they are declared here.
declare global {
  namespace Cloudflare {
    interface Env {
      readonly API_TOKEN?: string;
      readonly INGEST_TOKEN?: string;
      readonly OPS_WEBHOOK_SECRET?: string;
      readonly OPS_WEBHOOK_URL?: string;
      /** Test-only; see src/faults.ts. */
      readonly FAULT_INJECTION?: string;
    }
  }
}

export type Env = Cloudflare.Env;

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

export function sessionGateStub(env: Env): DurableObjectStub<SessionGate> {
  return env.SESSIONS.get(env.SESSIONS.idFromName("sessions"));
}

/** Events are spread over this many ledger objects by a hash of their id (uuid or not), so no one object sees every ingest. */
export const LEDGER_SHARDS = 32;

export function ledgerShardOf(eventId: string): number {
  return shardOf(eventId, LEDGER_SHARDS);
}

export function ledgerStub(env: Env, shard: number): DurableObjectStub<EventLedger> {
  return env.EVENTS.get(env.EVENTS.idFromName(`ledger-${shard}`));
}
