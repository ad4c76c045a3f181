import { configOf } from "../config";
import { newSubscriptionId } from "../domain/ids";
import { SUBSCRIPTION_ID_PATTERN, type SubscriptionCreate, type SubscriptionUpdate, type SubscriptionView } from "../domain/subscription";
import { targetUrlProblem } from "../domain/target-url";
import { issuesToErrors, type IssueLike, type ValidationErrors } from "../domain/validation-errors";
import { forgetSubscribers } from "../delivery/subscribers";
import { directoryStub, subscriptionStub, type Env } from "../env";
import { MAX_VALID_SECRETS } from "../durable/subscription/settings";
import { ApiError, ValidationFailed, notFound } from "./errors";

/**
 * What the API and the dashboard both do to subscriptions, once: the checks beyond the schema, the
 * directory kept in step with each subscription's own object, and the same refusals (404, 409, 422).
 */

/** Unknown ids never reach a Durable Object: a malformed id is simply not found. */
export function subscriptionStubFor(env: Env, id: string) {
  if (!SUBSCRIPTION_ID_PATTERN.test(id)) throw notFound("subscription");
  return subscriptionStub(env, id);
}

/** The SSRF and scheme rules, which depend on configuration and so are not part of the schema. */
function targetErrors(env: Env, targetUrl: unknown): ValidationErrors {
  if (typeof targetUrl !== "string") return {};
  const problem = targetUrlProblem(targetUrl, configOf(env).targetPolicy);
  return problem ? { targetUrl: [problem] } : {};
}

function checkTarget(env: Env, targetUrl: string | undefined): void {
  const errors = targetErrors(env, targetUrl);
  if (errors.targetUrl) throw new ValidationFailed(errors);
}

/**
 * A subscription body the schema refused, as one 422 with every problem: the target URL rules are
 * checked too when the URL itself passed the schema, rather than in a second round once the rest is fixed.
 */
export function refusal(env: Env, issues: readonly IssueLike[], body: unknown): ValidationFailed {
  const errors = issuesToErrors(issues);
  const targetUrl = typeof body === "object" && body !== null ? (body as { targetUrl?: unknown }).targetUrl : undefined;
  return new ValidationFailed(errors.targetUrl ? errors : { ...errors, ...targetErrors(env, targetUrl) });
}

export async function viewSubscription(env: Env, id: string): Promise<SubscriptionView> {
  const view = await subscriptionStubFor(env, id).view();
  if (!view) throw notFound("subscription");
  return view;
}

export async function createSubscription(env: Env, input: SubscriptionCreate): Promise<SubscriptionView & { secret: string }> {
  checkTarget(env, input.targetUrl);
  // Every event fans out to each matching subscription: the cap bounds that (concurrent creates may pass it by a few).
  const { maxSubscriptions } = configOf(env);
  if ((await directoryStub(env).page(0, 0)).total >= maxSubscriptions)
    throw new ApiError(409, "conflict", `there are already ${maxSubscriptions} subscriptions, the most allowed (MAX_SUBSCRIPTIONS); delete one first`);
  const id = newSubscriptionId();
  const created = await subscriptionStub(env, id).create(id, input);
  await directoryStub(env).put(id, Date.now(), input.eventTypes);
  forgetSubscribers(env);
  return { ...created.subscription, secret: created.secret };
}

export async function updateSubscription(env: Env, id: string, patch: SubscriptionUpdate): Promise<SubscriptionView> {
  const stub = subscriptionStubFor(env, id);
  checkTarget(env, patch.targetUrl);
  const view = await stub.update(patch);
  if (!view) throw notFound("subscription");
  if (patch.eventTypes) {
    await directoryStub(env).put(id, Date.now(), view.eventTypes);
    forgetSubscribers(env);
  }
  return view;
}

export async function deleteSubscription(env: Env, id: string): Promise<void> {
  const removed = await subscriptionStubFor(env, id).remove();
  await directoryStub(env).remove(id);
  forgetSubscribers(env);
  if (!removed) throw notFound("subscription");
}

export async function revealSecret(env: Env, id: string): Promise<string> {
  const secret = await subscriptionStubFor(env, id).secret();
  if (!secret) throw notFound("subscription");
  return secret;
}

export async function rotateSecret(env: Env, id: string): Promise<string> {
  const secret = await subscriptionStubFor(env, id).rotateSecret();
  if (!secret) throw notFound("subscription");
  if (secret === "too_many")
    throw new ApiError(
      409, "conflict",
      `${MAX_VALID_SECRETS} secrets already sign deliveries (the current one and those rotated out in the last 24 hours); rotate again once the oldest expires`,
    );
  return secret;
}

/** Re-enqueues the failed and held deliveries created in the window (ms since the epoch); how many. */
export async function replayDeliveries(env: Env, id: string, since: number | null, until: number | null): Promise<number> {
  const result = await subscriptionStubFor(env, id).replay(since, until);
  if (result === null) throw notFound("subscription");
  if (result === "disabled") throw new ApiError(409, "conflict", "the subscription is disabled; re-enable it (PATCH {\"disabled\": false}) before replaying");
  return result;
}
