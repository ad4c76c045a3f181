import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, expect } from "vitest";
import type { SubscriptionView } from "../../src/domain/subscription";
import { startReceiver, type Receiver } from "../support/receiver";
import { INGEST_TOKEN, makeStateDir, startDevServer, type DevServer } from "./dev-server";

export { eventually, sleep } from "../support/eventually";

/** Quable's documented `document.update` notification, byte for byte as Quable sends it. */
export const QUABLE_EXAMPLE_TEXT = readFileSync(new URL("../../examples/quable-document-update.json", import.meta.url), "utf8");

/** Quiltt's `profile.created` example (a ProfileEvent), as a producer would send it. */
export const QUILTT_EXAMPLE_TEXT = readFileSync(new URL("../../examples/quiltt-profile-created.json", import.meta.url), "utf8");

export type QuableEvent = Record<string, unknown> & { uuid: string; code: string };

/** Copies of the Quable example as new events: each with a fresh uuid (and self link). */
export function quableEvents(count: number): QuableEvent[] {
  const example = JSON.parse(QUABLE_EXAMPLE_TEXT) as QuableEvent;
  return Array.from({ length: count }, () => {
    const uuid = randomUUID();
    return { ...example, uuid, links: [{ rel: "self", href: `/events/${uuid}` }] };
  });
}

export type CreatedSubscription = SubscriptionView & { secret: string };

export async function createSubscription(
  server: DevServer,
  fields: { name?: string; targetUrl: string; eventTypes?: string[]; authorization?: string },
): Promise<CreatedSubscription> {
  const response = await server.api("/v1/webhooks/subscriptions", {
    method: "POST",
    json: { name: "e2e", eventTypes: ["*"], ...fields },
  });
  expect(response.status, await response.clone().text()).toBe(201);
  return (await response.json()) as CreatedSubscription;
}

export interface IngestResult {
  readonly accepted: string[];
  readonly duplicates: string[];
}

/** Posts events with the ingest token, as a producer would, and expects 202. */
export async function ingest(server: DevServer, events: readonly QuableEvent[]): Promise<IngestResult> {
  const response = await server.api("/v1/events", { method: "POST", token: INGEST_TOKEN, json: events });
  expect(response.status, await response.clone().text()).toBe(202);
  return (await response.json()) as IngestResult;
}

/** `GET /v1/events/{uuid}`, as the SPEC describes it (read over HTTP, so typed here from the outside). */
export interface EventDeliveries {
  readonly event: QuableEvent;
  readonly deliveries: { subscriptionId: string; status: "pending" | "delivered" | "retrying" | "failed" | "held"; attempts: number }[];
}

export async function eventDeliveries(server: DevServer, uuid: string): Promise<EventDeliveries> {
  const response = await server.api(`/v1/events/${uuid}`);
  expect(response.status, `GET /v1/events/${uuid}`).toBe(200);
  return (await response.json()) as EventDeliveries;
}

/** `GET /v1/events/{uuid}` for each uuid, in order, a few requests at a time. */
export async function allEventDeliveries(server: DevServer, uuids: readonly string[]): Promise<EventDeliveries[]> {
  const all: EventDeliveries[] = [];
  for (let start = 0; start < uuids.length; start += 25)
    all.push(...(await Promise.all(uuids.slice(start, start + 25).map((uuid) => eventDeliveries(server, uuid)))));
  return all;
}

/** How many requests each `webhook-id` got in this receiver bucket. */
export function deliveriesPerEvent(receiver: Receiver, bucket: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const request of receiver.requests.get(bucket) ?? []) {
    const id = String(request.headers["webhook-id"]);
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}

/** A bucket name unique to this run, so that receivers never mix up tests. */
export function bucket(name: string): string {
  return `${name}-${randomUUID().slice(0, 8)}`;
}

/** For a describe block: a `wrangler dev` on a fresh state directory, started before its tests and stopped after. */
export function useServer(): { server: DevServer } {
  const state = makeStateDir();
  const started = {} as { server: DevServer };
  beforeAll(async () => {
    started.server = await startDevServer({ stateDir: state.path });
  });
  afterAll(async () => {
    await started.server?.stop();
    state.remove();
  });
  return started;
}

/** For a describe block: a `wrangler dev` (with these extra `--var`s) on a fresh state directory and a receiver, started before its tests and stopped after. */
export function useServerAndReceiver(vars?: Readonly<Record<string, string>>): { server: DevServer; receiver: Receiver } {
  const state = makeStateDir();
  const started = {} as { server: DevServer; receiver: Receiver };
  beforeAll(async () => {
    [started.server, started.receiver] = await Promise.all([startDevServer({ stateDir: state.path, vars }), startReceiver()]);
  });
  afterAll(async () => {
    await Promise.all([started.server?.stop(), started.receiver?.close()]);
    state.remove();
  });
  return started;
}
