import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { Subscription, SubscriptionCreateRequest, SubscriptionSecret, SubscriptionUpdateRequest, SubscriptionWithSecret } from "../domain/subscription";
import { directoryStub, subscriptionStub } from "../env";
import { jsonBody } from "./body";
import { notFound, validationHook, type HookResult } from "./errors";
import { BEARER_SECURITY, createRouter, type AppEnv } from "./router";
import { ErrorBody, ValidationErrorsBody, json } from "./schemas";
import {
  createSubscription, deleteSubscription, refusal, replayDeliveries, revealSecret, rotateSecret, subscriptionStubFor, updateSubscription,
  viewSubscription,
} from "./subscription-service";

const readBody = jsonBody(64 * 1024);
const tags = ["Subscriptions"];

const IdParam = z.object({ id: z.string().openapi({ param: { name: "id", in: "path" }, example: "wh_3kTMd8F2a9QzX1" }) });

/** A number written in plain decimal digits: `1e1`, `0x10` or ` 5` are refused rather than read as 10, 16 and 5. */
const decimal = (checked: z.ZodNumber) =>
  z.string().regex(/^-?\d+(\.\d+)?$/, "must be a number").transform(Number).pipe(checked).openapi({ type: "integer" });
const Limit = decimal(z.number().int("must be an integer").min(1, "must be from 1 to 100").max(100, "must be from 1 to 100"))
  .default(25)
  .openapi({ minimum: 1, maximum: 100, default: 25, example: 25 });

const PageQuery = z.object({
  page: decimal(z.number().int("must be an integer").min(1, "must be at least 1")).default(1).openapi({ minimum: 1, default: 1, example: 1 }),
  limit: Limit,
});

const AttemptsQuery = z.object({
  limit: Limit,
  cursor: z.string().regex(/^\d+$/, "must be a cursor returned by a previous page").optional(),
});

const Attempt = z
  .object({
    eventId: z.string().openapi({ description: "The first event the attempt carried." }),
    eventIds: z.array(z.string()).openapi({ description: "Every event the attempt carried: one, or a Quiltt batch's, in order." }),
    deliveryId: z.string().openapi({ description: "The delivery's `webhook-id`: the event id, or a Quiltt batch's `msg_...` id." }),
    eventCode: z.string(),
    attempt: z.number().int(),
    at: z.string(),
    outcome: z.enum(["success", "http_error", "timeout", "network_error"]),
    status: z.number().int().nullable(),
    durationMs: z.number().int(),
    error: z.string().nullable(),
  })
  .openapi("DeliveryAttempt");

const AttemptPage = z
  .object({ attempts: z.array(Attempt), nextCursor: z.string().nullable() })
  .openapi("DeliveryAttemptPage");

const ReplayRequest = z
  .object({
    since: z.iso.datetime({ offset: true, message: "must be an ISO 8601 date-time" }).optional(),
    until: z.iso.datetime({ offset: true, message: "must be an ISO 8601 date-time" }).optional(),
  })
  .openapi("ReplayRequest");

const notFoundResponse = { 404: json(ErrorBody, "No such subscription") };
const invalidResponse = { 422: json(ValidationErrorsBody, "The body or query failed validation") };

/** A refused body also gets its target URL checked against the configured rules: one 422 with everything. */
function bodyHook(result: HookResult & { readonly data?: unknown }, c: Context<AppEnv>): Promise<never> | undefined {
  if (result.success || !result.error || result.target !== "json") return validationHook(result);
  return refusal(c.env, result.error.issues, result.data).then((failure) => {
    throw failure;
  });
}

export const subscriptions = createRouter();

subscriptions.openapi(
  createRoute({
    method: "post", path: "/", tags, security: BEARER_SECURITY, summary: "Create a subscription", middleware: [readBody],
    description: "The `secret` (for verifying signatures) is shown in full only here and at `GET .../{id}/secret`.",
    request: { body: { required: true, content: { "application/json": { schema: SubscriptionCreateRequest } } } },
    responses: { 201: json(SubscriptionWithSecret, "Created"), 409: json(ErrorBody, "Already at MAX_SUBSCRIPTIONS (1,000 by default)"), ...invalidResponse },
  }),
  async (c) => c.json(await createSubscription(c.env, c.req.valid("json")), 201),
  bodyHook,
);

subscriptions.openapi(
  createRoute({
    method: "get", path: "/", tags, security: BEARER_SECURITY, summary: "List subscriptions, oldest first",
    request: { query: PageQuery },
    responses: {
      200: {
        ...json(z.array(Subscription), "A page of subscriptions"),
        headers: z.object({
          "current-page": z.string(), "page-items": z.string(), "total-count": z.string(), "total-pages": z.string(),
        }),
      },
      ...invalidResponse,
    },
  }),
  async (c) => {
    const { page, limit } = c.req.valid("query");
    const { ids, total } = await directoryStub(c.env).page((page - 1) * limit, limit);
    const views = await Promise.all(ids.map((id) => subscriptionStub(c.env, id).view()));
    c.header("current-page", String(page));
    c.header("page-items", String(limit));
    c.header("total-count", String(total));
    c.header("total-pages", String(Math.ceil(total / limit)));
    return c.json(views.filter((view) => view !== null), 200);
  },
);

subscriptions.openapi(
  createRoute({
    method: "get", path: "/{id}", tags, security: BEARER_SECURITY, summary: "Retrieve a subscription",
    request: { params: IdParam },
    responses: { 200: json(Subscription, "The subscription"), ...notFoundResponse },
  }),
  async (c) => c.json(await viewSubscription(c.env, c.req.valid("param").id), 200),
);

subscriptions.openapi(
  createRoute({
    method: "patch", path: "/{id}", tags, security: BEARER_SECURITY, summary: "Update, disable or re-enable a subscription", middleware: [readBody],
    description: "`{\"disabled\": false}` re-enables: it clears `disabledReason` and resets `consecutiveFailures` to 0.",
    request: { params: IdParam, body: { required: true, content: { "application/json": { schema: SubscriptionUpdateRequest } } } },
    responses: { 200: json(Subscription, "The updated subscription"), ...notFoundResponse, ...invalidResponse },
  }),
  async (c) => c.json(await updateSubscription(c.env, c.req.valid("param").id, c.req.valid("json")), 200),
  bodyHook,
);

subscriptions.openapi(
  createRoute({
    method: "delete", path: "/{id}", tags, security: BEARER_SECURITY, summary: "Delete a subscription",
    request: { params: IdParam },
    responses: { 204: { description: "Deleted; nothing more is delivered to it" }, ...notFoundResponse },
  }),
  async (c) => {
    await deleteSubscription(c.env, c.req.valid("param").id);
    return c.body(null, 204);
  },
);

subscriptions.openapi(
  createRoute({
    method: "get", path: "/{id}/secret", tags, security: BEARER_SECURITY, summary: "Reveal the signing secret",
    request: { params: IdParam },
    responses: { 200: json(SubscriptionSecret, "The current secret"), ...notFoundResponse },
  }),
  async (c) => c.json({ secret: await revealSecret(c.env, c.req.valid("param").id) }, 200),
);

subscriptions.openapi(
  createRoute({
    method: "post", path: "/{id}/secret/rotate", tags, security: BEARER_SECURITY, summary: "Rotate the signing secret",
    description:
      "For 24 hours every delivery carries signatures from the new secret and every secret rotated out in that time; " +
      "at most 5 sign at once (409 past that).",
    request: { params: IdParam },
    responses: {
      200: json(SubscriptionSecret, "The new secret"),
      409: json(ErrorBody, "Five secrets already sign deliveries; rotate again once the oldest expires"),
      ...notFoundResponse,
    },
  }),
  async (c) => c.json({ secret: await rotateSecret(c.env, c.req.valid("param").id) }, 200),
);

subscriptions.openapi(
  createRoute({
    method: "get", path: "/{id}/attempts", tags, security: BEARER_SECURITY, summary: "The attempt log, newest first",
    request: { params: IdParam, query: AttemptsQuery },
    responses: { 200: json(AttemptPage, "A page of attempts"), ...notFoundResponse, ...invalidResponse },
  }),
  async (c) => {
    const { limit, cursor } = c.req.valid("query");
    const stub = subscriptionStubFor(c.env, c.req.valid("param").id);
    const [view, page] = await Promise.all([stub.view(), stub.attempts(limit, cursor === undefined ? null : Number(cursor))]);
    if (!view) throw notFound("subscription");
    return c.json({ attempts: page.items, nextCursor: page.nextCursor === null ? null : String(page.nextCursor) }, 200);
  },
);

subscriptions.openapi(
  createRoute({
    method: "post", path: "/{id}/replay", tags, security: BEARER_SECURITY, summary: "Replay failed and held deliveries", middleware: [jsonBody(64 * 1024, { optional: true })],
    description: "Re-enqueues this subscription's `failed` and `held` deliveries received in the window (all without one), with fresh attempts.",
    request: { params: IdParam, body: { required: false, content: { "application/json": { schema: ReplayRequest } } } },
    responses: {
      202: json(z.object({ queued: z.number().int() }).openapi("ReplayResult"), "Queued"),
      409: json(ErrorBody, "The subscription is disabled; re-enable it first"),
      ...notFoundResponse,
      ...invalidResponse,
    },
  }),
  async (c) => {
    const { since, until } = c.req.valid("json") ?? {}; // the body is optional
    const queued = await replayDeliveries(c.env, c.req.valid("param").id, since ? Date.parse(since) : null, until ? Date.parse(until) : null);
    return c.json({ queued }, 202);
  },
);
