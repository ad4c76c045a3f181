import { DurableObject } from "cloudflare:workers";
import { configOf, type Config } from "../config";
import { deliveryMessages, sendAll, type OpsEvent, type QueueMessage } from "../delivery/messages";
import { attemptDelivery } from "../delivery/attempt";
import { OUTCOMES, nextStep, type Outcome } from "../delivery/retry-policy";
import { generateSecret } from "../delivery/signature";
import { typesMatchCode } from "../domain/catalog";
import { groupBy } from "../domain/collections";
import type { IngestedEvent } from "../domain/event";
import type { DisabledReason, PayloadFormat, SubscriptionCreate, SubscriptionUpdate, SubscriptionView } from "../domain/subscription";
import type { Env } from "../env";
import { addMissingSubscriptionColumns } from "./subscription-columns";

/**
 * One subscription, and the single owner of everything about it: its settings and secrets, its
 * consecutive-failure counter and disabled flag, every delivery owed to it and every attempt made.
 */

export const DELIVERY_STATUSES = ["pending", "delivered", "retrying", "failed", "held"] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

/** How long a rotated-out secret still signs deliveries. */
const PREVIOUS_SECRET_TTL_MS = 24 * 60 * 60 * 1000;
/** Delivered rows are kept this long (for `GET /v1/events/{uuid}` and deduplication), attempts likewise. */
const RETENTION_MS = 30 * 24 * 60 * 60 * 1000;
const DAY_MS = 24 * 60 * 60 * 1000;
/** POSTs at once to one healthy endpoint (Cloudflare keeps 6 connections open per invocation; more wait for one). */
const MAX_IN_FLIGHT = 10;
/** POSTs at once while the endpoint's last attempt failed: probe it, don't flood it before it is disabled. */
const MAX_IN_FLIGHT_WHILE_FAILING = 1;
/** How soon the watchdog looks again at owed deliveries that are overdue but under way in this instance. */
const WATCHDOG_RECHECK_MS = 1_000;
/** How long a finished attempt waits for others to be recorded with it (it delays only its slot's next POST). */
const RECORD_COALESCE_MS = 5;
/** Bytes of a response body kept in the attempt log. */
const MAX_ERROR_LENGTH = 512;

// Rows written are most of what a delivery costs: no rowid behind the deliveries' key, no
// AUTOINCREMENT bookkeeping, and an index only over what is still owed.
const SCHEMA = `
CREATE TABLE IF NOT EXISTS subscription (
  singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
  id TEXT NOT NULL, name TEXT NOT NULL, target_url TEXT NOT NULL, event_types TEXT NOT NULL,
  auth_header TEXT, secret TEXT NOT NULL, previous_secret TEXT, previous_secret_until INTEGER,
  disabled INTEGER NOT NULL, disabled_reason TEXT, consecutive_failures INTEGER NOT NULL,
  created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS deliveries (
  event_id TEXT PRIMARY KEY, event_code TEXT NOT NULL, body TEXT NOT NULL,
  status TEXT NOT NULL, attempts INTEGER NOT NULL, next_attempt_at INTEGER NOT NULL,
  created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL
) WITHOUT ROWID;
DROP INDEX IF EXISTS deliveries_by_status;
CREATE INDEX IF NOT EXISTS deliveries_owed ON deliveries (next_attempt_at) WHERE status IN ('pending', 'retrying');
CREATE TABLE IF NOT EXISTS attempts (
  seq INTEGER PRIMARY KEY, event_id TEXT NOT NULL, event_code TEXT NOT NULL,
  attempt INTEGER NOT NULL, at INTEGER NOT NULL, outcome TEXT NOT NULL, status INTEGER,
  duration_ms INTEGER NOT NULL, error TEXT
);
`;

type SubscriptionRow = {
  id: string;
  name: string;
  target_url: string;
  event_types: string;
  auth_header: string | null;
  secret: string;
  previous_secret: string | null;
  previous_secret_until: number | null;
  disabled: number;
  disabled_reason: DisabledReason | null;
  consecutive_failures: number;
  created_at: number;
  updated_at: number;
  payload_format: PayloadFormat;
  max_events_per_delivery: number;
  max_concurrency: number;
};

type DeliveryRow = {
  event_id: string;
  event_code: string;
  body: string;
  status: DeliveryStatus;
  attempts: number;
  next_attempt_at: number;
  created_at: number;
};

type AttemptRow = {
  seq: number;
  event_id: string;
  event_code: string;
  attempt: number;
  at: number;
  outcome: Outcome;
  status: number | null;
  duration_ms: number;
  error: string | null;
};

/** Where and how to deliver, for the consumer. */
export interface DeliveryTarget {
  readonly url: string;
  readonly authorization: string | null;
  /** The current secret first, then a rotated-out one while it is still valid. */
  readonly secrets: string[];
}

type ClaimDecision =
  | { readonly eventId: string; readonly decision: "deliver"; readonly attempt: number; readonly body: string }
  | { readonly eventId: string; readonly decision: "skip" }
  | { readonly eventId: string; readonly decision: "later"; readonly delaySeconds: number };

interface Claim {
  readonly target: DeliveryTarget;
  readonly decisions: ClaimDecision[];
}

export interface AttemptReport {
  readonly eventId: string;
  readonly attempt: number;
  readonly at: number;
  readonly outcome: Outcome;
  readonly status: number | null;
  readonly durationMs: number;
  readonly error: string | null;
  readonly retryAfterSeconds: number | null;
}

export interface AttemptView {
  eventId: string;
  eventCode: string;
  attempt: number;
  at: string;
  outcome: Outcome;
  status: number | null;
  durationMs: number;
  error: string | null;
}

export interface DeliveryView {
  status: DeliveryStatus;
  attempts: number;
}

export type OutcomeCounts = Record<Outcome, number>;

/** What the operator dashboard shows of a subscription, read in one call (see `summary`). */
export interface SubscriptionSummary {
  subscription: SubscriptionView;
  lastAttempt: { at: string; outcome: Outcome; status: number | null } | null;
  /** Attempts of the last 24 hours. */
  lastDay: OutcomeCounts;
  /** Deliveries not (yet) delivered, by status. */
  owed: Record<Exclude<DeliveryStatus, "delivered">, number>;
  /** Attempts per time bucket, oldest first; the last bucket holds now. */
  chart: { start: string; bucketMs: number; buckets: OutcomeCounts[] };
}

function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

export class SubscriptionObject extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  private readonly config: Config;
  /** Deliveries handed over by `dispatch` and not yet started. */
  private readonly waiting = new Set<string>();
  /** POSTs under way from this instance (the free slots are the limit minus this). */
  private inFlight = 0;
  /**
   * Deliveries claimed and not yet recorded: a duplicate message must not POST them again. In memory,
   * not storage, on purpose: it is one row write less per delivery, and if this instance is lost
   * mid-POST its claims go with it, so the watchdog may re-enqueue at once.
   */
  private readonly unrecorded = new Set<string>();
  /** Sent again (redeliver, replay) while a POST of it was under way: restarted once that POST is recorded. */
  private readonly restartWhenRecorded = new Set<string>();
  /** Attempts finished and waiting to be recorded together. */
  private readonly finished: AttemptReport[] = [];
  private recording = false;
  /** The recording that `recordSoon` has scheduled, while it waits. */
  private recordingSoon: Promise<void> | null = null;
  /** When the alarm is set for, once read (undefined: not read yet); saves a storage read per record. */
  private alarmAt: number | null | undefined = undefined;
  /** The subscription's row as last read (undefined: to be read again; null: there is none). */
  private cachedRow: SubscriptionRow | null | undefined = undefined;
  /** Pruning scans old rows, so it runs at most daily per instance (the alarm fires far more often). */
  private lastPrunedAt = 0;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.config = configOf(env);
    this.sql = ctx.storage.sql;
    this.sql.exec(SCHEMA);
    addMissingSubscriptionColumns(this.sql);
  }

  // ---- settings -------------------------------------------------------------------------------

  create(id: string, input: SubscriptionCreate): { subscription: SubscriptionView; secret: string } {
    const now = Date.now();
    const secret = generateSecret();
    this.writeSubscription(
      `INSERT INTO subscription (singleton, id, name, target_url, event_types, auth_header, secret, disabled, disabled_reason, consecutive_failures, created_at, updated_at,
         payload_format, max_events_per_delivery, max_concurrency)
       VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?)`,
      id, input.name, input.targetUrl, JSON.stringify(input.eventTypes), input.authorization ?? null, secret,
      input.disabled ? 1 : 0, input.disabled ? "manual" : null, now, now,
      input.payloadFormat ?? "event", input.maxEventsPerDelivery ?? 1, input.maxConcurrency ?? 20,
    );
    return { subscription: this.viewOf(this.row()!), secret };
  }

  view(): SubscriptionView | null {
    const row = this.row();
    return row ? this.viewOf(row) : null;
  }

  update(patch: SubscriptionUpdate): SubscriptionView | null {
    const row = this.row();
    if (!row) return null;
    const now = Date.now();
    const next: SubscriptionRow = {
      ...row,
      name: patch.name ?? row.name,
      target_url: patch.targetUrl ?? row.target_url,
      event_types: patch.eventTypes ? JSON.stringify(patch.eventTypes) : row.event_types,
      auth_header: patch.authorization === undefined ? row.auth_header : patch.authorization,
      payload_format: patch.payloadFormat ?? row.payload_format,
      max_events_per_delivery: patch.maxEventsPerDelivery ?? row.max_events_per_delivery,
      max_concurrency: patch.maxConcurrency ?? row.max_concurrency,
      updated_at: now,
    };
    if (patch.disabled === false) Object.assign(next, { disabled: 0, disabled_reason: null, consecutive_failures: 0 });
    if (patch.disabled === true && !row.disabled) Object.assign(next, { disabled: 1, disabled_reason: "manual" });
    this.writeSubscription(
      `UPDATE subscription SET name = ?, target_url = ?, event_types = ?, auth_header = ?, disabled = ?, disabled_reason = ?,
       consecutive_failures = ?, updated_at = ?, payload_format = ?, max_events_per_delivery = ?, max_concurrency = ?`,
      next.name, next.target_url, next.event_types, next.auth_header, next.disabled, next.disabled_reason,
      next.consecutive_failures, next.updated_at, next.payload_format, next.max_events_per_delivery, next.max_concurrency,
    );
    if (next.disabled) this.holdOwedDeliveries(now);
    return this.viewOf(next);
  }

  /** Forgets the subscription and everything owed to it: nothing more is delivered. */
  async remove(): Promise<boolean> {
    if (!this.row()) return false;
    await this.ctx.storage.deleteAlarm();
    await this.ctx.storage.deleteAll();
    this.alarmAt = null;
    this.cachedRow = undefined;
    this.sql.exec(SCHEMA); // this instance may still answer (404s) until it is evicted
    addMissingSubscriptionColumns(this.sql);
    return true;
  }

  secret(): string | null {
    return this.row()?.secret ?? null;
  }

  rotateSecret(): string | null {
    const row = this.row();
    if (!row) return null;
    const now = Date.now();
    const secret = generateSecret();
    this.writeSubscription(
      "UPDATE subscription SET secret = ?, previous_secret = ?, previous_secret_until = ?, updated_at = ?",
      secret, row.secret, now + PREVIOUS_SECRET_TTL_MS, now,
    );
    return secret;
  }

  // ---- deliveries -------------------------------------------------------------------------------

  /**
   * Records the deliveries owed for these events (those its event types select). Idempotent per event.
   * Returns the events newly owed, and whether they are held (the subscription is disabled); the
   * caller enqueues the others, and withdraws them all if the ingest as a whole cannot be accepted.
   * Until their messages arrive, the watchdog knows them as owed.
   */
  async accept(events: readonly IngestedEvent[]): Promise<{ eventIds: string[]; held: boolean }> {
    const row = this.row();
    if (!row) return { eventIds: [], held: false };
    const eventTypes = JSON.parse(row.event_types) as string[];
    const now = Date.now();
    const status: DeliveryStatus = row.disabled ? "held" : "pending";
    const eventIds: string[] = [];
    for (const event of events) {
      if (!typesMatchCode(eventTypes, event.code)) continue;
      const inserted = this.sql.exec(
        `INSERT INTO deliveries (event_id, event_code, body, status, attempts, next_attempt_at, created_at, updated_at)
         VALUES (?, ?, ?, ?, 0, ?, ?, ?) ON CONFLICT (event_id) DO NOTHING`,
        event.id, event.code, event.body, status, now, now, now,
      ).rowsWritten;
      if (inserted > 0) eventIds.push(event.id);
    }
    if (eventIds.length > 0 && !row.disabled) await this.scheduleWatchdog();
    return { eventIds, held: row.disabled === 1 };
  }

  /**
   * Takes back deliveries that `accept` recorded when the ingest request as a whole could not be
   * accepted (the producer got a 503 and will send again). One already attempted stays: it happened.
   */
  withdraw(eventIds: readonly string[]): void {
    for (const eventId of eventIds)
      this.sql.exec("DELETE FROM deliveries WHERE event_id = ? AND attempts = 0 AND status IN ('pending', 'held')", eventId);
  }

  /**
   * The queue consumer hands over the deliveries its messages point at and gets its answer at once:
   * the POSTs run here in the background, so a slow endpoint holds back only its own subscription,
   * never the consumer's batch. They wait here in memory for a free slot (storage still says what is
   * owed: if this object is lost, the watchdog re-enqueues). A delivery not due yet goes back on the
   * queue with the rest of its delay.
   */
  dispatch(eventIds: readonly string[]): void {
    for (const eventId of eventIds) this.waiting.add(eventId);
    this.ctx.waitUntil(this.startDeliveries());
  }

  /**
   * Fills the free slots: at most MAX_IN_FLIGHT POSTs at once, and one at a time while the endpoint is
   * failing, so that a dead endpoint sees a probe, not a flood, before it is disabled.
   */
  private async startDeliveries(): Promise<void> {
    const row = this.row();
    if (!row) return this.waiting.clear();
    const limit = row.consecutive_failures > 0 ? MAX_IN_FLIGHT_WHILE_FAILING : MAX_IN_FLIGHT;
    const notYet: { eventId: string; delaySeconds: number }[] = [];
    while (this.inFlight < limit && this.waiting.size > 0) {
      const batch = this.takeWaiting(limit - this.inFlight);
      const claim = this.claim(batch);
      if (!claim) return this.waiting.clear();
      for (const decision of claim.decisions) {
        if (decision.decision === "later") notYet.push(decision);
        if (decision.decision !== "deliver") continue;
        this.inFlight += 1;
        this.ctx.waitUntil(this.deliver(claim.target, decision));
      }
    }
    if (notYet.length > 0) await this.enqueue(notYet);
  }

  /** The first `count` waiting deliveries, taken off the set (without copying all of it: it can hold thousands). */
  private takeWaiting(count: number): string[] {
    const taken: string[] = [];
    for (const eventId of this.waiting) {
      if (taken.length === count) break;
      taken.push(eventId);
    }
    for (const eventId of taken) this.waiting.delete(eventId);
    return taken;
  }

  private async deliver(target: DeliveryTarget, { eventId, body, attempt }: Extract<ClaimDecision, { decision: "deliver" }>): Promise<void> {
    const report = await attemptDelivery({
      target, messageId: eventId, body, attempt, timeoutMs: this.config.deliveryTimeoutMs, policy: this.config.targetPolicy,
    });
    this.inFlight -= 1;
    this.finished.push(report);
    await this.recordSoon();
  }

  /**
   * Records what finished in the next few milliseconds together, then refills the free slots: one
   * storage commit and one claim for several POSTs instead of one each (measured: 3 attempts per
   * record instead of 1, and about a third more deliveries per second of CPU).
   */
  private recordSoon(): Promise<void> {
    this.recordingSoon ??= scheduler.wait(RECORD_COALESCE_MS).then(async () => {
      this.recordingSoon = null;
      await this.recordFinished();
      await this.startDeliveries();
    });
    return this.recordingSoon;
  }

  /** One `record` at a time, taking every attempt that finished meanwhile: one commit for several attempts. */
  private async recordFinished(): Promise<void> {
    if (this.recording) return; // the loop below takes these too
    this.recording = true;
    try {
      while (this.finished.length > 0) {
        const reports = this.finished.splice(0);
        try {
          await this.record(reports);
        } catch (error) {
          console.error(`subscription ${this.row()?.id ?? "?"}: recording attempts failed: ${String(error)}`);
        }
        for (const report of reports) this.unrecorded.delete(report.eventId);
        const again = reports.filter((report) => this.restartWhenRecorded.delete(report.eventId)).map((report) => report.eventId);
        // Restarted rows are owed: if enqueueing fails, the watchdog sends them.
        if (again.length > 0) await this.restart(again).catch((error) => console.error(`subscription ${this.row()?.id ?? "?"}: restarting failed: ${String(error)}`));
      }
    } finally {
      this.recording = false;
    }
  }

  /** Claims what is due so that a duplicate queue message cannot POST it twice at once; holds what is owed while disabled. */
  private claim(eventIds: readonly string[]): Claim | null {
    const row = this.row();
    if (!row) return null;
    const now = Date.now();
    const decisions = eventIds.map((eventId): ClaimDecision => {
      const delivery = this.delivery(eventId);
      if (!delivery || (delivery.status !== "pending" && delivery.status !== "retrying") || this.unrecorded.has(eventId))
        return { eventId, decision: "skip" };
      if (row.disabled) {
        this.setStatus(eventId, "held", now);
        return { eventId, decision: "skip" };
      }
      if (delivery.next_attempt_at > now + 1000)
        return { eventId, decision: "later", delaySeconds: Math.ceil((delivery.next_attempt_at - now) / 1000) };
      this.unrecorded.add(eventId);
      return { eventId, decision: "deliver", attempt: delivery.attempts + 1, body: delivery.body };
    });
    return { target: this.targetOf(row, now), decisions };
  }

  /**
   * Records attempts and decides what follows each: delivered, a delayed retry, failed, or held.
   * The failure counter and disabled flag change in the same storage transaction as the log.
   */
  private async record(reports: readonly AttemptReport[]): Promise<void> {
    const row = this.row();
    if (!row) return;
    const now = Date.now();
    let failures = row.consecutive_failures;
    let disabled: DisabledReason | null = row.disabled ? row.disabled_reason ?? "manual" : null;
    const retries: { eventId: string; delaySeconds: number }[] = [];
    const alerts: OpsEvent[] = [];

    for (const report of reports) {
      const delivery = this.sql
        .exec<Pick<DeliveryRow, "event_code" | "status" | "next_attempt_at">>(
          "SELECT event_code, status, next_attempt_at FROM deliveries WHERE event_id = ?",
          report.eventId,
        )
        .toArray()[0];
      if (!delivery) continue;
      this.sql.exec(
        `INSERT INTO attempts (event_id, event_code, attempt, at, outcome, status, duration_ms, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
        report.eventId, delivery.event_code, report.attempt, report.at, report.outcome, report.status, report.durationMs,
        report.error?.slice(0, MAX_ERROR_LENGTH) ?? null,
      );
      if (delivery.status === "delivered") continue; // a duplicate message raced a finished delivery

      const step = nextStep(report, this.config);
      let status: DeliveryStatus;
      let nextAttemptAt = delivery.next_attempt_at;
      if (step.kind === "delivered") {
        if (failures > 0) alerts.push({ type: "subscription.recovered", subscriptionId: row.id, failuresBefore: failures });
        failures = 0;
        status = "delivered";
      } else {
        failures += 1;
        const reason = step.kind === "gone" ? "gone" : failures >= this.config.disableAfterFailures ? "failures" : null;
        if (reason && !disabled) {
          disabled = reason;
          alerts.push({
            type: "subscription.disabled", subscriptionId: row.id, reason, lastStatus: report.status,
            lastError: report.error, consecutiveFailures: failures,
          });
        }
        if (step.kind === "failed") {
          status = "failed";
          alerts.push({ type: "delivery.failed", subscriptionId: row.id, eventId: report.eventId, attempts: report.attempt });
        } else if (disabled || step.kind === "gone") {
          status = "held";
        } else {
          status = "retrying";
          nextAttemptAt = now + step.delaySeconds * 1000;
          retries.push({ eventId: report.eventId, delaySeconds: step.delaySeconds });
        }
      }
      this.sql.exec(
        "UPDATE deliveries SET status = ?, attempts = ?, next_attempt_at = ?, updated_at = ? WHERE event_id = ?",
        status, report.attempt, nextAttemptAt, now, report.eventId,
      );
    }

    const newlyDisabled = disabled !== null && !row.disabled;
    if (failures !== row.consecutive_failures || newlyDisabled) {
      this.writeSubscription(
        "UPDATE subscription SET consecutive_failures = ?, disabled = ?, disabled_reason = ?, updated_at = ?",
        failures, disabled ? 1 : 0, disabled, newlyDisabled ? now : row.updated_at,
      );
    }
    if (newlyDisabled) this.holdOwedDeliveries(now);

    try {
      await this.enqueue(newlyDisabled ? [] : retries, alerts);
    } catch (error) {
      // The rows say what is owed; the watchdog alarm re-enqueues anything the queue did not take.
      console.error(`subscription ${row.id}: enqueueing retries failed: ${String(error)}`);
    }
    // No watchdog to move: recording only takes deliveries off what is owed, or puts one back for
    // later than it was due, so the alarm set for what was owed is never late for what is.
  }

  deliveryOf(eventId: string): DeliveryView | null {
    const delivery = this.delivery(eventId);
    return delivery ? { status: delivery.status, attempts: delivery.attempts } : null;
  }

  attempts(limit: number, before: number | null): { items: AttemptView[]; nextCursor: number | null } {
    const rows = this.sql
      .exec<AttemptRow>("SELECT * FROM attempts WHERE seq < ? ORDER BY seq DESC LIMIT ?", before ?? Number.MAX_SAFE_INTEGER, limit + 1)
      .toArray();
    const page = rows.slice(0, limit);
    return {
      items: page.map((attempt) => ({
        eventId: attempt.event_id, eventCode: attempt.event_code, attempt: attempt.attempt, at: new Date(attempt.at).toISOString(),
        outcome: attempt.outcome, status: attempt.status, durationMs: attempt.duration_ms, error: attempt.error,
      })),
      nextCursor: rows.length > limit ? (page.at(-1)?.seq ?? null) : null,
    };
  }

  /** Re-enqueues failed and held deliveries created in the window, with fresh attempts. */
  async replay(since: number | null, until: number | null): Promise<number | "disabled" | null> {
    const row = this.row();
    if (!row) return null;
    if (row.disabled) return "disabled";
    const eventIds = this.sql
      .exec<{ event_id: string }>(
        "SELECT event_id FROM deliveries WHERE status IN ('failed', 'held') AND created_at >= ? AND created_at <= ? ORDER BY created_at",
        since ?? 0, until ?? Number.MAX_SAFE_INTEGER,
      )
      .toArray()
      .map((delivery) => delivery.event_id);
    return this.restart(eventIds);
  }

  /** Sends one event again, whatever its delivery's state; held while the subscription is disabled. */
  async redeliver(eventId: string): Promise<"queued" | "disabled" | "unknown"> {
    const row = this.row();
    if (!row || !this.delivery(eventId)) return "unknown";
    if (row.disabled) return "disabled";
    await this.restart([eventId]);
    return "queued";
  }

  private async restart(eventIds: readonly string[]): Promise<number> {
    const now = Date.now();
    const queued: string[] = [];
    for (const eventId of eventIds) {
      // A POST of it is under way: its outcome is recorded first, then it starts over.
      if (this.unrecorded.has(eventId)) {
        this.restartWhenRecorded.add(eventId);
        continue;
      }
      this.sql.exec(
        "UPDATE deliveries SET status = 'pending', attempts = 0, next_attempt_at = ?, updated_at = ? WHERE event_id = ?",
        now, now, eventId,
      );
      queued.push(eventId);
    }
    await this.enqueue(queued.map((eventId) => ({ eventId, delaySeconds: 0 })));
    await this.scheduleWatchdog();
    return eventIds.length;
  }

  // ---- dashboard (read-only) ---------------------------------------------------------------------

  /**
   * Everything the operator dashboard shows of this subscription: settings, last attempt, the last 24
   * hours by outcome, owed deliveries by status, and `bucketCount` buckets of `bucketMs` (aligned to
   * multiples of it) for a chart. Reads the attempt log newest first and stops past the window.
   */
  summary(bucketMs: number, bucketCount: number): SubscriptionSummary | null {
    if (!Number.isSafeInteger(bucketMs) || bucketMs < 1000 || !Number.isSafeInteger(bucketCount) || bucketCount < 0 || bucketCount > 1000)
      throw new RangeError("summary: bucketMs must be an integer >= 1000 and bucketCount from 0 to 1000");
    const row = this.row();
    if (!row) return null;
    const now = Date.now();
    const chartStart = (Math.floor(now / bucketMs) + 1 - bucketCount) * bucketMs;
    const dayStart = now - DAY_MS;
    // Attempts are logged in the order they finish: one that started earlier lands at most a POST timeout (and a minute) later.
    const stopBefore = Math.min(dayStart, chartStart) - this.config.deliveryTimeoutMs - 60_000;
    const countsOf = (): OutcomeCounts => Object.fromEntries(OUTCOMES.map((outcome) => [outcome, 0])) as OutcomeCounts;
    const lastDay = countsOf();
    const buckets = Array.from({ length: bucketCount }, countsOf);
    let lastAttempt: SubscriptionSummary["lastAttempt"] = null;
    for (const attempt of this.sql.exec<Pick<AttemptRow, "at" | "outcome" | "status">>("SELECT at, outcome, status FROM attempts ORDER BY seq DESC")) {
      lastAttempt ??= { at: new Date(attempt.at).toISOString(), outcome: attempt.outcome, status: attempt.status };
      if (attempt.at < stopBefore) break;
      if (attempt.at >= dayStart) lastDay[attempt.outcome] += 1;
      const bucket = buckets[Math.floor((attempt.at - chartStart) / bucketMs)];
      if (bucket) bucket[attempt.outcome] += 1;
    }
    const owed = { pending: 0, retrying: 0, failed: 0, held: 0 };
    const byStatus = this.sql.exec<{ status: keyof typeof owed; count: number }>(
      "SELECT status, COUNT(*) AS count FROM deliveries WHERE status IN ('pending', 'retrying', 'failed', 'held') GROUP BY status",
    );
    for (const { status, count } of byStatus) owed[status] = count;
    return { subscription: this.viewOf(row), lastAttempt, lastDay, owed, chart: { start: new Date(chartStart).toISOString(), bucketMs, buckets } };
  }

  // ---- watchdog -----------------------------------------------------------------------------------

  /**
   * The queue is not the only record of what is owed: a message can be lost (a local restart, the
   * dead letter queue, retention). Whatever is owed and overdue by more than the grace period is
   * enqueued again; old finished rows are pruned.
   */
  override async alarm(): Promise<void> {
    this.alarmAt = null; // this one has fired
    const row = this.row();
    if (!row) return;
    const now = Date.now();
    const graceMs = this.config.redeliveryGraceSeconds * 1000;
    const overdue = this.sql
      .exec<{ event_id: string }>(
        "SELECT event_id FROM deliveries WHERE status IN ('pending', 'retrying') AND next_attempt_at <= ? LIMIT 1000",
        now - graceMs,
      )
      .toArray()
      .map((delivery) => delivery.event_id)
      .filter((eventId) => !this.unrecorded.has(eventId) && !this.waiting.has(eventId)); // under way here
    for (const eventId of overdue) this.sql.exec("UPDATE deliveries SET next_attempt_at = ? WHERE event_id = ?", now, eventId);
    if (overdue.length > 0) await this.enqueue(overdue.map((eventId) => ({ eventId, delaySeconds: 0 })));

    if (now - this.lastPrunedAt > DAY_MS) {
      const horizon = now - RETENTION_MS;
      this.sql.exec("DELETE FROM deliveries WHERE status = 'delivered' AND updated_at < ?", horizon);
      this.sql.exec("DELETE FROM attempts WHERE at < ?", horizon);
      this.lastPrunedAt = now;
    }
    await this.scheduleWatchdog();
  }

  /** Index lookups only: this runs after every accept, so it must not scan the table. */
  private async scheduleWatchdog(): Promise<void> {
    const earliestDue =
      this.sql
        .exec<{ due: number }>(
          "SELECT next_attempt_at AS due FROM deliveries WHERE status IN ('pending', 'retrying') ORDER BY next_attempt_at LIMIT 1",
        )
        .toArray()[0]?.due ?? null;
    let wanted: number;
    // Never in the past: overdue deliveries that the alarm left alone are under way here and wait
    // for their POST; an alarm set in the past fires again at once, in a loop.
    if (earliestDue !== null) wanted = Math.max(earliestDue + this.config.redeliveryGraceSeconds * 1000, Date.now() + WATCHDOG_RECHECK_MS);
    else if (this.sql.exec("SELECT 1 FROM deliveries LIMIT 1").toArray().length > 0) wanted = Date.now() + DAY_MS; // pruning
    else return;
    if (this.alarmAt === undefined) this.alarmAt = await this.ctx.storage.getAlarm();
    if (this.alarmAt === null || wanted < this.alarmAt) {
      await this.ctx.storage.setAlarm(wanted);
      this.alarmAt = wanted;
    }
  }

  // ---- helpers ------------------------------------------------------------------------------------

  /** Read on nearly every call, written rarely: kept in the instance, and forgotten by every write. */
  private row(): SubscriptionRow | null {
    if (this.cachedRow === undefined) this.cachedRow = this.sql.exec<SubscriptionRow>("SELECT * FROM subscription").toArray()[0] ?? null;
    return this.cachedRow;
  }

  private writeSubscription(query: string, ...bindings: SqlStorageValue[]): void {
    this.sql.exec(query, ...bindings);
    this.cachedRow = undefined;
  }

  private delivery(eventId: string): DeliveryRow | null {
    return this.sql.exec<DeliveryRow>("SELECT * FROM deliveries WHERE event_id = ?", eventId).toArray()[0] ?? null;
  }

  private setStatus(eventId: string, status: DeliveryStatus, now: number): void {
    this.sql.exec("UPDATE deliveries SET status = ?, updated_at = ? WHERE event_id = ?", status, now, eventId);
  }

  private holdOwedDeliveries(now: number): void {
    this.sql.exec("UPDATE deliveries SET status = 'held', updated_at = ? WHERE status IN ('pending', 'retrying')", now);
  }

  private async enqueue(deliveries: readonly { eventId: string; delaySeconds: number }[], alerts: readonly OpsEvent[] = []): Promise<void> {
    if (deliveries.length === 0 && (alerts.length === 0 || !this.config.opsWebhookUrl)) return;
    const id = this.row()?.id;
    if (!id) return;
    // One message per delay: a retry wave or a watchdog sweep is one message, not one per delivery.
    const messages: MessageSendRequest<QueueMessage>[] = [...groupBy(deliveries, (delivery) => delivery.delaySeconds)].flatMap(
      ([delaySeconds, group]) => deliveryMessages(id, group.map((delivery) => delivery.eventId), delaySeconds),
    );
    if (this.config.opsWebhookUrl) {
      const at = new Date().toISOString();
      for (const event of alerts) messages.push({ body: { type: "ops", id: `ops_${crypto.randomUUID()}`, at, event } });
    }
    if (messages.length > 0) await sendAll(this.env.DELIVERIES, messages);
  }

  private targetOf(row: SubscriptionRow, now: number): DeliveryTarget {
    const secrets = [row.secret];
    if (row.previous_secret && (row.previous_secret_until ?? 0) > now) secrets.push(row.previous_secret);
    return { url: row.target_url, authorization: row.auth_header, secrets };
  }

  private viewOf(row: SubscriptionRow): SubscriptionView {
    return {
      id: row.id,
      name: row.name,
      targetUrl: row.target_url,
      eventTypes: JSON.parse(row.event_types) as string[],
      disabled: row.disabled === 1,
      disabledReason: row.disabled ? row.disabled_reason : null,
      consecutiveFailures: row.consecutive_failures,
      payloadFormat: row.payload_format,
      maxEventsPerDelivery: row.max_events_per_delivery,
      maxConcurrency: row.max_concurrency,
      createdAt: isoSeconds(row.created_at),
      updatedAt: isoSeconds(row.updated_at),
    };
  }
}
