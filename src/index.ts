import { app } from "./api/app";
import { consumeBatch } from "./delivery/consumer";
import type { QueueMessage } from "./delivery/messages";
import type { Env } from "./env";

export { CatalogObject } from "./durable/catalog-object";
export { EventLedger } from "./durable/event-ledger";
export { SessionGate } from "./durable/session-gate";
export { SubscriptionDirectory } from "./durable/subscription-directory";
export { SubscriptionObject } from "./durable/subscription-object";

export default {
  fetch: app.fetch,
  queue: (batch, env) => consumeBatch(batch, env),
} satisfies ExportedHandler<Env, QueueMessage>;
