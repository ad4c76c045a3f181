import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import { app } from "../../src/api/app";
import { API_TOKEN, INGEST_TOKEN, api, bucket, createSubscription, eventually, getSubscription, ingest, makeEvent, received, receiverUrl } from "./helpers";

/**
 * Signing secrets, API tokens and subscriptions' `authorization` values go only where they are meant
 * to: a secret in the create, `/secret` and rotate answers, an `authorization` value to its endpoint.
 * Everything else the service says or writes (answers, errors, attempt records, ops alerts, logs) is
 * grepped for them.
 */

// Only this file's events use this code, so no other test's traffic reaches these subscriptions.
const EVENT_CODE = "classification.delete";
const CONSOLE_METHODS = ["log", "info", "warn", "error", "debug"] as const;

function printed(value: unknown): string {
  if (typeof value === "string") return value;
  if (value instanceof Error) return `${value.name}: ${value.message}\n${value.stack ?? ""}`;
  return JSON.stringify(value) ?? String(value);
}

async function transcript(response: Response): Promise<string> {
  const headers = [...response.headers].map(([name, value]) => `${name}: ${value}`).join("\n");
  return `${response.status}\n${headers}\n\n${await response.text()}`;
}

describe("secrets hygiene", () => {
  it("never shows secrets, tokens or authorization values in answers, errors, attempt records, alerts or logs", async () => {
    const spies = CONSOLE_METHODS.map((method) => vi.spyOn(console, method));
    const said: string[] = [];
    const logs: string[] = [];
    const call = async (path: string, init: Parameters<typeof api>[1] = {}) => {
      const response = await api(path, init);
      said.push(await transcript(response));
      return response;
    };
    const run = crypto.randomUUID();
    const signingSecrets: string[] = [];
    const authorizations = { healthy: `Bearer hygiene-healthy-${run}`, failing: `Token hygiene-failing-${run}`, replaced: `Bearer hygiene-replaced-${run}` };
    try {
      const healthyBucket = bucket("hygiene-ok");
      const healthy = await createSubscription({ targetUrl: receiverUrl(healthyBucket), eventTypes: [EVENT_CODE], authorization: authorizations.healthy });
      const failing = await createSubscription({
        targetUrl: receiverUrl(bucket("hygiene-failing"), "status-500"), eventTypes: [EVENT_CODE], authorization: authorizations.failing,
      });
      signingSecrets.push(healthy.secret, failing.secret);
      // The create answer is where a secret belongs, but never an authorization value.
      expect(JSON.stringify([healthy, failing])).not.toContain(run);

      const event = makeEvent({ code: EVENT_CODE });
      said.push(await transcript(await ingest(event)));
      // The value is really in use: the endpoint receives it.
      await eventually(async () => expect((await received(healthyBucket))[0]?.headers.authorization).toBe(authorizations.healthy));
      await eventually(async () => expect(await getSubscription(failing.id)).toMatchObject({ disabled: true, consecutiveFailures: 3 }));

      // Reads.
      for (let page = 1, pages = 1; page <= pages; page += 1) {
        const response = await call(`/v1/webhooks/subscriptions?page=${page}&limit=100`);
        pages = Number(response.headers.get("total-pages"));
      }
      for (const { id } of [healthy, failing]) {
        await call(`/v1/webhooks/subscriptions/${id}`);
        await call(`/v1/webhooks/subscriptions/${id}/attempts`);
      }
      await call(`/v1/events/${event.uuid}`);
      // Changes, and refusals that carry the values in their requests.
      await call(`/v1/webhooks/subscriptions/${healthy.id}`, { method: "PATCH", json: { name: "renamed" } });
      await call(`/v1/webhooks/subscriptions/${healthy.id}`, { method: "PATCH", json: { authorization: authorizations.replaced } });
      await call(`/v1/webhooks/subscriptions/${healthy.id}`, { method: "PATCH", json: { authorization: `${authorizations.healthy}\r\n` } });
      await call(`/v1/webhooks/subscriptions/${healthy.id}`, { method: "PATCH", json: { authorization: authorizations.failing.repeat(200) } });
      await call("/v1/webhooks/subscriptions", {
        method: "POST", headers: { "content-type": "application/json" }, body: `{"name":"x","authorization":"${authorizations.healthy}"`,
      });
      await call(`/v1/webhooks/subscriptions/${failing.id}/replay`, { method: "POST" });
      await call(`/v1/events/${event.uuid}/redeliver`, { method: "POST", json: { subscriptionId: failing.id } });
      await call("/v1/webhooks/subscriptions", { token: healthy.secret });
      await call("/v1/webhooks/subscriptions", { token: `${API_TOKEN}-not` });
      await call("/v1/webhooks/subscriptions", { token: INGEST_TOKEN });
      // Failures of our own, which are logged: a bad configuration value and a missing API token.
      const headers = { authorization: `Bearer ${API_TOKEN}` };
      const misconfigured = await app.request("/v1/webhooks/subscriptions", { headers }, { ...env, RETRY_DELAY_SECONDS: "-1" });
      expect(misconfigured.status).toBe(500);
      said.push(await transcript(misconfigured));
      said.push(await transcript(await app.request("/v1/webhooks/subscriptions", { headers }, { ...env, API_TOKEN: undefined })));

      // What is kept: the attempt log rows as stored, and the ops alerts sent about these subscriptions.
      for (const { id } of [healthy, failing]) {
        const rows = await runInDurableObject(env.SUBSCRIPTIONS.get(env.SUBSCRIPTIONS.idFromName(id)), (_, state) =>
          state.storage.sql.exec("SELECT * FROM attempt_batch").toArray(),
        );
        expect(rows.length).toBeGreaterThan(0);
        said.push(JSON.stringify(rows));
      }
      const alerts = (await received("ops-alerts")).filter((request) => request.body.includes(failing.id));
      expect(alerts.length).toBeGreaterThan(0);
      said.push(...alerts.map((request) => request.body));
    } finally {
      logs.push(...spies.flatMap((spy) => spy.mock.calls.map((args) => args.map(printed).join(" "))));
      for (const spy of spies) spy.mockRestore();
    }
    // The capture works: the bad configuration value was logged.
    expect(logs.join("\n")).toContain("RETRY_DELAY_SECONDS");

    // No answer here is one where a secret belongs, so none may carry one, in any form.
    expect(said.filter((text) => text.includes("whsec_"))).toEqual([]);
    const needles: Record<string, string> = {
      ...authorizations,
      apiToken: API_TOKEN,
      ingestToken: INGEST_TOKEN,
      opsSecret: env.OPS_WEBHOOK_SECRET ?? "",
      ...Object.fromEntries(signingSecrets.map((secret, index) => [`signing secret ${index}`, secret.slice("whsec_".length)])),
    };
    for (const [name, needle] of Object.entries(needles)) {
      expect(needle.length, name).toBeGreaterThan(8);
      expect(said.filter((text) => text.includes(needle)), `${name} in what the service said`).toEqual([]);
      expect(logs.filter((text) => text.includes(needle)), `${name} in the logs`).toEqual([]);
    }
  });

  it("redacts credentials that an endpoint echoes back before the attempt log keeps its answer", async () => {
    const authorization = `Bearer echo-${crypto.randomUUID()}`;
    const subscription = await createSubscription({ targetUrl: receiverUrl(bucket("echo"), "echo"), authorization });
    expect((await ingest(makeEvent())).status).toBe(202);
    const attempts = await eventually(async () => {
      const response = await api(`/v1/webhooks/subscriptions/${subscription.id}/attempts`);
      const page = (await response.json()) as { attempts: { error: string | null }[] };
      expect(page.attempts.length).toBeGreaterThan(0);
      return page.attempts;
    });
    const error = attempts[0]?.error ?? "";
    expect(error).toContain("[redacted]"); // the echo did reach the log, without the credential
    expect(error).not.toContain(authorization.slice("Bearer ".length));
  });

  it("keeps a token that an endpoint echoes in other forms (bare, lower-cased, JSON, URL-encoded, base64) out of the attempt log and the alert", async () => {
    const token = `PlainToken${crypto.randomUUID().replaceAll("-", "")}`;
    const subscription = await createSubscription({ targetUrl: receiverUrl(bucket("parrot"), "parrot-410"), authorization: `Bearer ${token}`, eventTypes: [EVENT_CODE] });
    expect((await ingest(makeEvent({ code: EVENT_CODE }))).status).toBe(202);
    const error = await eventually(async () => {
      const page = (await (await api(`/v1/webhooks/subscriptions/${subscription.id}/attempts`)).json()) as { attempts: { error: string | null }[] };
      expect(page.attempts[0]?.error).toMatch(/^HTTP 410: /);
      return page.attempts[0]?.error ?? "";
    });
    const alert = await eventually(async () => {
      const alerts = (await received("ops-alerts")).map((request) => JSON.parse(request.body) as { data: { subscriptionId: string; lastError?: string } });
      const found = alerts.find((candidate) => candidate.data.subscriptionId === subscription.id && candidate.data.lastError);
      expect(found).toBeDefined();
      return found?.data.lastError ?? "";
    });
    const traces = [token, token.toLowerCase(), encodeURIComponent(token), btoa(token).slice(0, 24), token.slice(10, 30)];
    for (const text of [error, alert]) {
      expect(text.split("[redacted]").length, text).toBeGreaterThan(5); // the echoes did reach the log, without the credential
      for (const trace of traces) expect(text.toLowerCase(), trace).not.toContain(trace.toLowerCase());
    }
  });
});
