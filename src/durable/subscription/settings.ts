import { generateSecret } from "../../delivery/signature";
import type { PayloadFormat } from "../../domain/delivery";
import {
  DEFAULT_MAX_CONCURRENCY, resolveDeliveryOptions, type DisabledReason, type SubscriptionCreate, type SubscriptionUpdate, type SubscriptionView,
} from "../../domain/subscription";
import type { DeliveryTarget } from "./control";

/** How long a rotated-out secret still signs deliveries. */
export const ROTATED_SECRET_TTL_MS = 24 * 60 * 60 * 1000;
/** Secrets that sign at once (the current one and those rotated out within the TTL): each is a signature per POST. */
export const MAX_VALID_SECRETS = 5;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS subscription (
  singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
  id TEXT NOT NULL, name TEXT NOT NULL, target_url TEXT NOT NULL, event_types TEXT NOT NULL,
  auth_header TEXT, secret TEXT NOT NULL,
  disabled INTEGER NOT NULL, disabled_reason TEXT, consecutive_failures INTEGER NOT NULL,
  created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL
);
`;

/** Columns added since the table's first version, with the value existing rows take. */
const ADDED_COLUMNS: Record<string, string> = {
  rotated_secrets: "TEXT NOT NULL DEFAULT '[]'",
  payload_format: "TEXT NOT NULL DEFAULT 'event'",
  max_events_per_delivery: "INTEGER NOT NULL DEFAULT 1",
  max_concurrency: `INTEGER NOT NULL DEFAULT ${DEFAULT_MAX_CONCURRENCY}`,
  deleted_at: "INTEGER",
};

interface RotatedSecret {
  readonly secret: string;
  /** Until when it still signs (ms since the epoch). */
  readonly until: number;
}

/** The subscription's row, parsed. */
export interface Settings {
  readonly id: string;
  readonly name: string;
  readonly targetUrl: string;
  readonly eventTypes: string[];
  readonly authorization: string | null;
  readonly secret: string;
  /** Newest first. */
  readonly rotatedSecrets: RotatedSecret[];
  readonly disabledReason: DisabledReason | null;
  readonly consecutiveFailures: number;
  readonly payloadFormat: PayloadFormat;
  readonly maxEventsPerDelivery: number;
  readonly maxConcurrency: number;
  /** Set by `remove`: the subscription no longer exists for the API, its log stays until retention. */
  readonly deletedAt: number | null;
  readonly createdAt: number;
  readonly updatedAt: number;
}

type Row = {
  id: string; name: string; target_url: string; event_types: string; auth_header: string | null; secret: string;
  rotated_secrets: string; disabled: number; disabled_reason: DisabledReason | null; consecutive_failures: number;
  payload_format: PayloadFormat; max_events_per_delivery: number; max_concurrency: number; deleted_at: number | null;
  created_at: number; updated_at: number;
};

function settingsOf(row: Row): Settings {
  return {
    id: row.id, name: row.name, targetUrl: row.target_url, eventTypes: JSON.parse(row.event_types) as string[],
    authorization: row.auth_header, secret: row.secret, rotatedSecrets: JSON.parse(row.rotated_secrets) as RotatedSecret[],
    disabledReason: row.disabled ? (row.disabled_reason ?? "manual") : null, consecutiveFailures: row.consecutive_failures,
    payloadFormat: row.payload_format, maxEventsPerDelivery: row.max_events_per_delivery, maxConcurrency: row.max_concurrency,
    deletedAt: row.deleted_at, createdAt: row.created_at, updatedAt: row.updated_at,
  };
}

function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

export function viewOf(settings: Settings): SubscriptionView {
  return {
    id: settings.id, name: settings.name, targetUrl: settings.targetUrl, eventTypes: settings.eventTypes,
    disabled: settings.disabledReason !== null, disabledReason: settings.disabledReason, consecutiveFailures: settings.consecutiveFailures,
    payloadFormat: settings.payloadFormat, maxEventsPerDelivery: settings.maxEventsPerDelivery, maxConcurrency: settings.maxConcurrency,
    createdAt: isoSeconds(settings.createdAt), updatedAt: isoSeconds(settings.updatedAt),
  };
}

function validRotated(settings: Settings, now: number): RotatedSecret[] {
  return settings.rotatedSecrets.filter((rotated) => rotated.until > now);
}

/** The settings a patch leads to; the same object when it changes nothing. */
function patched(settings: Settings, patch: SubscriptionUpdate): Settings {
  // The service checked the patch against the stored options, so resolving it here cannot fail.
  const resolved = resolveDeliveryOptions(patch, settings);
  const next: Settings = {
    ...settings,
    name: patch.name ?? settings.name,
    targetUrl: patch.targetUrl ?? settings.targetUrl,
    eventTypes: patch.eventTypes ?? settings.eventTypes,
    authorization: patch.authorization === undefined ? settings.authorization : patch.authorization,
    ...(resolved.ok ? resolved.options : {}),
  };
  if (patch.disabled === false) Object.assign(next, { disabledReason: null, consecutiveFailures: 0 });
  if (patch.disabled === true && settings.disabledReason === null) Object.assign(next, { disabledReason: "manual" });
  return JSON.stringify(next) === JSON.stringify(settings) ? settings : next;
}

/** Whether going from `before` to `after` switches the subscription off (what is owed is then held). */
function switchedOff(before: Pick<Settings, "disabledReason">, after: Pick<Settings, "disabledReason">): boolean {
  return after.disabledReason !== null && before.disabledReason === null;
}

/** The `subscription` table: one row, read on nearly every call and written rarely, so kept in memory. */
export class SettingsStore {
  /** The row as last read (undefined: to be read again; null: there is none). */
  private cached: Settings | null | undefined = undefined;

  constructor(private readonly sql: SqlStorage) {
    sql.exec(SCHEMA);
    const columns = new Set(sql.exec<{ name: string }>("SELECT name FROM pragma_table_info('subscription')").toArray().map((column) => column.name));
    for (const [name, type] of Object.entries(ADDED_COLUMNS))
      if (!columns.has(name)) sql.exec(`ALTER TABLE subscription ADD COLUMN ${name} ${type}`);
  }

  /** The subscription's settings, deleted or not; null when it was never created here. */
  stored(): Settings | null {
    if (this.cached === undefined) {
      const row = this.sql.exec<Row>("SELECT * FROM subscription").toArray()[0];
      this.cached = row ? settingsOf(row) : null;
    }
    return this.cached;
  }

  /** The subscription's settings while it exists (not removed). */
  current(): Settings | null {
    const settings = this.stored();
    return settings && settings.deletedAt === null ? settings : null;
  }

  create(id: string, input: SubscriptionCreate, now: number): Settings {
    const resolved = resolveDeliveryOptions(input);
    if (!resolved.ok) throw new RangeError(`delivery options: ${resolved.message}`);
    this.write({
      id, name: input.name, targetUrl: input.targetUrl, eventTypes: input.eventTypes, authorization: input.authorization ?? null,
      secret: generateSecret(), rotatedSecrets: [], disabledReason: input.disabled ? "manual" : null, consecutiveFailures: 0,
      ...resolved.options, deletedAt: null, createdAt: now, updatedAt: now,
    });
    return this.stored()!;
  }

  /**
   * Applies a patch; `updatedAt` moves only when something changed. Null when there is no subscription;
   * `disabled` when the patch switched it off.
   */
  update(patch: SubscriptionUpdate, now: number): { settings: Settings; disabled: boolean } | null {
    const settings = this.current();
    if (!settings) return null;
    const next = patched(settings, patch);
    if (next !== settings) this.write({ ...next, updatedAt: now });
    return { settings: this.current()!, disabled: switchedOff(settings, next) };
  }

  /** A tombstone: false when there was no subscription. */
  remove(now: number): boolean {
    const settings = this.current();
    if (!settings) return false;
    this.write({ ...settings, deletedAt: now, updatedAt: now });
    return true;
  }

  /**
   * A new current secret; the old one keeps signing for 24 hours. "too_many" when that would make
   * more than MAX_VALID_SECRETS sign at once; null when there is no subscription.
   */
  rotateSecret(now: number): string | "too_many" | null {
    const settings = this.current();
    if (!settings) return null;
    const stillValid = validRotated(settings, now);
    if (stillValid.length + 2 > MAX_VALID_SECRETS) return "too_many";
    const secret = generateSecret();
    const rotatedSecrets = [{ secret: settings.secret, until: now + ROTATED_SECRET_TTL_MS }, ...stillValid];
    this.write({ ...settings, secret, rotatedSecrets, updatedAt: now });
    return secret;
  }

  /** Records the endpoint's health after attempts; whether that switched the subscription off (`updatedAt` then moves). */
  recordHealth(consecutiveFailures: number, disabledReason: DisabledReason | null, now: number): boolean {
    const settings = this.stored();
    if (!settings || (settings.consecutiveFailures === consecutiveFailures && settings.disabledReason === disabledReason)) return false;
    const disabled = switchedOff(settings, { disabledReason });
    this.write({ ...settings, consecutiveFailures, disabledReason, updatedAt: disabled ? now : settings.updatedAt });
    return disabled;
  }

  targetOf(settings: Settings, now: number): DeliveryTarget {
    return {
      url: settings.targetUrl, authorization: settings.authorization, format: settings.payloadFormat,
      secrets: [settings.secret, ...validRotated(settings, now).map((rotated) => rotated.secret)],
    };
  }

  private write(settings: Settings): void {
    this.sql.exec(
      `INSERT OR REPLACE INTO subscription (singleton, id, name, target_url, event_types, auth_header, secret, rotated_secrets,
         disabled, disabled_reason, consecutive_failures, payload_format, max_events_per_delivery, max_concurrency, deleted_at, created_at, updated_at)
       VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      settings.id, settings.name, settings.targetUrl, JSON.stringify(settings.eventTypes), settings.authorization, settings.secret,
      JSON.stringify(settings.rotatedSecrets), settings.disabledReason ? 1 : 0, settings.disabledReason, settings.consecutiveFailures,
      settings.payloadFormat, settings.maxEventsPerDelivery, settings.maxConcurrency, settings.deletedAt, settings.createdAt, settings.updatedAt,
    );
    this.cached = settings;
  }
}
