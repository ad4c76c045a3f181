import { configOf, DAY_MS } from "../config";
import { Hono, type Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ZodType } from "zod";
import { ApiError, ValidationFailed, notFound } from "../api/errors";
import {
  createSubscription, deleteSubscription, refusal, replayDeliveries, revealSecret, rotateSecret, subscriptionStubFor, updateSubscription,
  viewSubscription,
} from "../api/subscription-service";
import { clientAddress } from "../api/auth";
import { loadCatalog } from "../api/catalog";
import { redeliverEvent } from "../api/event-lookup";
import { eventKey } from "../domain/event";
import { SubscriptionCreateRequest, SubscriptionUpdateRequest } from "../domain/subscription";
import type { Env } from "../env";
import { ASSET_PATHS, SCRIPT, STYLESHEET } from "./assets";
import { registerEventTypePages } from "./event-types";
import { CHART_WINDOWS, chartWindowOf } from "./chart";
import { findEvent, listSubscriptions } from "./data";
import { createBody, problemsByField, updateBody, valuesOf } from "./forms";
import { hrefWith } from "./links";
import { ErrorPage } from "./pages/error";
import { EventPage } from "./pages/event";
import { SignInPage } from "./pages/sign-in";
import { DeletePage, SubscriptionPage, type ShownSecret } from "./pages/subscription";
import { SubscriptionFormPage } from "./pages/subscription-form";
import { SubscriptionsPage, statusFilterOf } from "./pages/subscriptions";
import { action, page, readForm, safeNext, sameOriginOnly, securityHeaders, signIn, signOut, type DashboardEnv } from "./session";

/**
 * The operator dashboard: server-rendered pages at `/` for everything the API does by hand. Every
 * page needs a signed-in session; every change is a POST that must come from this origin and carry the
 * session's CSRF token, then answers with a redirect (so reloading never repeats it).
 */
export const dashboard = new Hono<DashboardEnv>();
type DashboardContext = Context<DashboardEnv>;

const ATTEMPTS_PAGE_SIZE = 25;


/** What a `?done=` redirect says happened; fixed texts, so nothing in the URL is echoed into the page. */
const NOTICES: Record<string, string> = {
  created: "Subscription created. Reveal its secret below to verify the signatures of its deliveries.",
  saved: "Changes saved.",
  disabled: "Disabled: nothing is sent to it, and its new events are held for replay.",
  enabled: "Re-enabled, with its failure count back to 0. Replay what was held or failed while it was off.",
  deleted: "Subscription deleted.",
  redelivered: "The event is queued to be sent again.",
};

function noticeOf(c: DashboardContext): string | undefined {
  const done = c.req.query("done");
  if (done === "replayed") {
    const queued = Number(c.req.query("queued"));
    return `Replay queued ${Number.isSafeInteger(queued) ? queued : 0} deliveries.`;
  }
  return done === undefined ? undefined : NOTICES[done];
}

const isLive = (c: DashboardContext) => c.req.query("live") === "1";
const doneRedirect = (c: DashboardContext, path: string, done: string, extra: Record<string, number> = {}) =>
  c.redirect(hrefWith(path, { done, ...extra }), 303);

/** The API's own schema, with its refusal in the API's own shape. */
async function parseOrRefuse<T>(env: Env, schema: ZodType<T>, body: unknown): Promise<T> {
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw await refusal(env, parsed.error.issues, body);
  return parsed.data;
}

// ---- assets and sign-in -----------------------------------------------------------------------------

for (const [path, text, type] of [
  [ASSET_PATHS.stylesheet, STYLESHEET, "text/css; charset=utf-8"],
  [ASSET_PATHS.script, SCRIPT, "text/javascript; charset=utf-8"],
] as const) {
  dashboard.get(path, (c) => c.body(text, 200, { "content-type": type, "cache-control": "public, max-age=31536000, immutable" }));
}

const misconfigured = (c: DashboardContext) =>
  c.html(<ErrorPage title="Not configured" message="The API_TOKEN secret is not set, so nobody can sign in. Set it with `wrangler secret put API_TOKEN`." />, 500);

dashboard.get("/sign-in", securityHeaders, (c) => {
  if (!c.env.API_TOKEN) return misconfigured(c);
  return c.html(<SignInPage next={safeNext(c.req.query("next"))} signedOut={c.req.query("signed-out") !== undefined} />);
});

dashboard.post("/sign-in", securityHeaders, sameOriginOnly, async (c) => {
  const apiToken = c.env.API_TOKEN;
  if (!apiToken) return misconfigured(c);
  // Cloudflare sets the client's address; a guesser gets 10 tries a minute from each one. A refused one's form is never read.
  const { success } = await c.env.SIGN_IN_LIMITER.limit({ key: clientAddress(c) });
  if (!success) return c.html(<SignInPage next="/" problem="Too many sign-in attempts from here: wait a minute." />, 429);
  const form = await readForm(c);
  const next = safeNext(form.next);
  if (await signIn(c, apiToken, form.token ?? "")) return c.redirect(next, 303);
  return c.html(<SignInPage next={next} problem="That is not the API token." />, 401);
});

dashboard.post("/sign-out", ...action, async (c) => {
  await signOut(c);
  return c.redirect("/sign-in?signed-out", 303);
});

// ---- subscriptions ----------------------------------------------------------------------------------

dashboard.get("/", ...page, async (c) => {
  const filter = statusFilterOf(c.req.query("status"));
  const fromText = c.req.query("from") ?? "0";
  const from = /^\d{1,9}$/.test(fromText) ? Number(fromText) : 0;
  const { rows, total, next } = await listSubscriptions(c.env, filter, from);
  return c.html(
    <SubscriptionsPage csrfToken={c.var.csrfToken} filter={filter} rows={rows} total={total} from={from} next={next} live={isLive(c)} notice={noticeOf(c)} />,
  );
});

/** The catalogue's codes, for the forms' list of them. */
const catalogCodes = async (c: DashboardContext) => (await loadCatalog(c.env, { fresh: true })).codes;

dashboard.get("/subscriptions/new", ...page, async (c) =>
  c.html(<SubscriptionFormPage csrfToken={c.var.csrfToken} values={{}} problems={{}} codes={await catalogCodes(c)} />),
);

dashboard.post("/subscriptions", ...action, async (c) => {
  const form = await readForm(c);
  try {
    const created = await createSubscription(c.env, await parseOrRefuse(c.env, SubscriptionCreateRequest, createBody(form)));
    return doneRedirect(c, `/subscriptions/${created.id}`, "created");
  } catch (error) {
    if (!(error instanceof ValidationFailed)) throw error;
    return c.html(
      <SubscriptionFormPage
        csrfToken={c.var.csrfToken} values={valuesOf(form)} problems={problemsByField(error.errors)} codes={await catalogCodes(c)}
        startDisabled={form.disabled === "on"}
      />,
      422,
    );
  }
});

/** The subscription page; after a reveal or a rotation it also shows the secret, once. */
async function renderSubscription(c: DashboardContext, id: string, secret?: ShownSecret): Promise<Response> {
  const window = chartWindowOf(c.req.query("window"));
  const cursorText = c.req.query("cursor");
  const cursor = cursorText !== undefined && /^\d{1,15}$/.test(cursorText) ? cursorText : null;
  const stub = subscriptionStubFor(c.env, id);
  const { bucketMs, buckets } = CHART_WINDOWS[window];
  const [summary, attempts] = await Promise.all([
    stub.summary(bucketMs, buckets),
    stub.attempts(ATTEMPTS_PAGE_SIZE, cursor === null ? null : Number(cursor)),
  ]);
  if (!summary) throw notFound("subscription");
  return c.html(
    <SubscriptionPage
      csrfToken={c.var.csrfToken} summary={summary} attempts={attempts.items} cursor={cursor} nextCursor={attempts.nextCursor}
      window={window} live={isLive(c) && !secret} notice={noticeOf(c)} secret={secret}
    />,
  );
}

dashboard.get("/subscriptions/:id", ...page, (c) => renderSubscription(c, c.req.param("id")));

dashboard.post("/subscriptions/:id/disable", ...action, async (c) => {
  const id = c.req.param("id");
  await updateSubscription(c.env, id, { disabled: true });
  return doneRedirect(c, `/subscriptions/${id}`, "disabled");
});

dashboard.post("/subscriptions/:id/enable", ...action, async (c) => {
  const id = c.req.param("id");
  await updateSubscription(c.env, id, { disabled: false });
  return doneRedirect(c, `/subscriptions/${id}`, "enabled");
});

dashboard.post("/subscriptions/:id/replay", ...action, async (c) => {
  const id = c.req.param("id");
  const queued = await replayDeliveries(c.env, id, null, null);
  return doneRedirect(c, `/subscriptions/${id}`, "replayed", { queued });
});

// Shown in answer to the POST itself (never stored in a URL or a redirect), and never cached.
dashboard.post("/subscriptions/:id/secret", ...action, async (c) => {
  const id = c.req.param("id");
  return renderSubscription(c, id, { value: await revealSecret(c.env, id), rotated: false });
});

dashboard.post("/subscriptions/:id/secret/rotate", ...action, async (c) => {
  const id = c.req.param("id");
  return renderSubscription(c, id, { value: await rotateSecret(c.env, id), rotated: true });
});

dashboard.get("/subscriptions/:id/edit", ...page, async (c) => {
  const subscription = await viewSubscription(c.env, c.req.param("id"));
  const values = {
    name: subscription.name, targetUrl: subscription.targetUrl, eventTypes: subscription.eventTypes.join(", "),
    payloadFormat: subscription.payloadFormat, maxEventsPerDelivery: String(subscription.maxEventsPerDelivery), maxConcurrency: String(subscription.maxConcurrency),
  };
  return c.html(<SubscriptionFormPage csrfToken={c.var.csrfToken} subscription={subscription} values={values} problems={{}} codes={await catalogCodes(c)} />);
});

dashboard.post("/subscriptions/:id/edit", ...action, async (c) => {
  const id = c.req.param("id");
  const form = await readForm(c);
  try {
    await updateSubscription(c.env, id, await parseOrRefuse(c.env, SubscriptionUpdateRequest, updateBody(form)));
    return doneRedirect(c, `/subscriptions/${id}`, "saved");
  } catch (error) {
    if (!(error instanceof ValidationFailed)) throw error;
    const subscription = await viewSubscription(c.env, id);
    return c.html(
      <SubscriptionFormPage
        csrfToken={c.var.csrfToken} subscription={subscription} values={valuesOf(form)} problems={problemsByField(error.errors)} codes={await catalogCodes(c)}
      />,
      422,
    );
  }
});

dashboard.get("/subscriptions/:id/delete", ...page, async (c) =>
  c.html(<DeletePage csrfToken={c.var.csrfToken} subscription={await viewSubscription(c.env, c.req.param("id"))} />),
);

dashboard.post("/subscriptions/:id/delete", ...action, async (c) => {
  await deleteSubscription(c.env, c.req.param("id"));
  return doneRedirect(c, "/", "deleted");
});

// ---- events -----------------------------------------------------------------------------------------

dashboard.get("/events", ...page, async (c) => {
  const query = (c.req.query("uuid") ?? "").trim();
  const event = query === "" ? null : await findEvent(c.env, query);
  return c.html(<EventPage csrfToken={c.var.csrfToken} query={query} event={event} notice={noticeOf(c)} retentionDays={configOf(c.env).eventRetentionMs / DAY_MS} />, query !== "" && !event ? 404 : 200);
});

dashboard.post("/events/:uuid/redeliver", ...action, async (c) => {
  const uuid = eventKey(c.req.param("uuid")) ?? "";
  await redeliverEvent(c.env, uuid, (await readForm(c)).subscriptionId ?? "");
  return c.redirect(hrefWith("/events", { uuid, done: "redelivered" }), 303);
});

registerEventTypePages(dashboard);

// ---- errors -----------------------------------------------------------------------------------------

const TITLES: Partial<Record<number, string>> = { 403: "Refused", 404: "Not found", 409: "Not now", 413: "Too large", 422: "Not valid" };

const sentence = (text: string) => `${text.charAt(0).toUpperCase()}${text.slice(1)}.`;

dashboard.onError((error, c) => {
  const csrfToken = c.var.csrfToken;
  if (error instanceof ApiError) return c.html(<ErrorPage title={TITLES[error.status] ?? "Error"} message={sentence(error.message)} csrfToken={csrfToken} />, error.status);
  if (error instanceof HTTPException) {
    const message = error.status === 403
      ? "This form is stale or came from another site. Go back, reload the page and try again."
      : error.message || "The request was refused.";
    return c.html(<ErrorPage title={TITLES[error.status] ?? "Error"} message={message} csrfToken={csrfToken} />, error.status);
  }
  console.error(`dashboard: unhandled error: ${error.stack ?? error.message}`);
  return c.html(<ErrorPage title="Internal error" message="Something went wrong; nothing was changed unless the page said so." csrfToken={csrfToken} />, 500);
});
