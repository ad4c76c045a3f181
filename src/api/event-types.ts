import { createRoute, z } from "@hono/zod-openapi";
import { jsonBody } from "./body";
import { EventTypeCode, EventTypeRequest, deleteEventType, putEventType } from "./event-type-service";
import { loadCatalog } from "./catalog";
import { BEARER_SECURITY, createRouter } from "./router";
import { ErrorBody, ValidationErrorsBody, json } from "./schemas";

const tags = ["Event types"];

const CodeParam = z.object({
  code: EventTypeCode.openapi({ param: { name: "code", in: "path" }, example: "acme.order.shipped" }),
});

const EventTypeItem = z
  .object({
    code: z.string(),
    description: z.string().nullable(),
    schema: z.unknown().openapi({ description: "A JSON Schema (draft 2020-12) its events must satisfy at ingest, or null." }),
    builtIn: z.boolean().openapi({ description: "Quable's and Quiltt's codes are built in: they can be given a schema but not deleted." }),
  })
  .openapi("EventType");

const EventTypeCatalog = z
  .object({ eventTypes: z.array(z.string()), items: z.array(EventTypeItem) })
  .openapi("EventTypeCatalog");

export const eventTypes = createRouter();

eventTypes.openapi(
  createRoute({
    method: "get", path: "/", tags, security: BEARER_SECURITY, summary: "The catalogue of event codes",
    description: "A subscription's `eventTypes` may name `*`, any of these codes, or a prefix of them at a dot boundary. Ingest accepts any well-formed code.",
    responses: { 200: json(EventTypeCatalog, "The catalogue: built-in codes, then the operator's") },
  }),
  async (c) => {
    const catalog = await loadCatalog(c.env, { fresh: true });
    return c.json({ eventTypes: [...catalog.codes], items: [...catalog.items] }, 200);
  },
);

eventTypes.openapi(
  createRoute({
    method: "put", path: "/{code}", tags, security: BEARER_SECURITY, summary: "Add or replace an operator event code",
    description: "A built-in code can be given a description and a schema too. Events of a code with a schema that fail it get 422 at ingest.",
    middleware: [jsonBody(64 * 1024)],
    request: { params: CodeParam, body: { required: true, content: { "application/json": { schema: EventTypeRequest } } } },
    responses: {
      200: json(EventTypeItem, "Replaced (or a built-in code described)"),
      201: json(EventTypeItem, "Added"),
      422: json(ValidationErrorsBody, "Not a dotted lower-case code, or not a valid JSON Schema"),
    },
  }),
  async (c) => {
    const { item, created } = await putEventType(c.env, c.req.valid("param").code, c.req.valid("json"));
    return created ? c.json(item, 201) : c.json(item, 200);
  },
);

eventTypes.openapi(
  createRoute({
    method: "delete", path: "/{code}", tags, security: BEARER_SECURITY, summary: "Delete an operator event code",
    request: { params: CodeParam },
    responses: {
      204: { description: "Deleted" },
      404: json(ErrorBody, "Not an operator code"),
      409: json(ErrorBody.extend({ subscriptions: z.array(z.string()).optional() }), "A built-in code, or one that subscriptions still name (listed)"),
      422: json(ValidationErrorsBody, "Not a dotted lower-case code"),
    },
  }),
  async (c) => {
    await deleteEventType(c.env, c.req.valid("param").code);
    return c.body(null, 204);
  },
);
