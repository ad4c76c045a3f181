import { describe, expect, it } from "vitest";
import type { SubscriptionView } from "../../src/domain/subscription";
import { createSubscription, useServer } from "./support";

// The subscriptions API over real HTTP against `wrangler dev`, started as `npm start` starts it.
describe("subscriptions against wrangler dev", () => {
  const running = useServer();

  it("answers /health without a token and refuses /v1 without one", async () => {
    const health = await fetch(`${running.server.url}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ ok: true });

    const anonymous = await fetch(`${running.server.url}/v1/webhooks/subscriptions`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get("content-type")).toContain("application/json");
  });

  it("serves /docs with a Swagger UI whose only storage write is the one persistAuthorization (off) guards", async () => {
    const [page, init, bundle] = await Promise.all(["/docs", "/docs/init.js", "/docs/swagger-ui-bundle.js"].map((path) => fetch(`${running.server.url}${path}`)));
    expect(page?.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
    expect(await init?.text()).toContain("persistAuthorization: false");
    const code = (await bundle?.text()) ?? "";
    const writes = [...code.matchAll(/localStorage\.setItem\(|localStorage\[[^\]]+\]\s*=(?!=)|sessionStorage\.setItem\(/g)];
    expect(writes).toHaveLength(1); // a Swagger UI upgrade that stores more fails here
    const write = writes[0]?.index ?? 0;
    expect(code.slice(code.lastIndexOf("persistAuthorization", write), write)).toMatch(/^persistAuthorization\)return;const \w+=\w+\.authorized\(\)\.toJS\(\);$/);
  });

  it("creates, lists by page, reads, disables, re-enables and deletes a subscription", async () => {
    // A fresh state directory: these three are the only subscriptions, so totals are exact.
    const created = [];
    for (const name of ["ERP sync", "Search index", "Audit log"])
      created.push(await createSubscription(running.server, {
        name, targetUrl: `http://127.0.0.1:9/${encodeURIComponent(name)}`, eventTypes: ["document", "media.update"], authorization: "Bearer erp-token",
      }));
    const [first, second, third] = created;
    if (!first || !second || !third) throw new Error("three subscriptions were created");
    expect(first).toMatchObject({
      name: "ERP sync", eventTypes: ["document", "media.update"], disabled: false, disabledReason: null, consecutiveFailures: 0,
    });
    expect(first.id).toMatch(/^wh_/);
    expect(first.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(first).not.toHaveProperty("authorization");

    const page1 = await running.server.api("/v1/webhooks/subscriptions?page=1&limit=2");
    expect(page1.status).toBe(200);
    expect(pagination(page1)).toEqual({ "current-page": "1", "page-items": "2", "total-count": "3", "total-pages": "2" });
    const listed1 = (await page1.json()) as SubscriptionView[];
    expect(listed1.map((subscription) => subscription.id)).toEqual([first.id, second.id]);
    const page2 = await running.server.api("/v1/webhooks/subscriptions?page=2&limit=2");
    expect(pagination(page2)).toEqual({ "current-page": "2", "page-items": "2", "total-count": "3", "total-pages": "2" });
    expect(((await page2.json()) as SubscriptionView[]).map((subscription) => subscription.id)).toEqual([third.id]);
    for (const listed of listed1) {
      expect(listed).not.toHaveProperty("secret");
      expect(listed).not.toHaveProperty("authorization");
    }

    const read = await running.server.api(`/v1/webhooks/subscriptions/${second.id}`);
    expect(read.status).toBe(200);
    const { secret: _secret, ...withoutSecret } = second;
    expect(await read.json()).toEqual(withoutSecret);

    const disabled = await patch(second.id, { disabled: true });
    expect(disabled).toMatchObject({ id: second.id, disabled: true, disabledReason: "manual" });
    expect(await getView(second.id)).toMatchObject({ disabled: true, disabledReason: "manual" });
    const reEnabled = await patch(second.id, { disabled: false });
    expect(reEnabled).toMatchObject({ disabled: false, disabledReason: null, consecutiveFailures: 0 });
    expect(await getView(second.id)).toMatchObject({ disabled: false, disabledReason: null });

    const deleted = await running.server.api(`/v1/webhooks/subscriptions/${second.id}`, { method: "DELETE" });
    expect(deleted.status).toBe(204);
    expect((await running.server.api(`/v1/webhooks/subscriptions/${second.id}`)).status).toBe(404);
    expect((await running.server.api(`/v1/webhooks/subscriptions/${second.id}`, { method: "DELETE" })).status).toBe(404);
    const afterDelete = await running.server.api("/v1/webhooks/subscriptions?page=1&limit=25");
    expect(pagination(afterDelete)).toMatchObject({ "total-count": "2", "total-pages": "1" });
    expect(((await afterDelete.json()) as SubscriptionView[]).map((subscription) => subscription.id)).toEqual([first.id, third.id]);
  });

  function pagination(response: Response): Record<string, string | null> {
    const names = ["current-page", "page-items", "total-count", "total-pages"];
    return Object.fromEntries(names.map((name) => [name, response.headers.get(name)]));
  }

  async function patch(id: string, body: unknown): Promise<SubscriptionView> {
    const response = await running.server.api(`/v1/webhooks/subscriptions/${id}`, { method: "PATCH", json: body });
    expect(response.status, await response.clone().text()).toBe(200);
    return (await response.json()) as SubscriptionView;
  }

  async function getView(id: string): Promise<SubscriptionView> {
    const response = await running.server.api(`/v1/webhooks/subscriptions/${id}`);
    expect(response.status).toBe(200);
    return (await response.json()) as SubscriptionView;
  }
});
