import { createRoute, z } from "@hono/zod-openapi";
import { EVENT_CATALOG } from "../domain/catalog";
import { BEARER_SECURITY, createRouter } from "./router";
import { json } from "./schemas";

export const eventTypes = createRouter();

eventTypes.openapi(
  createRoute({
    method: "get", path: "/", tags: ["Events"], security: BEARER_SECURITY, summary: "The catalog of event codes",
    description: "A subscription's `eventTypes` may name `*`, any of these codes, or a prefix of them at a dot boundary.",
    responses: { 200: json(z.object({ eventTypes: z.array(z.string()) }).openapi("EventTypeCatalog"), "The catalog") },
  }),
  (c) => c.json({ eventTypes: [...EVENT_CATALOG] }, 200),
);
