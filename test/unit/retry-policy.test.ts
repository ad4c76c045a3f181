import { describe, expect, it } from "vitest";
import { MAX_RETRY_AFTER_SECONDS, nextStep, outcomeOfStatus, retryAfterSeconds, retryDelay, type AttemptSummary, type RetryPolicy } from "../../src/delivery/retry-policy";

const DEFAULTS: RetryPolicy = { maxRetries: 2, retryDelaySeconds: 300 };

function summary(fields: Partial<AttemptSummary>): AttemptSummary {
  return { attempt: 1, outcome: "http_error", status: 500, retryAfterSeconds: null, ...fields };
}

describe("nextStep", () => {
  it("marks a success delivered, on any attempt", () => {
    expect(nextStep(summary({ outcome: "success", status: 200 }), DEFAULTS)).toEqual({ kind: "delivered" });
    expect(nextStep(summary({ attempt: 3, outcome: "success", status: 204 }), DEFAULTS)).toEqual({ kind: "delivered" });
  });

  it("retries the first and second failed attempts after the configured delay, then fails the third", () => {
    expect(nextStep(summary({ attempt: 1 }), DEFAULTS)).toEqual({ kind: "retry", delaySeconds: 300 });
    expect(nextStep(summary({ attempt: 2 }), DEFAULTS)).toEqual({ kind: "retry", delaySeconds: 300 });
    expect(nextStep(summary({ attempt: 3 }), DEFAULTS)).toEqual({ kind: "failed" });
  });

  it.each(["timeout", "network_error", "http_error"] as const)("retries a %s", (outcome) => {
    expect(nextStep(summary({ outcome, status: outcome === "http_error" ? 302 : null }), DEFAULTS)).toEqual({ kind: "retry", delaySeconds: 300 });
  });

  it("fails at once when no retries are configured", () => {
    expect(nextStep(summary({ attempt: 1 }), { maxRetries: 0, retryDelaySeconds: 300 })).toEqual({ kind: "failed" });
  });

  it("gives up on a 410 at once, even with retries left", () => {
    expect(nextStep(summary({ attempt: 1, status: 410 }), DEFAULTS)).toEqual({ kind: "gone" });
    expect(nextStep(summary({ attempt: 3, status: 410 }), DEFAULTS)).toEqual({ kind: "gone" });
  });

  it("waits longer when the endpoint asks for it", () => {
    expect(nextStep(summary({ status: 429, retryAfterSeconds: 900 }), DEFAULTS)).toEqual({ kind: "retry", delaySeconds: 900 });
  });
});

describe("retryDelay", () => {
  it("is the base delay without Retry-After", () => {
    expect(retryDelay(null, 300)).toBe(300);
  });

  it("lets Retry-After lengthen the wait but never shorten it", () => {
    expect(retryDelay(600, 300)).toBe(600);
    expect(retryDelay(10, 300)).toBe(300);
    expect(retryDelay(0, 1)).toBe(1);
  });

  it("caps Retry-After at one hour", () => {
    expect(MAX_RETRY_AFTER_SECONDS).toBe(3600);
    expect(retryDelay(86_400, 300)).toBe(3600);
    expect(retryDelay(3601, 1)).toBe(3600);
  });

  it("keeps a base delay longer than the cap", () => {
    expect(retryDelay(86_400, 7200)).toBe(7200);
  });
});

describe("retryAfterSeconds", () => {
  const now = Date.parse("2026-11-22T10:00:00Z");

  it("reads delta seconds on a 429 or 503", () => {
    expect(retryAfterSeconds(429, "120", now)).toBe(120);
    expect(retryAfterSeconds(503, " 30 ", now)).toBe(30);
    expect(retryAfterSeconds(503, "0", now)).toBe(0);
  });

  it("reads an HTTP date as seconds from now, rounded up", () => {
    expect(retryAfterSeconds(503, "Sun, 22 Nov 2026 10:02:00 GMT", now)).toBe(120);
    expect(retryAfterSeconds(429, new Date(now + 1500).toUTCString(), now - 500)).toBe(2);
  });

  it("treats a date in the past as no wait", () => {
    expect(retryAfterSeconds(503, "Sun, 22 Nov 2026 09:00:00 GMT", now)).toBe(0);
  });

  it("ignores Retry-After on other statuses, when absent, or when unreadable", () => {
    expect(retryAfterSeconds(500, "120", now)).toBeNull();
    expect(retryAfterSeconds(301, "120", now)).toBeNull();
    expect(retryAfterSeconds(null, "120", now)).toBeNull();
    expect(retryAfterSeconds(429, null, now)).toBeNull();
    expect(retryAfterSeconds(429, "soon", now)).toBeNull();
  });
});

describe("outcomeOfStatus", () => {
  it.each([200, 201, 202, 204, 299])("counts %i as success", (status) => {
    expect(outcomeOfStatus(status)).toBe("success");
  });

  it.each([100, 199, 300, 301, 302, 304, 400, 404, 410, 429, 500, 503])("counts %i as an http_error (redirects are not followed)", (status) => {
    expect(outcomeOfStatus(status)).toBe("http_error");
  });
});
