import { describe, expect, it } from "vitest";
import type { SubscriptionView } from "../../src/domain/subscription";
import { api, bucket, createSubscription, eventually, getSubscription, ingest, makeEvent, received, receiverUrl } from "./helpers";

const BASE = "/v1/webhooks/subscriptions";
/** Well-formed, but never created. */
const UNKNOWN_ID = "wh_0000000000000000";
const PUBLIC_FIELDS = [
  "consecutiveFailures", "createdAt", "disabled", "disabledReason", "eventTypes", "id", "maxConcurrency", "maxEventsPerDelivery", "name",
  "payloadFormat", "targetUrl", "updatedAt",
];

function patch(id: string, body: unknown): Promise<Response> {
  return api(`${BASE}/${id}`, { method: "PATCH", json: body });
}

async function expect422(response: Response, errors: Record<string, string[]>): Promise<void> {
  expect(response.status).toBe(422);
  expect(await response.json()).toEqual(errors);
}

async function expect404(response: Response): Promise<void> {
  expect(response.status).toBe(404);
  expect(await response.json()).toEqual({ error: "not_found", message: "subscription not found" });
}

interface ListedPage {
  readonly items: SubscriptionView[];
  readonly text: string;
  readonly headers: { currentPage: number; pageItems: number; totalCount: number; totalPages: number };
}

async function listPage(query: string): Promise<ListedPage> {
  const response = await api(`${BASE}${query}`);
  expect(response.status).toBe(200);
  const text = await response.text();
  const header = (name: string) => Number(response.headers.get(name));
  return {
    items: JSON.parse(text) as SubscriptionView[],
    text,
    headers: { currentPage: header("current-page"), pageItems: header("page-items"), totalCount: header("total-count"), totalPages: header("total-pages") },
  };
}

/** The list page holding this subscription, walked oldest first (bounded by the total count). */
async function findListed(id: string): Promise<ListedPage> {
  for (let page = 1; ; page++) {
    const listed = await listPage(`?page=${page}&limit=100`);
    if (listed.items.some((item) => item.id === id)) return listed;
    if (page >= listed.headers.totalPages) throw new Error(`${id} is not listed`);
  }
}

describe("POST /v1/webhooks/subscriptions", () => {
  it("creates a subscription: 201 with a wh_ id and a whsec_ secret of 32 random bytes", async () => {
    const targetUrl = receiverUrl(bucket());
    const response = await api(BASE, { method: "POST", json: { name: "ERP sync", targetUrl, eventTypes: ["document", "media.update"] } });
    expect(response.status).toBe(201);
    expect(response.headers.get("content-type")).toMatch(/^application\/json/);
    const created = (await response.json()) as SubscriptionView & { secret: string };
    expect(created).toEqual({
      id: expect.stringMatching(/^wh_[A-Za-z0-9]{16}$/),
      name: "ERP sync",
      targetUrl,
      eventTypes: ["document", "media.update"],
      disabled: false,
      disabledReason: null,
      consecutiveFailures: 0,
      payloadFormat: "event",
      maxEventsPerDelivery: 1,
      maxConcurrency: 20,
      createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
      updatedAt: created.createdAt,
      secret: expect.stringMatching(/^whsec_[A-Za-z0-9+/]{43}=$/),
    });
    expect(atob(created.secret.slice("whsec_".length))).toHaveLength(32);
    expect(Math.abs(Date.parse(created.createdAt) - Date.now())).toBeLessThan(60_000);
  });

  it("gives every subscription its own id and secret", async () => {
    const [first, second] = await Promise.all([createSubscription(), createSubscription()]);
    expect(first!.id).not.toBe(second!.id);
    expect(first!.secret).not.toBe(second!.secret);
  });

  it("creates a disabled subscription with reason manual", async () => {
    const created = await createSubscription({ disabled: true });
    expect(created).toMatchObject({ disabled: true, disabledReason: "manual" });
    expect(await getSubscription(created.id)).toMatchObject({ disabled: true, disabledReason: "manual" });
  });

  const valid = { name: "ERP sync", targetUrl: "https://erp.example.com/hooks", eventTypes: ["document"] };
  const control = "must not contain control characters (CR, LF, ...)";

  it.each([
    ["a name of 201 characters", { name: "n".repeat(201) }, { name: ["must be at most 200 characters"] }],
    ["a name with a line feed", { name: "ERP\nsync" }, { name: [control] }],
    ["a name with a tab", { name: "ERP\tsync" }, { name: [control] }],
    ["a targetUrl that is not a URL", { targetUrl: "erp.example.com/hooks" }, { targetUrl: ["must be an absolute URL"] }],
    ["an ftp targetUrl", { targetUrl: "ftp://erp.example.com/hooks" }, { targetUrl: ["must be an https URL"] }],
    ["a targetUrl with credentials", { targetUrl: "https://user:pass@erp.example.com/" }, { targetUrl: ["must not contain credentials (use authorization)"] }],
    ["a targetUrl that is a number", { targetUrl: 42 }, { targetUrl: ["must be a string"] }],
    ["empty eventTypes", { eventTypes: [] }, { eventTypes: ["must list at least one event type"] }],
    ["duplicate eventTypes", { eventTypes: ["media", "media"] }, { "eventTypes[1]": ['duplicate event type "media"'] }],
    ["an unknown event type", { eventTypes: ["*", "order.create"] }, { "eventTypes[1]": ['"order.create" matches no event code of the catalog'] }],
    ["a partial-word event type", { eventTypes: ["doc"] }, { "eventTypes[0]": ['"doc" matches no event code of the catalog'] }],
    ["an authorization with CR LF", { authorization: "Bearer x\r\nX-Evil: 1" }, { authorization: [control] }],
    ["disabled that is not a boolean", { disabled: "false" }, { disabled: ["must be a boolean"] }],
  ])("answers 422 with a ValidationErrors map for %s", async (_what, change, errors) => {
    await expect422(await api(BASE, { method: "POST", json: { ...valid, ...change } }), errors);
  });

  it("answers 422 naming every missing field, and for an empty or blank name", async () => {
    await expect422(await api(BASE, { method: "POST", json: {} }), {
      name: ["is required"],
      targetUrl: ["is required"],
      eventTypes: ["is required"],
    });
    for (const name of ["", "   "]) {
      const response = await api(BASE, { method: "POST", json: { ...valid, name } });
      expect(response.status).toBe(422);
      const errors = (await response.json()) as Record<string, string[]>;
      expect(Object.keys(errors)).toEqual(["name"]);
      expect(errors.name).toEqual([name === "" ? "must not be empty" : "must not be blank"]);
    }
  });

  it("reports the target URL rules together with the schema's problems, not in a second round", async () => {
    const everything = { targetUrl: ["must be an https URL"], eventTypes: ["must list at least one event type"] };
    await expect422(
      await api(BASE, { method: "POST", json: { name: "", targetUrl: "ftp://erp.example.com/hooks", eventTypes: [] } }),
      { name: ["must not be empty"], ...everything },
    );
    const { id } = await createSubscription({ eventTypes: ["user.logout"] });
    await expect422(
      await api(`${BASE}/${id}`, { method: "PATCH", json: { targetUrl: "ftp://erp.example.com/hooks", eventTypes: [] } }),
      everything,
    );
  });

  it("answers 422 for a body that is JSON but not an object", async () => {
    await expect422(await api(BASE, { method: "POST", json: [valid] }), { body: ["must be an object"] });
  });
});

describe("GET /v1/webhooks/subscriptions", () => {
  it("pages through every subscription, oldest first, with the pagination headers", async () => {
    const mine: string[] = [];
    for (let index = 0; index < 5; index++) {
      mine.push((await createSubscription({ name: `page test ${index}` })).id);
      await new Promise((resolve) => setTimeout(resolve, 3)); // distinct creation times, so the order is defined
    }
    // Other test files may add subscriptions meanwhile: a walk only counts when every page saw the same total.
    await eventually(async () => {
      const { totalCount: total } = (await listPage("?limit=1")).headers;
      expect(total).toBeGreaterThanOrEqual(mine.length);
      const limit = Math.min(100, Math.max(2, Math.ceil(total / 3)));
      const pages = Math.ceil(total / limit);
      const seen: string[] = [];
      for (let page = 1; page <= pages; page++) {
        const listed = await listPage(`?page=${page}&limit=${limit}`);
        expect(listed.headers).toEqual({ currentPage: page, pageItems: limit, totalCount: total, totalPages: pages });
        expect(listed.items).toHaveLength(page < pages ? limit : total - (pages - 1) * limit);
        seen.push(...listed.items.map((item) => item.id));
      }
      expect(new Set(seen).size).toBe(total);
      const positions = mine.map((id) => seen.indexOf(id));
      expect(positions).not.toContain(-1);
      expect(positions).toEqual([...positions].sort((a, b) => a - b));

      const pastTheEnd = await listPage(`?page=${pages + 1}&limit=${limit}`);
      expect(pastTheEnd.items).toEqual([]);
      expect(pastTheEnd.headers).toEqual({ currentPage: pages + 1, pageItems: limit, totalCount: total, totalPages: pages });
    }, 10_000);
  });

  it("lists each subscription as GET returns it", async () => {
    const created = await createSubscription({ name: "listed" });
    const listed = (await findListed(created.id)).items.find((item) => item.id === created.id);
    expect(listed).toEqual(await getSubscription(created.id));
  });

  it("defaults to page 1 of 25", async () => {
    await createSubscription();
    const listed = await listPage("");
    expect(listed.headers).toMatchObject({ currentPage: 1, pageItems: 25 });
    expect(listed.headers.totalPages).toBe(Math.ceil(listed.headers.totalCount / 25));
    expect(listed.items.length).toBe(Math.min(25, listed.headers.totalCount));
  });

  it.each([
    ["page=0", { page: ["must be at least 1"] }],
    ["page=-1", { page: ["must be at least 1"] }],
    ["page=1.5", { page: ["must be an integer"] }],
    ["page=abc", { page: ["must be a number"] }],
    ["limit=0", { limit: ["must be from 1 to 100"] }],
    ["limit=-1", { limit: ["must be from 1 to 100"] }],
    ["limit=101", { limit: ["must be from 1 to 100"] }],
    ["limit=1.5", { limit: ["must be an integer"] }],
    ["limit=abc", { limit: ["must be a number"] }],
    ["page=0&limit=101", { page: ["must be at least 1"], limit: ["must be from 1 to 100"] }],
    // Numbers only in plain decimal digits: no exponent, hex, sign or blank to be read as something else.
    ["limit=1e1", { limit: ["must be a number"] }],
    ["page=0x2", { page: ["must be a number"] }],
    ["limit=+5", { limit: ["must be a number"] }],
    ["limit=%205", { limit: ["must be a number"] }],
    ["limit=", { limit: ["must be a number"] }],
  ])("answers 422 for %s", async (query, errors) => {
    await expect422(await api(`${BASE}?${query}`), errors);
  });
});

describe("GET /v1/webhooks/subscriptions/{id}", () => {
  it("returns the subscription", async () => {
    const { secret: _secret, ...view } = await createSubscription({ name: "fetched", eventTypes: ["user.login"] });
    const response = await api(`${BASE}/${view.id}`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual(view);
  });

  it.each([UNKNOWN_ID, "nope", "wh_", "wh_has-dash", `wh_${"a".repeat(65)}`, "WH_0000000000000000"])("answers 404 JSON for %s", async (id) => {
    await expect404(await api(`${BASE}/${id}`));
  });
});

describe("PATCH /v1/webhooks/subscriptions/{id}", () => {
  it("changes only the fields given", async () => {
    const created = await createSubscription({ name: "before", eventTypes: ["media"] });
    const renamedResponse = await patch(created.id, { name: "after" });
    expect(renamedResponse.status).toBe(200);
    const renamed = (await renamedResponse.json()) as SubscriptionView;
    expect(renamed).toMatchObject({ id: created.id, name: "after", targetUrl: created.targetUrl, eventTypes: ["media"], disabled: false, createdAt: created.createdAt });
    expect(renamed.updatedAt >= created.updatedAt).toBe(true);

    const targetUrl = receiverUrl(bucket());
    const retargeted = (await (await patch(created.id, { targetUrl, eventTypes: ["*"] })).json()) as SubscriptionView;
    expect(retargeted).toMatchObject({ name: "after", targetUrl, eventTypes: ["*"] });
    expect(await getSubscription(created.id)).toEqual(retargeted);
    expect((await findListed(created.id)).items.find((item) => item.id === created.id)).toEqual(retargeted);
  });

  it("changes nothing, updatedAt included, for an empty patch or one that repeats the current values", async () => {
    const created = await getSubscription((await createSubscription({ name: "unchanged" })).id);
    // updatedAt has second resolution: once the clock is past its second, any write would show.
    await eventually(() => expect(new Date().toISOString().slice(0, 19)).not.toBe(created.updatedAt.slice(0, 19)), 2_000, 50);
    for (const body of [{}, { name: "unchanged" }, { disabled: false }]) {
      const response = await patch(created.id, body);
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual(created);
    }
    expect(await getSubscription(created.id)).toEqual(created);
    const renamed = (await (await patch(created.id, { name: "changed" })).json()) as SubscriptionView;
    expect(renamed.updatedAt > created.updatedAt).toBe(true);
  });

  it("disables with reason manual, and keeps it on a second disable", async () => {
    const created = await createSubscription();
    const disabled = (await (await patch(created.id, { disabled: true })).json()) as SubscriptionView;
    expect(disabled).toMatchObject({ disabled: true, disabledReason: "manual", consecutiveFailures: 0 });
    expect(await (await patch(created.id, { disabled: true })).json()).toMatchObject({ disabled: true, disabledReason: "manual" });
    expect(await getSubscription(created.id)).toMatchObject({ disabled: true, disabledReason: "manual" });
  });

  it("re-enables a subscription its failures disabled: clears the reason and resets consecutiveFailures to 0", async () => {
    // A real endpoint failing every attempt: with 2 retries 1 s apart, the third failure disables it.
    const created = await createSubscription({ targetUrl: receiverUrl(bucket("failing"), "status-500"), eventTypes: ["export.finish"] });
    expect((await ingest(makeEvent({ code: "export.finish" }))).status).toBe(202);
    await eventually(async () => {
      expect(await getSubscription(created.id)).toMatchObject({ disabled: true, disabledReason: "failures", consecutiveFailures: 3 });
    });

    const response = await patch(created.id, { disabled: false });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ disabled: false, disabledReason: null, consecutiveFailures: 0 });
    expect(await getSubscription(created.id)).toMatchObject({ disabled: false, disabledReason: null, consecutiveFailures: 0 });
  });

  it("re-enables a manually disabled subscription", async () => {
    const created = await createSubscription({ disabled: true });
    expect(await (await patch(created.id, { disabled: false })).json()).toMatchObject({ disabled: false, disabledReason: null });
  });

  it("sets, replaces and removes the authorization sent with deliveries, never showing it", async () => {
    const receiver = bucket("auth");
    const created = await createSubscription({ targetUrl: receiverUrl(receiver), eventTypes: ["link.create"], authorization: "Bearer first" });
    const authorizationOfDelivery = async () => {
      const event = makeEvent({ code: "link.create" });
      expect((await ingest(event)).status).toBe(202);
      return eventually(async () => {
        const delivery = (await received(receiver)).find((request) => request.headers["webhook-id"] === event.uuid);
        expect(delivery).toBeDefined();
        return delivery?.headers.authorization;
      });
    };
    expect(await authorizationOfDelivery()).toBe("Bearer first");

    const replaced = await patch(created.id, { authorization: "Bearer second" });
    expect(Object.keys((await replaced.json()) as object).sort()).toEqual(PUBLIC_FIELDS);
    expect(await authorizationOfDelivery()).toBe("Bearer second");

    expect((await patch(created.id, { authorization: null })).status).toBe(200);
    expect(await authorizationOfDelivery()).toBeUndefined();
  });

  it.each([
    ["an empty name and an unknown event type", { name: "", eventTypes: ["doc"] }, ["name", "eventTypes[0]"]],
    ["a valid name with an ftp targetUrl", { name: "changed", targetUrl: "ftp://erp.example.com/" }, ["targetUrl"]],
    ["a valid name with a non-URL targetUrl", { name: "changed", targetUrl: "not a url" }, ["targetUrl"]],
    ["disabled that is not a boolean", { name: "changed", disabled: 0 }, ["disabled"]],
    ["an authorization with a line feed", { name: "changed", authorization: "a\nb" }, ["authorization"]],
  ])("answers 422 for %s and changes nothing", async (_what, body, paths) => {
    const { secret: _secret, ...before } = await createSubscription({ name: "unchanged" });
    const response = await patch(before.id, body);
    expect(response.status).toBe(422);
    expect(Object.keys((await response.json()) as object).sort()).toEqual([...paths].sort());
    expect(await getSubscription(before.id)).toEqual(before);
  });

  it("answers 404 for an unknown or malformed id", async () => {
    await expect404(await patch(UNKNOWN_ID, { name: "x" }));
    await expect404(await patch("nope", { name: "x" }));
  });
});

describe("DELETE /v1/webhooks/subscriptions/{id}", () => {
  it("answers 204, then 404 for GET, secret and a second DELETE, and delivers nothing more", async () => {
    const [doomed, control] = [bucket("doomed"), bucket("control")];
    const deleted = await createSubscription({ targetUrl: receiverUrl(doomed), eventTypes: ["classification.delete"] });
    const kept = await createSubscription({ targetUrl: receiverUrl(control), eventTypes: ["classification.delete"] });

    const response = await api(`${BASE}/${deleted.id}`, { method: "DELETE" });
    expect(response.status).toBe(204);
    expect(await response.text()).toBe("");
    await expect404(await api(`${BASE}/${deleted.id}`));
    await expect404(await api(`${BASE}/${deleted.id}/secret`));
    await expect404(await api(`${BASE}/${deleted.id}`, { method: "DELETE" }));
    await expect404(await patch(deleted.id, { disabled: false }));

    const event = makeEvent({ code: "classification.delete" });
    expect((await ingest(event)).status).toBe(202);
    await eventually(async () => expect(await received(control)).toHaveLength(1));
    expect(await received(doomed)).toEqual([]);
    const lookup = (await (await api(`/v1/events/${event.uuid}`)).json()) as { deliveries: { subscriptionId: string }[] };
    const matched = lookup.deliveries.map((delivery) => delivery.subscriptionId);
    expect(matched).toContain(kept.id);
    expect(matched).not.toContain(deleted.id);
  });

  it("answers 404 for an unknown or malformed id", async () => {
    await expect404(await api(`${BASE}/${UNKNOWN_ID}`, { method: "DELETE" }));
    await expect404(await api(`${BASE}/nope`, { method: "DELETE" }));
  });
});

describe("secrets", () => {
  it("reveals the secret given at creation", async () => {
    const created = await createSubscription();
    const response = await api(`${BASE}/${created.id}/secret`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ secret: created.secret });
  });

  it("rotates to a new secret, which is then the one revealed", async () => {
    const created = await createSubscription();
    const response = await api(`${BASE}/${created.id}/secret/rotate`, { method: "POST" });
    expect(response.status).toBe(200);
    const { secret } = (await response.json()) as { secret: string };
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(secret).not.toBe(created.secret);
    expect(await (await api(`${BASE}/${created.id}/secret`)).json()).toEqual({ secret });
  });

  it("answers 404 for an unknown subscription", async () => {
    await expect404(await api(`${BASE}/${UNKNOWN_ID}/secret`));
    await expect404(await api(`${BASE}/${UNKNOWN_ID}/secret/rotate`, { method: "POST" }));
  });

  it("never shows the secret or the authorization in GET, list or PATCH responses", async () => {
    const authorization = "Bearer downstream-credential-7f3a";
    const created = await createSubscription({ authorization });
    const texts = [
      await (await api(`${BASE}/${created.id}`)).text(),
      (await findListed(created.id)).text,
      await (await patch(created.id, { name: "renamed" })).text(),
      await (await patch(created.id, { authorization: "Bearer another-credential-91b2" })).text(),
    ];
    for (const text of texts) {
      expect(text).not.toContain(created.secret);
      expect(text).not.toContain("whsec_");
      expect(text).not.toContain("credential");
      expect(text).not.toMatch(/"(secret|authorization)"/);
    }
    expect(Object.keys(await getSubscription(created.id)).sort()).toEqual(PUBLIC_FIELDS);
    for (const item of (await findListed(created.id)).items) expect(Object.keys(item).sort()).toEqual(PUBLIC_FIELDS);
  });
});
