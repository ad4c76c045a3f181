import { DEFAULT_QUILTT_ENVIRONMENT, QuilttEnvironment } from "./domain/quiltt-payload";
import type { TargetPolicy } from "./domain/target-url";
import { formatPath } from "./domain/validation-errors";

/** Every `[vars]` value, parsed and checked once per environment object. */
export interface Config {
  readonly deliveryTimeoutMs: number;
  readonly retryDelaySeconds: number;
  readonly maxRetries: number;
  readonly disableAfterFailures: number;
  /** How long past its due time an owed delivery may stay unattempted before its Durable Object re-enqueues it. */
  readonly redeliveryGraceSeconds: number;
  readonly targetPolicy: TargetPolicy;
  readonly opsWebhookUrl: string | null;
  /** The `environment` of every Quiltt-format payload. */
  readonly quilttEnvironment: QuilttEnvironment;
}

export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

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

export function parseConfig(vars: RawVars): Config {
  return {
    deliveryTimeoutMs: integer(vars, "DELIVERY_TIMEOUT_MS", 5000, 1, 15 * 60 * 1000),
    retryDelaySeconds: integer(vars, "RETRY_DELAY_SECONDS", 300, 0, 12 * 60 * 60),
    maxRetries: integer(vars, "MAX_RETRIES", 2, 0, 100),
    disableAfterFailures: integer(vars, "DISABLE_AFTER_FAILURES", 3, 1, 1000),
    redeliveryGraceSeconds: integer(vars, "REDELIVERY_GRACE_SECONDS", 900, 1, 7 * 24 * 60 * 60),
    targetPolicy: { allowHttp: flag(vars, "ALLOW_HTTP_TARGETS"), allowPrivate: flag(vars, "ALLOW_PRIVATE_TARGETS") },
    opsWebhookUrl: optionalUrl(vars, "OPS_WEBHOOK_URL"),
    quilttEnvironment: environment(vars, "QUILTT_ENVIRONMENT"),
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
