import { DurableObject } from "cloudflare:workers";
import { configOf, DAY_MS, type Config } from "../config";
import { deliveryMessages, sendAll } from "../delivery/messages";
import { faults } from "../faults";
import type { DeliveryItem } from "../domain/delivery";
import { gate, isFresh } from "../domain/gate";
import type { SubscriptionCreate, SubscriptionUpdate, SubscriptionView } from "../domain/subscription";
import type { Env } from "../env";
import type { LedgerView } from "./ledger/event-store";
import { AttemptLog, type AttemptPage } from "./subscription/attempt-log";
import { Backstop, type AskedEvent } from "./subscription/backstop";
import type { FinishResult, FinishedAttempt, GatePlan, GateRequest, OwedCheck } from "./subscription/control";
import { DELIVERED_ROWS_KEPT_MS, DeliveryStore, isOwedRestart, viewOfDelivery, viewWithoutRow, type DeliveryView } from "./subscription/deliveries";
import { Leases } from "./subscription/leases";
import { RestartWatch } from "./subscription/restart-watch";
import { outcomesOf } from "./subscription/outcomes";
import { SettingsStore, viewOf } from "./subscription/settings";
import { checkSummaryWindow, summarize, type SubscriptionSummary } from "./subscription/summary";

/** Between the steps of a prune pass over a large delivery table. */
const PRUNE_STEP_GAP_MS = 1_000;

/**
 * One subscription's control plane: its settings and secrets, the gate the consumer asks before it
 * POSTs (with the leases that make up its concurrency budget), what follows each attempt, the attempt
 * log, what is held, and the backstop's questions. It never POSTs and never stores an event body; each
 * job belongs to a part that owns one table or one piece of memory.
 */
export class SubscriptionObject extends DurableObject<Env> {
  private readonly config: Config;
  private readonly settings: SettingsStore;
  private readonly deliveries: DeliveryStore;
  private readonly log: AttemptLog;
  private readonly leases = new Leases();
  private readonly backstop = new Backstop();
  private readonly restarts: RestartWatch;
  /** Whether this instance has made sure the retention alarm is set. */
  private alarmChecked = false;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.config = configOf(env);
    this.settings = new SettingsStore(ctx.storage.sql);
    this.deliveries = new DeliveryStore(ctx.storage.sql);
    this.restarts = new RestartWatch(this.deliveries, this.backstop);
    this.log = new AttemptLog(ctx.storage, this.config.maxLoggedAttempts);
  }


  async create(id: string, input: SubscriptionCreate): Promise<{ subscription: SubscriptionView; secret: string }> {
    const settings = this.settings.create(id, input, Date.now());
    await this.ensureAlarm();
    return { subscription: viewOf(settings), secret: settings.secret };
  }

  view(): SubscriptionView | null {
    const settings = this.settings.current();
    return settings ? viewOf(settings) : null;
  }

  update(patch: SubscriptionUpdate): SubscriptionView | null {
    const now = Date.now();
    const updated = this.settings.update(patch, now);
    if (updated?.disabled) this.deliveries.holdOwed(now);
    return updated ? viewOf(updated.settings) : null;
  }

  /** A tombstone: gone for the API and nothing more is sent, but its deliveries and log stay until retention. */
  remove(): boolean {
    return this.settings.remove(Date.now());
  }

  secret(): string | null {
    return this.settings.current()?.secret ?? null;
  }

  /** The new secret; "too_many" while MAX_VALID_SECRETS already sign; null when there is no subscription. */
  rotateSecret(): string | "too_many" | null {
    return this.settings.rotateSecret(Date.now());
  }


  /** The gate: what of these deliveries to POST now and how many at once (under a new lease), what waits for a slot; records what is held. */
  async begin(request: GateRequest): Promise<GatePlan> {
    this.failIfInjected();
    const settings = this.settings.current();
    if (!settings) return { target: null, leaseId: "", slots: 0, failuresBeforeDisable: 0, send: [], wait: [] };
    const now = Date.now();
    const quiltt = settings.payloadFormat === "quiltt";
    // A fresh event of a Quiltt subscription may already have gone out in a batch: found through it.
    const viaBatch = (item: DeliveryItem) => quiltt && isFresh(item);
    const rows = this.deliveries.getAll(request.deliveries.filter((item) => !viaBatch(item)).map((item) => item.id));
    for (const [eventId, row] of this.deliveries.ofEvents(request.deliveries.filter(viaBatch).map((item) => item.id))) rows.set(eventId, row);
    const leases = this.leases.snapshot(now);
    const decision = await gate({
      subscription: {
        disabled: settings.disabledReason !== null, failing: settings.consecutiveFailures > 0, maxConcurrency: settings.maxConcurrency,
        format: settings.payloadFormat, maxEventsPerDelivery: settings.maxEventsPerDelivery,
      },
      items: request.deliveries, rows, leased: leases.leased, inFlight: leases.inFlight, connections: request.connections,
    });
    if (decision.hold.length > 0) this.deliveries.hold(decision.hold, now);
    const leaseId = this.leases.grant(decision.send, decision.slots, now, request.leaseMs);
    return {
      target: this.settings.targetOf(settings, now), leaseId, slots: decision.slots, send: decision.send, wait: decision.wait,
      failuresBeforeDisable: Math.max(0, this.config.disableAfterFailures - settings.consecutiveFailures),
    };
  }

  /**
   * Records the attempts made under a lease, in one go, and releases it: the log, each delivery's
   * state, the endpoint's health; `expired`, deliveries that could not be sent (an event body no longer
   * kept), are failed when their event is past the retention. Returns the retries and alerts to enqueue.
   */
  async finish(leaseId: string, attempts: readonly FinishedAttempt[], expired: readonly DeliveryItem[] = []): Promise<FinishResult> {
    this.failIfInjected();
    this.leases.release(leaseId);
    const settings = this.settings.stored();
    if (!settings || attempts.length + expired.length === 0) return { retries: [], alerts: [] };
    const now = Date.now();
    const rows = this.deliveries.getAll([...attempts.map(({ item }) => item.id), ...expired.map((item) => item.id)]);
    const outcomes = outcomesOf({
      subscriptionId: settings.id, deleted: settings.deletedAt !== null, health: settings, attempts, expired, rows,
      policy: this.config, retentionMs: this.config.eventRetentionMs, now,
    });
    this.log.appendAll(attempts);
    for (const { row, isNew } of outcomes.writes) this.deliveries.put(row, now, isNew);
    const restartDue = Math.min(...outcomes.writes.filter(({ row }) => isOwedRestart(row)).map(({ row }) => row.nextAttemptAt));
    if (this.settings.recordHealth(outcomes.health.consecutiveFailures, outcomes.health.disabledReason, now)) this.deliveries.holdOwed(now);
    // A busy subscription's log is cut back to its cap as it goes, not once a day (the cut reads only its oldest rows).
    if (this.log.outgrown()) this.log.prune(now - this.config.eventRetentionMs);
    await this.ensureAlarm();
    if (Number.isFinite(restartDue)) await this.watchRestartsFrom(restartDue);
    return { retries: outcomes.retries, alerts: this.config.opsWebhookUrl ? outcomes.alerts : [] };
  }


  /** Of these events (matched to this subscription), which to enqueue again and when to ask again. */
  owed(events: readonly AskedEvent[], graceMs: number): OwedCheck {
    this.failIfInjected();
    const settings = this.settings.current();
    if (!settings) return { resend: [], unsettled: [], nextCheckAt: null };
    const now = Date.now();
    const rows = this.deliveries.ofEvents(events.map((event) => event.id));
    const decision = this.backstop.decide({
      events: events.map((event) => ({ event, row: rows.get(event.id) ?? null })),
      disabled: settings.disabledReason !== null, leases: this.leases.snapshot(now), graceMs, now,
    });
    if (decision.hold.length > 0) this.deliveries.hold(decision.hold, now);
    return { resend: decision.resend, unsettled: decision.unsettled, nextCheckAt: decision.nextCheckAt };
  }

  /**
   * Of these events, past their retention, those whose bodies the ledger must keep: their delivery is
   * owed, held, or failed and still replayable. A removed subscription sends nothing more, so needs none.
   */
  stillNeeded(eventIds: readonly string[]): string[] {
    const settings = this.settings.stored();
    if (!settings || settings.deletedAt !== null) return [];
    return this.deliveries.stillSendable(eventIds);
  }


  /**
   * The delivery that carries this event (its own, or its Quiltt batch); null when there never was a
   * subscription here, or nothing is known of it any more. The caller knows the event matched.
   */
  deliveryOf(eventId: string, event: LedgerView): DeliveryView | null {
    const settings = this.settings.stored();
    if (!settings) return null;
    const row = this.deliveries.ofEvent(eventId);
    if (row) return viewOfDelivery(row, settings.deletedAt !== null);
    return viewWithoutRow(settings, event, Date.now() - this.config.eventRetentionMs);
  }

  attempts(limit: number, before: number | null): AttemptPage {
    return this.log.page(limit, before);
  }

  /** Starts the failed and held deliveries created in the window over, in a new round; how many. */
  async replay(since: number | null, until: number | null): Promise<number | "disabled" | null> {
    const settings = this.settings.current();
    if (!settings) return null;
    if (settings.disabledReason) return "disabled";
    const rows = this.deliveries.replayable(since ?? 0, until ?? Number.MAX_SAFE_INTEGER);
    const now = Date.now();
    await this.send(settings.id, this.deliveries.restart(rows, now));
    if (rows.length > 0) await this.watchRestartsFrom(now);
    return rows.length;
  }

  /**
   * Sends the delivery carrying this event again, in a new round, whatever its state. A POST of it
   * under way is not waited for: its outcome is logged, and changes nothing, when it comes.
   */
  async redeliver(event: { id: string; code: string }): Promise<"queued" | "disabled" | "unknown"> {
    const settings = this.settings.current();
    if (!settings) return "unknown";
    if (settings.disabledReason) return "disabled";
    const now = Date.now();
    const row = this.deliveries.ofEvent(event.id);
    // Matched but not attempted yet: its first round is on the queue, and this one supersedes it.
    const started = row ?? { id: event.id, round: 0, events: [event], createdAt: now };
    await this.send(settings.id, this.deliveries.restart([started], now));
    await this.watchRestartsFrom(now);
    return "queued";
  }


  summary(bucketMs: number, bucketCount: number): SubscriptionSummary | null {
    checkSummaryWindow(bucketMs, bucketCount);
    const settings = this.settings.current();
    if (!settings) return null;
    return summarize({
      subscription: viewOf(settings), hasAuthorization: settings.authorization !== null, attempts: this.log.newestFirst(), owed: this.deliveries.unsettledCounts(), now: Date.now(),
      bucketMs, bucketCount, lateLoggingMs: this.config.deliveryTimeoutMs,
    });
  }


  /**
   * Prunes (at least daily: forgets delivered deliveries a day old, failed ones and attempts past the
   * retention, caps the log; a large table takes a step a second until the pass is done), and enqueues
   * again the restarted deliveries overdue by more than the grace period (their queue message may be
   * lost: Miniflare's queue lives in memory). Set again first, so that no failure can stop it.
   */
  override async alarm(): Promise<void> {
    const now = Date.now();
    await this.ctx.storage.setAlarm(now + DAY_MS);
    const pruneAt = this.prune(now);
    const restartsAt = await this.resendOverdueRestarts(now).catch((error: unknown) => {
      console.error(`subscription ${this.settings.stored()?.id ?? "?"}: enqueueing overdue restarted deliveries failed; tried again after the grace period`, error);
      return now + this.graceMs();
    });
    await this.ctx.storage.setAlarm(Math.min(pruneAt, restartsAt ?? Number.POSITIVE_INFINITY));
  }

  /** One prune step; returns when the next is due (a second later while the pass has more to do, else a day). */
  private prune(now: number): number {
    try {
      const horizon = now - this.config.eventRetentionMs;
      this.log.prune(horizon);
      if (this.deliveries.pruneStep(now - DELIVERED_ROWS_KEPT_MS, horizon)) return now + PRUNE_STEP_GAP_MS;
    } catch (error) {
      console.error(`subscription ${this.settings.stored()?.id ?? "?"}: pruning failed`, error);
    }
    return now + DAY_MS;
  }

  /** Enqueues the overdue restarted deliveries; when to look at them again (null: none is owed). */
  private async resendOverdueRestarts(now: number): Promise<number | null> {
    const settings = this.settings.current();
    if (!settings || settings.disabledReason) return null; // removed: nothing more is sent; disabled: they are held
    const { resend, nextLookAt } = this.restarts.look(now, this.graceMs(), this.leases.snapshot(now));
    await this.send(settings.id, resend);
    return nextLookAt;
  }

  /** Makes sure the alarm looks at restarted deliveries due at `dueAt` once they are overdue. */
  private async watchRestartsFrom(dueAt: number): Promise<void> {
    const at = RestartWatch.overdueAt(dueAt, this.graceMs());
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > at) await this.ctx.storage.setAlarm(at);
    this.alarmChecked = true;
  }

  private graceMs(): number {
    return this.config.redeliveryGraceSeconds * 1000;
  }

  private async ensureAlarm(): Promise<void> {
    if (this.alarmChecked) return;
    if ((await this.ctx.storage.getAlarm()) === null) await this.ctx.storage.setAlarm(Date.now() + DAY_MS);
    this.alarmChecked = true;
  }

  private async send(subscriptionId: string, items: readonly DeliveryItem[]): Promise<void> {
    if (items.length > 0) await sendAll(this.env.DELIVERIES, deliveryMessages(subscriptionId, items));
  }

  /** The fault suite's switch for this subscription (a no-op unless FAULT_INJECTION opened `POST /_faults`). */
  private failIfInjected(): void {
    faults.check("object", this.settings.stored()?.id ?? "");
  }
}
