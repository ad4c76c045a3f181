import { SELF, env } from "cloudflare:test";
import { expect } from "vitest";
import type { SubscriptionView } from "../../src/domain/subscription";
import type { Hangup, ReceivedRequest } from "../support/received-request";

export { eventually } from "../support/eventually";
export { makeEvent, makeQuilttEvent } from "../support/events";

export const API_TOKEN = "test-api-token-for-the-test-suite";
export const INGEST_TOKEN = "test-ingest-token-for-the-test-suite";

let clients = 0;
/** A client address of its own for each request (unless it names one), so that no test reaches the per-address limits. */
export function clientAddressHeader(): string {
  return `198.18.${Math.floor(++clients / 250) % 250}.${clients % 250}`;
}

export function api(path: string, init: RequestInit & { token?: string | null; json?: unknown } = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (!headers.has("cf-connecting-ip")) headers.set("cf-connecting-ip", clientAddressHeader());
  const token = init.token === undefined ? API_TOKEN : init.token;
  if (token !== null) headers.set("authorization", `Bearer ${token}`);
  let body = init.body;
  if (init.json !== undefined) {
    headers.set("content-type", "application/json");
    body = JSON.stringify(init.json);
  }
  return SELF.fetch(`https://doorbell.test${path}`, { ...init, headers, body });
}

/** A bucket name unique to this call, so tests never see each other's deliveries. */
export function bucket(name = "b"): string {
  return `${name}-${crypto.randomUUID().slice(0, 8)}`;
}

export function receiverUrl(bucketName: string, behaviour = "ok"): string {
  return `${env.TEST_RECEIVER_URL}/${bucketName}/${behaviour}`;
}

export async function received(bucketName: string): Promise<ReceivedRequest[]> {
  const response = await fetch(`${env.TEST_RECEIVER_URL}/_requests/${bucketName}`);
  return (await response.json()) as ReceivedRequest[];
}

/** The requests in this bucket that the receiver closed the connection on without answering. */
export async function hangups(bucketName: string): Promise<Hangup[]> {
  const response = await fetch(`${env.TEST_RECEIVER_URL}/_hangups/${bucketName}`);
  return (await response.json()) as Hangup[];
}

export type CreatedSubscription = SubscriptionView & { secret: string };

export type SubscriptionFields = Partial<{
  name: string; targetUrl: string; eventTypes: string[]; disabled: boolean; authorization: string;
  payloadFormat: string; maxEventsPerDelivery: number; maxConcurrency: number;
}>;

export async function createSubscription(fields: SubscriptionFields = {}): Promise<CreatedSubscription> {
  const response = await api("/v1/webhooks/subscriptions", {
    method: "POST",
    json: { name: "test", targetUrl: receiverUrl(bucket()), eventTypes: ["*"], ...fields },
  });
  expect(response.status, await response.clone().text()).toBe(201);
  return (await response.json()) as CreatedSubscription;
}

export async function getSubscription(id: string): Promise<SubscriptionView> {
  const response = await api(`/v1/webhooks/subscriptions/${id}`);
  expect(response.status).toBe(200);
  return (await response.json()) as SubscriptionView;
}

export async function ingest(body: unknown, token: string = INGEST_TOKEN): Promise<Response> {
  return api("/v1/events", { method: "POST", json: body, token });
}

/** What `getQueueResult` reports of a batch the consumer handled; the generated runtime types do not declare it. */
export interface QueueOutcome {
  readonly explicitAcks: string[];
  readonly retryMessages: { readonly msgId: string }[];
}

/** What the event ledger tells `deliveryOf` of an event it has not seen settled yet. */
export const UNSETTLED = { settled: false, receivedAt: Date.now() };
