import { appendFileSync, mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import type { ReceivedRequest } from "../support/received-request";
import type { Receiver } from "../support/receiver";
import type { DevServer } from "../e2e/dev-server";
import { allEventDeliveries, type CreatedSubscription, type EventDeliveries } from "../e2e/support";

/**
 * The fault suite's one reconciliation: after a fault, every accepted (event, subscription) pair is
 * compared with what `GET /v1/events/{id}` says and with what the receivers saw. Black box: only the
 * HTTP API and the receivers, so the same checks run against any version of Doorbell.
 */

type DeliveryStatus = EventDeliveries["deliveries"][number]["status"];

export interface Endpoint {
  readonly subscription: CreatedSubscription;
  /** The receiver bucket its target URL posts to. */
  readonly bucket: string;
  /** What its pairs may end as: a healthy endpoint's only `delivered`. */
  readonly settlesAs: readonly DeliveryStatus[];
}

export const HEALTHY: readonly DeliveryStatus[] = ["delivered"];
export const FAILING: readonly DeliveryStatus[] = ["failed", "held"];

export interface Reconciliation {
  readonly pairs: number;
  readonly delivered: number;
  readonly failed: number;
  readonly held: number;
  /** Pairs not settled as their endpoint allows (missing, pending, retrying, or a delivery nobody received). */
  readonly lost: readonly string[];
  /** Requests a receiver got beyond the attempts recorded for their pair (a POST whose record a fault cut off). */
  readonly duplicates: number;
  /** Recorded attempts that no receiver saw (the POST failed before reaching it). */
  readonly unseenAttempts: number;
  /** Every broken rule, one line each; empty when the run reconciles. */
  readonly problems: readonly string[];
}

/** Attempts take this many recorded attempts to fail: MAX_RETRIES (2 by default) plus the first. */
const ATTEMPTS_TO_FAIL = 3;
/**
 * A request may reach a receiver this long after the attempt log says its subscription's last
 * attempt ended: workerd's clock only moves on I/O, so a recorded end can lag the real one slightly.
 */
const CLOCK_SLACK_MS = 100;

export async function reconcile(server: DevServer, receiver: Receiver, accepted: readonly string[], endpoints: readonly Endpoint[]): Promise<Reconciliation> {
  const statuses = await allEventDeliveries(server, accepted);
  const problems: string[] = [];
  const lost: string[] = [];
  const counts = { delivered: 0, failed: 0, held: 0 };
  let duplicates = 0;
  let unseenAttempts = 0;

  for (const endpoint of endpoints) {
    const received = requestsPerEvent(receiver.requests.get(endpoint.bucket) ?? []);
    const lostBefore = lost.length;
    for (const { event, deliveries } of statuses) {
      const pair = `${event.uuid} -> ${endpoint.subscription.id} (${endpoint.bucket})`;
      const delivery = deliveries.find((candidate) => candidate.subscriptionId === endpoint.subscription.id);
      const seen = received.get(event.uuid) ?? [];
      if (!delivery || !endpoint.settlesAs.includes(delivery.status)) {
        lost.push(`${pair}: ${delivery?.status ?? "missing"}, expected ${endpoint.settlesAs.join(" or ")}`);
        continue;
      }
      if (delivery.status === "delivered" || delivery.status === "failed" || delivery.status === "held") counts[delivery.status] += 1;
      if (delivery.status === "delivered" && seen.length === 0) lost.push(`${pair}: delivered, but never received`);
      if (delivery.status === "failed" && delivery.attempts !== ATTEMPTS_TO_FAIL) problems.push(`${pair}: failed after ${delivery.attempts} attempts`);
      duplicates += Math.max(0, seen.length - delivery.attempts);
      unseenAttempts += Math.max(0, delivery.attempts - seen.length);
      // A duplicate is only ever the same delivery POSTed again: one webhook-id per event.
      const ids = new Set(seen.map((request) => String(request.headers["webhook-id"])));
      if (ids.size > 1) problems.push(`${pair}: received under ${ids.size} webhook-ids (${[...ids].join(", ")})`);
    }
    if (lost.length > lostBefore) lost.push(`${endpoint.bucket}: ${await attemptOutcomes(server, endpoint)}`);
    problems.push(...(await postsWhileDisabled(server, endpoint, receiver.requests.get(endpoint.bucket) ?? [])));
  }
  problems.unshift(...lost);
  return { pairs: statuses.length * endpoints.length, ...counts, lost, duplicates, unseenAttempts, problems };
}

/** A failure message: how many problems, counted by subscription and kind (the pair's event left out). */
export function describeProblems(result: Reconciliation): string {
  const kinds = new Map<string, number>();
  for (const problem of result.problems) {
    const kind = problem.replace(/^[\w-]+ -> /, "");
    kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
  }
  return `${result.problems.length} problems: ${[...kinds].map(([kind, count]) => `${count} × ${kind}`).join("; ")}`;
}

/** A bucket's requests by the event they carry (its body's `uuid`, else its `webhook-id`). */
export function requestsPerEvent(requests: readonly ReceivedRequest[]): Map<string, ReceivedRequest[]> {
  const byEvent = new Map<string, ReceivedRequest[]>();
  for (const request of requests) {
    const uuid = eventUuidOf(request);
    byEvent.set(uuid, [...(byEvent.get(uuid) ?? []), request]);
  }
  return byEvent;
}

function eventUuidOf(request: ReceivedRequest): string {
  try {
    const parsed = JSON.parse(request.body) as { uuid?: unknown };
    if (typeof parsed.uuid === "string") return parsed.uuid;
  } catch {
    // not JSON: fall back to the header
  }
  return String(request.headers["webhook-id"]);
}

export interface AttemptRecord {
  readonly eventId: string;
  readonly attempt: number;
  readonly at: string;
  readonly outcome: "success" | "http_error" | "timeout" | "network_error";
  readonly status: number | null;
  readonly durationMs: number;
  readonly error: string | null;
}

/** What the endpoint's attempts ended as, counted: the explanation of its lost pairs. */
async function attemptOutcomes(server: DevServer, endpoint: Endpoint): Promise<string> {
  const counts = new Map<string, number>();
  for (const { outcome, status, error } of await attemptLog(server, endpoint.subscription.id)) {
    const kind = `${outcome}${status === null ? "" : ` ${status}`}${error ? ` (${error.slice(0, 80)})` : ""}`;
    counts.set(kind, (counts.get(kind) ?? 0) + 1);
  }
  return `attempts ${[...counts].map(([kind, count]) => `${count} × ${kind}`).join(", ")}`;
}

/** The subscription's attempt log, newest first, all pages. */
export async function attemptLog(server: DevServer, subscriptionId: string): Promise<AttemptRecord[]> {
  const all: AttemptRecord[] = [];
  let cursor: string | null = null;
  do {
    const query: string = cursor === null ? "" : `&cursor=${cursor}`;
    const response = await server.api(`/v1/webhooks/subscriptions/${subscriptionId}/attempts?limit=100${query}`);
    if (response.status !== 200) throw new Error(`attempt log of ${subscriptionId}: ${response.status} ${await response.text()}`);
    const page = (await response.json()) as { attempts: AttemptRecord[]; nextCursor: string | null };
    all.push(...page.attempts);
    cursor = page.nextCursor;
  } while (cursor !== null);
  return all;
}

/**
 * Nothing is POSTed to a disabled subscription: no request reached its receiver after every attempt it
 * recorded had ended (a request arrives before its attempt ends), nor after its `updatedAt`, when the
 * disable was recorded (to the second).
 */
async function postsWhileDisabled(server: DevServer, endpoint: Endpoint, requests: readonly ReceivedRequest[]): Promise<string[]> {
  const response = await server.api(`/v1/webhooks/subscriptions/${endpoint.subscription.id}`);
  const view = (await response.json()) as { disabled: boolean; updatedAt: string };
  if (!view.disabled) return [];
  // The log is ordered by start; an attempt that started earlier (a timeout) may have ended later.
  const lastAttemptEnd = Math.max(0, ...(await attemptLog(server, endpoint.subscription.id)).map((attempt) => Date.parse(attempt.at) + attempt.durationMs));
  const disabledBy = Math.max(lastAttemptEnd, Date.parse(view.updatedAt) + 1000) + CLOCK_SLACK_MS;
  const late = requests.filter((request) => request.receivedAt > disabledBy);
  return late.length === 0 ? [] : [`${endpoint.subscription.id}: ${late.length} requests after it was disabled (${new Date(disabledBy).toISOString()})`];
}

/** A server run: from /health answering to its kill (or now). */
export interface Run {
  readonly readyAt: number;
  endedAt?: number;
}

/**
 * How long something due at `dueAt` and first seen at `seenAt` was owed while a server was up: the
 * time between the two that falls inside a run. Time while the server was dead does not count.
 */
export function liveTimeOwed(dueAt: number, seenAt: number, runs: readonly Run[]): number {
  let owed = 0;
  for (const run of runs) {
    const from = Math.max(dueAt, run.readyAt);
    const to = Math.min(seenAt, run.endedAt ?? Number.POSITIVE_INFINITY);
    if (to > from) owed += to - from;
  }
  return owed;
}

/**
 * Appends one fault case's figures to test-results/faults.jsonl (RELIABILITY.md is filled from it)
 * and prints them.
 */
export function reportFigures(fault: string, figures: Record<string, unknown>): void {
  const line = JSON.stringify({ fault, at: new Date().toISOString(), repo: process.env.DOORBELL_DEV_REPO ?? ".", ...figures });
  const file = resolve(import.meta.dirname, "../../test-results/faults.jsonl");
  mkdirSync(dirname(file), { recursive: true });
  appendFileSync(file, `${line}\n`);
  console.info(`faults: ${line}`);
}
