import { describe, expect, it } from "vitest";
import { ConfigError, configOf, parseConfig } from "../../src/config";

describe("parseConfig", () => {
  it("uses the SPEC's defaults when nothing is set", () => {
    expect(parseConfig({})).toEqual({
      deliveryTimeoutMs: 5000,
      retryDelaySeconds: 300,
      maxRetries: 2,
      disableAfterFailures: 3,
      redeliveryGraceSeconds: 30,
      eventRetentionMs: 7 * 24 * 60 * 60 * 1000,
      maxLoggedAttempts: 1_000_000,
      connectionsPerInvocation: 6,
      targetPolicy: { allowHttp: false, allowPrivate: false },
      opsWebhookUrl: null,
      maxSubscriptions: 1000,
      bodyReadTimeoutMs: 10_000,
      quilttEnvironment: { id: "env_doorbell", name: "Doorbell", mode: "PRODUCTION", metadata: null },
      faultInjection: false,
    });
  });

  it("treats an empty string as unset", () => {
    expect(parseConfig({ RETRY_DELAY_SECONDS: "", ALLOW_HTTP_TARGETS: "" })).toMatchObject({ retryDelaySeconds: 300, targetPolicy: { allowHttp: false } });
  });

  it("reads [vars] strings, as wrangler passes them", () => {
    expect(
      parseConfig({
        DELIVERY_TIMEOUT_MS: "250",
        RETRY_DELAY_SECONDS: "1",
        MAX_RETRIES: "0",
        DISABLE_AFTER_FAILURES: "10",
        REDELIVERY_GRACE_SECONDS: " 30 ",
        EVENT_RETENTION_DAYS: "2",
        MAX_LOGGED_ATTEMPTS: "20000",
        CONNECTIONS_PER_INVOCATION: "4",
        ALLOW_HTTP_TARGETS: "true",
        ALLOW_PRIVATE_TARGETS: "false",
        OPS_WEBHOOK_URL: "https://ops.example.com/hook",
        MAX_SUBSCRIPTIONS: "5",
        BODY_READ_TIMEOUT_MS: "250",
        QUILTT_ENVIRONMENT: '{"id":"env_1hyo","name":"Staging","mode":"SANDBOX","metadata":{"team":"pim"}}',
      }),
    ).toEqual({
      deliveryTimeoutMs: 250,
      retryDelaySeconds: 1,
      maxRetries: 0,
      disableAfterFailures: 10,
      redeliveryGraceSeconds: 30,
      eventRetentionMs: 2 * 24 * 60 * 60 * 1000,
      maxLoggedAttempts: 20_000,
      connectionsPerInvocation: 4,
      targetPolicy: { allowHttp: true, allowPrivate: false },
      opsWebhookUrl: "https://ops.example.com/hook",
      maxSubscriptions: 5,
      bodyReadTimeoutMs: 250,
      quilttEnvironment: { id: "env_1hyo", name: "Staging", mode: "SANDBOX", metadata: { team: "pim" } },
      faultInjection: false,
    });
  });

  it("accepts tokens of 32 characters and more, and leaves them unset when absent (their routes refuse on their own)", () => {
    expect(() => parseConfig({ API_TOKEN: "a".repeat(32), INGEST_TOKEN: "i".repeat(64) })).not.toThrow();
    expect(() => parseConfig({ API_TOKEN: "", INGEST_TOKEN: undefined })).not.toThrow();
  });

  it("accepts real booleans for the flags (JSON vars)", () => {
    expect(parseConfig({ ALLOW_HTTP_TARGETS: true, ALLOW_PRIVATE_TARGETS: false }).targetPolicy).toEqual({ allowHttp: true, allowPrivate: false });
  });

  it.each([
    ["RETRY_DELAY_SECONDS", "five minutes", 'Configuration error: RETRY_DELAY_SECONDS must be an integer from 0 to 43200, got "five minutes"'],
    ["RETRY_DELAY_SECONDS", "-5", 'Configuration error: RETRY_DELAY_SECONDS must be an integer from 0 to 43200, got "-5"'],
    ["RETRY_DELAY_SECONDS", "1.5", 'Configuration error: RETRY_DELAY_SECONDS must be an integer from 0 to 43200, got "1.5"'],
    ["DELIVERY_TIMEOUT_MS", "0", 'Configuration error: DELIVERY_TIMEOUT_MS must be an integer from 1 to 900000, got "0"'],
    ["DELIVERY_TIMEOUT_MS", "5s", 'Configuration error: DELIVERY_TIMEOUT_MS must be an integer from 1 to 900000, got "5s"'],
    ["MAX_RETRIES", "-1", 'Configuration error: MAX_RETRIES must be an integer from 0 to 100, got "-1"'],
    ["DISABLE_AFTER_FAILURES", "0", 'Configuration error: DISABLE_AFTER_FAILURES must be an integer from 1 to 1000, got "0"'],
    ["REDELIVERY_GRACE_SECONDS", "1e3", 'Configuration error: REDELIVERY_GRACE_SECONDS must be an integer from 1 to 86400, got "1e3"'],
    ["EVENT_RETENTION_DAYS", "0", 'Configuration error: EVENT_RETENTION_DAYS must be an integer from 1 to 90, got "0"'],
    ["MAX_LOGGED_ATTEMPTS", "999", 'Configuration error: MAX_LOGGED_ATTEMPTS must be an integer from 1000 to 20000000, got "999"'],
    ["CONNECTIONS_PER_INVOCATION", "0", 'Configuration error: CONNECTIONS_PER_INVOCATION must be an integer from 1 to 1000, got "0"'],
    ["ALLOW_HTTP_TARGETS", "yes", 'Configuration error: ALLOW_HTTP_TARGETS must be "true" or "false", got "yes"'],
    ["ALLOW_PRIVATE_TARGETS", "1", 'Configuration error: ALLOW_PRIVATE_TARGETS must be "true" or "false", got "1"'],
    ["OPS_WEBHOOK_URL", "ops.example.com", "Configuration error: OPS_WEBHOOK_URL must be an absolute URL"],
    ["MAX_SUBSCRIPTIONS", "0", 'Configuration error: MAX_SUBSCRIPTIONS must be an integer from 1 to 1000000, got "0"'],
    ["API_TOKEN", "x", "Configuration error: API_TOKEN must be at least 32 characters long, got 1; generate one with `openssl rand -base64 32`"],
    ["INGEST_TOKEN", "i".repeat(31), "Configuration error: INGEST_TOKEN must be at least 32 characters long, got 31"],
    ["QUILTT_ENVIRONMENT", "env_doorbell", 'Configuration error: QUILTT_ENVIRONMENT must be a JSON object, got "env_doorbell"'],
    [
      "QUILTT_ENVIRONMENT", '{"id":"env_1","name":"Doorbell","mode":"LIVE","metadata":null}',
      'Configuration error: QUILTT_ENVIRONMENT must be a Quiltt Environment {id, name, mode, metadata}: mode must be one of "TEST", "SANDBOX", "PRODUCTION"',
    ],
    [
      "QUILTT_ENVIRONMENT", '{"id":"env_1","name":"Doorbell","mode":"TEST"}',
      "Configuration error: QUILTT_ENVIRONMENT must be a Quiltt Environment {id, name, mode, metadata}: metadata is required",
    ],
  ])("refuses %s=%j with a ConfigError naming it", (name, value, message) => {
    expect(() => parseConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => parseConfig({ [name]: value })).toThrow(message);
  });
});

describe("configOf", () => {
  it("parses each environment object once", () => {
    const env = { RETRY_DELAY_SECONDS: "7" };
    const first = configOf(env);
    expect(first.retryDelaySeconds).toBe(7);
    expect(configOf(env)).toBe(first);
    expect(configOf({ RETRY_DELAY_SECONDS: "8" }).retryDelaySeconds).toBe(8);
  });

  it("throws the ConfigError for a bad environment on every call, never caching a half-parsed config", () => {
    const env = { MAX_RETRIES: "many" };
    expect(() => configOf(env)).toThrow(ConfigError);
    expect(() => configOf(env)).toThrow("MAX_RETRIES");
  });
});

describe("FAULT_INJECTION", () => {
  it("is off unless set", () => {
    expect(parseConfig({}).faultInjection).toBe(false);
  });

  it("is on with private targets allowed, as only a test setup has them", () => {
    expect(parseConfig({ FAULT_INJECTION: "true", ALLOW_PRIVATE_TARGETS: "true" }).faultInjection).toBe(true);
  });

  it("is refused with production's target policy", () => {
    expect(() => parseConfig({ FAULT_INJECTION: "true" })).toThrow(ConfigError);
    expect(() => parseConfig({ FAULT_INJECTION: "true", ALLOW_PRIVATE_TARGETS: "false" })).toThrow(/FAULT_INJECTION .*ALLOW_PRIVATE_TARGETS=true/);
  });
});
