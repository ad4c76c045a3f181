import { deliveryMessages, sendAll } from "../../delivery/messages";
import type { Env } from "../../env";
import type { OwedCheck } from "../subscription/control";
import { askEachSubscription } from "./ask-subscriptions";
import type { EventStore, OwedEvent } from "./event-store";

/** Events looked at per sweep; a shard with more sweeps again a second later. */
const EVENTS_PER_SWEEP = 500;
const MORE_TO_SWEEP_MS = 1_000;
/** However settled things look, an unsettled event is looked at again at least this often. */
const LONGEST_WAIT_MS = 5 * 60 * 1000;
/**
 * A settled event the watermark cannot pass (an earlier one is still owed) is set aside once it is this
 * old: not sooner, so that a short backlog costs no writes; not much later, so that a long one is not
 * asked about again on every pass.
 */
const SET_ASIDE_AFTER_MS = 10 * 60 * 1000;

/** Where the last sweep stopped: everything accepted up to here is settled. */
type Watermark = {
  readonly at: number;
  readonly id: string;
};

/**
 * The backstop: the queue is not the only record of what is owed (Miniflare's queue lives in memory,
 * a message can be dead-lettered, a consumer can die between a POST and its retry's send). A grace
 * period after events are accepted, their shard asks each subscription they matched which of them it
 * has settled (delivered, failed or held); the subscription enqueues again what is owed and overdue,
 * and the shard keeps asking about what is unsettled until it is. It owns one row: the watermark.
 * Behind an event owed for long, the watermark stalls; an event seen settled behind it is set aside
 * (never asked about again, pruned at its retention like any other), so that a stall neither makes
 * every pass longer nor keeps asking about events whose delivery rows their subscriptions forget.
 */
export class Backstop {
  private watermark: Watermark;
  /** Within a pass over more events than one sweep takes: where the next sweep goes on from (in memory: a lost one restarts the pass). */
  private cursor: Watermark | null = null;
  /** What the pass so far has seen: anything unsettled, and the earliest time it asked to be looked at again. */
  private pass = { unsettled: false, nextCheckAt: Number.POSITIVE_INFINITY };

  constructor(
    private readonly sql: SqlStorage,
    private readonly events: EventStore,
    private readonly env: Env,
    private readonly graceMs: number,
    private readonly retentionMs: number,
  ) {
    sql.exec("CREATE TABLE IF NOT EXISTS backstop (singleton INTEGER PRIMARY KEY CHECK (singleton = 1), at INTEGER NOT NULL, id TEXT NOT NULL)");
    this.watermark = sql.exec<Watermark>("SELECT at, id FROM backstop").toArray()[0] ?? { at: 0, id: "" };
  }

  /** Everything accepted up to here (by time, then id) is settled. */
  settled(): Watermark {
    return this.watermark;
  }

  /**
   * Asks about the next events of the pass (past the watermark, older than the grace period) and
   * enqueues again what their subscriptions say is overdue. Returns when to sweep again, or null when
   * nothing is left to watch.
   */
  async sweep(now: number): Promise<number | null> {
    const owed = this.events.owedAfter(this.cursor ?? this.watermark, now - this.graceMs, EVENTS_PER_SWEEP);
    const { unsettled, nextCheckAt } = await this.ask(owed, now);
    // While everything the pass has seen is settled, the watermark follows it: a pass over more than one
    // sweep's events moves it all the way, not one sweep's worth per pass.
    if (!this.pass.unsettled) this.advancePast(owed, unsettled);
    this.setAsideSettled(owed, unsettled, now);
    this.pass.unsettled ||= unsettled.size > 0;
    this.pass.nextCheckAt = Math.min(this.pass.nextCheckAt, nextCheckAt);

    const last = owed.at(-1);
    if (owed.length === EVENTS_PER_SWEEP && last) {
      this.cursor = { at: last.receivedAt, id: last.id };
      return now + MORE_TO_SWEEP_MS;
    }
    const pass = this.pass;
    this.cursor = null;
    this.pass = { unsettled: false, nextCheckAt: Number.POSITIVE_INFINITY };
    // No sooner than half a grace period: under steady traffic a shard sweeps a few times a minute, not once
    // a second, and what is owed is still sent within a grace and a half of its due time.
    const soonest = now + this.graceMs / 2;
    if (pass.unsettled) return Math.max(soonest, Math.min(pass.nextCheckAt, now + LONGEST_WAIT_MS));
    const next = this.events.oldestAfter(this.watermark);
    return next === null ? null : Math.max(soonest, next + this.graceMs);
  }

  /** One call per subscription: what it has not settled, what it wants enqueued again (sent here), and when to look again. */
  private async ask(owed: readonly OwedEvent[], now: number): Promise<{ unsettled: Set<string>; nextCheckAt: number }> {
    const asked = owed.flatMap((event) =>
      event.subscriptionIds.map((subscriptionId) => ({ subscriptionId, item: { id: event.id, code: event.code, acceptedAt: event.receivedAt } })),
    );
    const answers = await askEachSubscription(
      this.env, asked, (subscription, events) => subscription.owed(events, this.graceMs),
      (subscriptionId, events, error): OwedCheck => {
        console.error(`backstop: asking subscription ${subscriptionId} what it owes failed`, error);
        return { resend: [], unsettled: events.map((event) => event.id), nextCheckAt: now + this.graceMs };
      },
    );
    const unsettled = new Set(answers.flatMap(({ answer }) => answer.unsettled));
    const nextCheckAt = Math.min(...answers.map(({ answer }) => answer.nextCheckAt ?? Number.POSITIVE_INFINITY));
    const resends = answers.flatMap(({ subscriptionId, answer }) => deliveryMessages(subscriptionId, answer.resend));
    if (resends.length > 0) await sendAll(this.env.DELIVERIES, resends);
    return { unsettled, nextCheckAt };
  }

  /** Of the events the watermark did not pass, those settled and old enough are set aside. */
  private setAsideSettled(owed: readonly OwedEvent[], unsettled: ReadonlySet<string>, now: number): void {
    const { at, id } = this.watermark;
    const behindStall = owed.filter(
      (event) => !unsettled.has(event.id) && event.receivedAt <= now - SET_ASIDE_AFTER_MS && (event.receivedAt > at || (event.receivedAt === at && event.id > id)),
    );
    this.events.setAside(behindStall.map((event) => event.id), this.retentionMs);
  }

  /** Moves the watermark to the last event before the first unsettled one. */
  private advancePast(owed: readonly OwedEvent[], unsettled: ReadonlySet<string>): void {
    let mark: Watermark | null = null;
    for (const event of owed) {
      if (unsettled.has(event.id)) break;
      mark = { at: event.receivedAt, id: event.id };
    }
    if (!mark) return;
    this.watermark = mark;
    this.sql.exec(
      "INSERT INTO backstop (singleton, at, id) VALUES (1, ?, ?) ON CONFLICT (singleton) DO UPDATE SET at = excluded.at, id = excluded.id",
      mark.at, mark.id,
    );
  }
}
