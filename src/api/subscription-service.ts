import { configOf } from "../config";
import { unknownEventTypes } from "../domain/catalog";
import { newSubscriptionId } from "../domain/ids";
import {
  SUBSCRIPTION_ID_PATTERN, resolveDeliveryOptions, type SubscriptionCreate, type SubscriptionUpdate, type SubscriptionView,
} from "../domain/subscription";
import { targetUrlProblem } from "../domain/target-url";
import { issuesToErrors, type IssueLike, type ValidationErrors } from "../domain/validation-errors";
import { forgetSubscribers } from "../delivery/subscribers";
import { directoryStub, subscriptionStub, type Env } from "../env";
import { MAX_VALID_SECRETS } from "../durable/subscription/settings";
import { loadCatalog } from "./catalog";
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

/**
 * The rules that are not part of the schema: the SSRF and scheme rules (which depend on configuration)
 * and the event types against the catalogue (which the operator extends). A field already refused
 * by the schema is not checked again.
 */
async function ruleErrors(env: Env, body: unknown, refused: ValidationErrors = {}): Promise<ValidationErrors> {
  const { targetUrl, eventTypes } = typeof body === "object" && body !== null ? (body as { targetUrl?: unknown; eventTypes?: unknown }) : {};
  const errors: ValidationErrors = {};
  if (typeof targetUrl === "string" && !refused.targetUrl) {
    const problem = targetUrlProblem(targetUrl, configOf(env).targetPolicy);
    if (problem) errors.targetUrl = [problem];
  }
  if (Array.isArray(eventTypes) && eventTypes.every((type) => typeof type === "string") && !refused.eventTypes) {
    const { codes } = await loadCatalog(env, { fresh: true });
    for (const { index, type } of unknownEventTypes(eventTypes, codes))
      if (!refused[`eventTypes[${index}]`]) errors[`eventTypes[${index}]`] = [`"${type}" matches no event code of the catalog`];
  }
  return errors;
}

async function checkRules(env: Env, body: SubscriptionCreate | SubscriptionUpdate): Promise<void> {
  const errors = await ruleErrors(env, body);
  if (Object.keys(errors).length > 0) throw new ValidationFailed(errors);
}

/** A subscription body the schema refused, as one 422 with every problem, the rules beyond the schema included. */
export async function refusal(env: Env, issues: readonly IssueLike[], body: unknown): Promise<ValidationFailed> {
  const errors = issuesToErrors(issues);
  const merged = Object.entries({ ...errors, ...(await ruleErrors(env, body, errors)) });
  // In field order (`eventTypes[1]` before `eventTypes[2]`, whichever check found it), as the dashboard lists them.
  return new ValidationFailed(Object.fromEntries(merged.sort(([a], [b]) => a.localeCompare(b, "en", { numeric: true }))));
}

export async function viewSubscription(env: Env, id: string): Promise<SubscriptionView> {
  const view = await subscriptionStubFor(env, id).view();
  if (!view) throw notFound("subscription");
  return view;
}

export async function createSubscription(env: Env, input: SubscriptionCreate): Promise<SubscriptionView & { secret: string }> {
  await checkRules(env, input);
  const resolved = resolveDeliveryOptions(input);
  if (!resolved.ok) throw new ValidationFailed({ maxEventsPerDelivery: [resolved.message] });
  // Every event fans out to each matching subscription: the cap bounds that (concurrent creates may pass it by a few).
  const { maxSubscriptions } = configOf(env);
  if ((await directoryStub(env).page(0, 0)).total >= maxSubscriptions)
    throw new ApiError(409, "conflict", `there are already ${maxSubscriptions} subscriptions, the most allowed (MAX_SUBSCRIPTIONS); delete one first`);
  const id = newSubscriptionId();
  const created = await subscriptionStub(env, id).create(id, { ...input, ...resolved.options });
  await directoryStub(env).put(id, Date.now(), input.eventTypes);
  forgetSubscribers(env);
  return { ...created.subscription, secret: created.secret };
}

export async function updateSubscription(env: Env, id: string, patch: SubscriptionUpdate): Promise<SubscriptionView> {
  const stub = subscriptionStubFor(env, id);
  await checkRules(env, patch);
  const changesOptions = [patch.payloadFormat, patch.maxEventsPerDelivery, patch.maxConcurrency].some((value) => value !== undefined);
  const current = changesOptions ? await stub.view() : null;
  if (changesOptions && !current) throw notFound("subscription");
  // With the stored format: what the patch leads to is checked before anything is written.
  const resolved = current ? resolveDeliveryOptions(patch, current) : null;
  if (resolved && !resolved.ok) throw new ValidationFailed({ maxEventsPerDelivery: [resolved.message] });
  const view = await stub.update(resolved ? { ...patch, ...resolved.options } : patch);
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
