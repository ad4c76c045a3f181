import { configOf } from "../config";
import { errorResponse, notFound } from "./errors";
import { requireToken } from "./auth";
import { eventTypes } from "./event-types";
import { events } from "./events";
import { faultRoutes } from "./faults";
import { createRouter } from "./router";
import { dashboard } from "../dashboard";
import { subscriptions } from "./subscriptions";
import packageJson from "../../package.json";

export const app = createRouter();

app.onError(errorResponse);
app.notFound(() => {
  throw notFound("route");
});

// A bad [vars] value fails every request loudly (500 naming it), not just the routes that happen to read it.
app.use("*", async (c, next) => {
  configOf(c.env);
  await next();
});

app.get("/health", (c) => c.json({ ok: true }));

app.use("/v1/*", requireToken());
app.route("/v1/webhooks/subscriptions", subscriptions);
app.route("/v1/events", events);
app.route("/v1/event-types", eventTypes);
app.route("/_faults", faultRoutes);
app.route("/", dashboard);

app.openAPIRegistry.registerComponent("securitySchemes", "bearerAuth", {
  type: "http",
  scheme: "bearer",
  description: "`API_TOKEN` for every route; `INGEST_TOKEN` for `POST /v1/events` only.",
});

app.doc31("/openapi.json", {
  openapi: "3.1.0",
  info: {
    title: "Doorbell",
    version: packageJson.version,
    description: "Webhook notifications on Cloudflare's edge: ingest change events, deliver them signed, retried and logged.",
  },
});

/** An interactive reference rendered from /openapi.json by Swagger UI, served from our own static assets. */
app.get("/docs", (c) =>
  c.html(`<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Doorbell API reference</title>
  <link rel="stylesheet" href="/docs/swagger-ui.css">
</head>
<body>
  <div id="reference"></div>
  <script src="/docs/swagger-ui-bundle.js"></script>
  <script>SwaggerUIBundle({ url: "/openapi.json", dom_id: "#reference", tryItOutEnabled: true, persistAuthorization: true });</script>
</body>
</html>`),
);
