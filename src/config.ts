import { DEFAULT_QUILTT_ENVIRONMENT, QuilttEnvironment } from "./domain/quiltt-payload";
import type { TargetPolicy } from "./domain/target-url";
import { formatPath } from "./domain/validation-errors";

/** Every `[vars]` value, parsed and checked once per environment object. */
export interface Config {
  readonly deliveryTimeoutMs: number;
  readonly retryDelaySeconds: number;
  readonly maxRetries: number;
  readonly disableAfterFailures: number;
  /** How long past its due time an owed delivery may stay unattempted before the backstop enqueues it again. */
  readonly redeliveryGraceSeconds: number;
  /** How long accepted events (and finished deliveries, and attempts) are kept: EVENT_RETENTION_DAYS, in ms. */
  readonly eventRetentionMs: number;
  /** Attempts a subscription keeps in its log whatever the retention (the log is cut back to it as it grows). */
  readonly maxLoggedAttempts: number;
  /** POSTs one consumer invocation keeps open at once: Cloudflare opens at most 6 connections per invocation, and a POST queued behind them would wait on its own timeout's clock. */
  readonly connectionsPerInvocation: number;
  readonly targetPolicy: TargetPolicy;
  readonly opsWebhookUrl: string | null;
  /** Past this many subscriptions, creating another is refused (409): it bounds the fan-out of one event. */
  readonly maxSubscriptions: number;
  /** A request body that has not fully arrived by then is refused (408), so a trickled body cannot hold a request open. */
  readonly bodyReadTimeoutMs: number;
  /** The `environment` of every Quiltt-format payload. */
  readonly quilttEnvironment: QuilttEnvironment;
  /** Test-only: `POST /_faults` may switch faults on (src/faults.ts). */
  readonly faultInjection: boolean;
}

export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

export const DAY_MS = 24 * 60 * 60 * 1000;

type RawVars = Partial<Record<string, unknown>>;

function integer(vars: RawVars, name: string, fallback: number, min: number, max: number): number {
  const raw = vars[name];
  if (raw === undefined || raw === "") return fallback;
  const text = String(raw).trim();
  const value = /^-?\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max)
    throw new ConfigError(`Configuration error: ${name} must be an integer from ${min} to ${max}, got "${String(raw)}"`);
  return value;
}

function flag(vars: RawVars, name: string): boolean {
  const raw = vars[name];
  if (raw === undefined || raw === "" || raw === false || raw === "false") return false;
  if (raw === true || raw === "true") return true;
  throw new ConfigError(`Configuration error: ${name} must be "true" or "false", got "${String(raw)}"`);
}

function optionalUrl(vars: RawVars, name: string): string | null {
  const raw = vars[name];
  if (raw === undefined || raw === "") return null;
  if (typeof raw !== "string" || !URL.canParse(raw)) throw new ConfigError(`Configuration error: ${name} must be an absolute URL`);
  return raw;
}

/** Bearer tokens are guessable below this length; a shorter one is a configuration error, not a weak deployment. */
export const MIN_TOKEN_LENGTH = 32;

function checkToken(vars: RawVars, name: string): void {
  const raw = vars[name];
  if (raw === undefined || raw === "") return; // a missing API_TOKEN has its own refusal; INGEST_TOKEN is optional
  if (typeof raw !== "string" || raw.length < MIN_TOKEN_LENGTH)
    throw new ConfigError(
      `Configuration error: ${name} must be at least ${MIN_TOKEN_LENGTH} characters long, got ${typeof raw === "string" ? raw.length : 0}; generate one with \`openssl rand -base64 32\``,
    );
}

function environment(vars: RawVars, name: string): QuilttEnvironment {
  const raw = vars[name];
  if (raw === undefined || raw === "") return DEFAULT_QUILTT_ENVIRONMENT;
  let value: unknown;
  try {
    value = typeof raw === "string" ? JSON.parse(raw) : raw;
  } catch (error) {
    throw new ConfigError(`Configuration error: ${name} must be a JSON object, got "${String(raw)}"`, { cause: error });
  }
  const result = QuilttEnvironment.safeParse(value);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `${formatPath(issue.path)} ${issue.message}`).join("; ");
    throw new ConfigError(`Configuration error: ${name} must be a Quiltt Environment {id, name, mode, metadata}: ${problems}`);
  }
  return result.data;
}

/**
 * FAULT_INJECTION is refused unless ALLOW_PRIVATE_TARGETS is on as well: production never allows
 * private targets (they would let a subscription reach the operator's own network), so a deployment
 * with both on is a test setup, and a production configuration cannot open `POST /_faults` by a slip.
 */
function faultInjection(vars: RawVars, allowPrivate: boolean): boolean {
  const on = flag(vars, "FAULT_INJECTION");
  if (on && !allowPrivate)
    throw new ConfigError("Configuration error: FAULT_INJECTION is for tests only and needs ALLOW_PRIVATE_TARGETS=true; never set it in production");
  return on;
}

export function parseConfig(vars: RawVars): Config {
  checkToken(vars, "API_TOKEN");
  checkToken(vars, "INGEST_TOKEN");
  const allowPrivate = flag(vars, "ALLOW_PRIVATE_TARGETS");
  return {
    deliveryTimeoutMs: integer(vars, "DELIVERY_TIMEOUT_MS", 5000, 1, 15 * 60 * 1000),
    retryDelaySeconds: integer(vars, "RETRY_DELAY_SECONDS", 300, 0, 12 * 60 * 60),
    maxRetries: integer(vars, "MAX_RETRIES", 2, 0, 100),
    disableAfterFailures: integer(vars, "DISABLE_AFTER_FAILURES", 3, 1, 1000),
    redeliveryGraceSeconds: integer(vars, "REDELIVERY_GRACE_SECONDS", 30, 1, 24 * 60 * 60),
    eventRetentionMs: integer(vars, "EVENT_RETENTION_DAYS", 7, 1, 90) * DAY_MS,
    maxLoggedAttempts: integer(vars, "MAX_LOGGED_ATTEMPTS", 1_000_000, 1_000, 20_000_000),
    connectionsPerInvocation: integer(vars, "CONNECTIONS_PER_INVOCATION", 6, 1, 1000),
    targetPolicy: { allowHttp: flag(vars, "ALLOW_HTTP_TARGETS"), allowPrivate },
    opsWebhookUrl: optionalUrl(vars, "OPS_WEBHOOK_URL"),
    maxSubscriptions: integer(vars, "MAX_SUBSCRIPTIONS", 1000, 1, 1_000_000),
    bodyReadTimeoutMs: integer(vars, "BODY_READ_TIMEOUT_MS", 10_000, 1, 60_000),
    quilttEnvironment: environment(vars, "QUILTT_ENVIRONMENT"),
    faultInjection: faultInjection(vars, allowPrivate),
  };
}

const parsed = new WeakMap<object, Config>();

/** The parsed configuration of this environment; throws ConfigError with a clear message on a bad value. */
export function configOf(env: object): Config {
  let config = parsed.get(env);
  if (!config) {
    config = parseConfig(env as RawVars);
    parsed.set(env, config);
  }
  return config;
}
