import { configOf } from "../config";
import { allowedMethodsOf } from "./allowed-methods";
import { ApiError, errorResponse, notFound } from "./errors";
import { requireToken } from "./auth";
import { eventTypes } from "./event-types";
import { events } from "./events";
import { docs } from "./docs";
import { faultRoutes } from "./faults";
import { createRouter } from "./router";
import { dashboard } from "../dashboard";
import { subscriptions } from "./subscriptions";
import packageJson from "../../package.json";
import { z } from "@hono/zod-openapi";
import { Event, QuilttEvent } from "../domain/event";
import { WebhookPayload } from "../domain/quiltt-payload";

export const app = createRouter();

app.onError(errorResponse);
app.notFound((c) => {
  const allowed = c.req.path.startsWith("/v1/") ? allowedMethods(c.req.path) : [];
  if (allowed.length === 0) throw notFound("route");
  throw new ApiError(405, "method_not_allowed", `${c.req.method} is not allowed here; allowed: ${allowed.join(", ")}`, { headers: { allow: allowed.join(", ") } });
});

// A bad [vars] value fails every request loudly (500 naming it), not just the routes that happen to read it.
app.use("*", async (c, next) => {
  configOf(c.env);
  await next();
});

app.get("/health", (c) => c.json({ ok: true }));

// Every API answer is private, and some carry a signing secret (create, GET .../secret, rotate): no cache keeps any.
app.use("/v1/*", async (c, next) => {
  await next();
  c.header("cache-control", "no-store");
});
app.use("/v1/*", requireToken());
app.route("/v1/webhooks/subscriptions", subscriptions);
app.route("/v1/events", events);
app.route("/v1/event-types", eventTypes);
app.route("/", docs);
app.route("/_faults", faultRoutes);
app.route("/", dashboard);

app.openAPIRegistry.registerComponent("securitySchemes", "bearerAuth", {
  type: "http",
  scheme: "bearer",
  description: "`API_TOKEN` for every route; `INGEST_TOKEN` for `POST /v1/events` only.",
});

// What receivers get: documented as OpenAPI 3.1 webhooks, one per payload format.
const DELIVERY_HEADERS =
  "Standard Webhooks headers `webhook-id` (stable across retries), `webhook-timestamp` and `webhook-signature`, and the subscription's `authorization`.";
const receiverAnswer = { 200: { description: "Any 2xx within the timeout is a success; anything else is retried" } };
app.openAPIRegistry.registerWebhook({
  method: "post", path: "eventFormatDelivery", tags: ["Deliveries"], summary: 'A delivery to a `payloadFormat: "event"` subscription',
  description: `One event per POST, exactly as ingested (Quable- or Quiltt-shaped). ${DELIVERY_HEADERS}`,
  request: { body: { required: true, content: { "application/json": { schema: z.union([Event, QuilttEvent]) } } } },
  responses: receiverAnswer,
});
app.openAPIRegistry.registerWebhook({
  method: "post", path: "quilttFormatDelivery", tags: ["Deliveries"], summary: 'A delivery to a `payloadFormat: "quiltt"` subscription',
  description: `Quiltt's \`WebhookPayload\` of up to \`maxEventsPerDelivery\` events owed at the same time, signed as a whole; \`webhook-id\` is the delivery's own id. ${DELIVERY_HEADERS}`,
  request: { body: { required: true, content: { "application/json": { schema: WebhookPayload } } } },
  responses: receiverAnswer,
});

app.doc31("/openapi.json", {
  openapi: "3.1.0",
  info: {
    title: "Doorbell",
    version: packageJson.version,
    description: "Webhook notifications on Cloudflare's edge: ingest change events, deliver them signed, retried and logged.",
  },
});

// Last, once every route is registered: a known /v1 path asked with another method gets 405 and `Allow`.
const allowedMethods = allowedMethodsOf(app.routes);
