import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import {
  API_TOKEN, INGEST_TOKEN, api, bucket, clientAddressHeader, createSubscription, eventually, getSubscription, ingest, makeEvent, makeQuilttEvent, received, receiverUrl,
} from "./helpers";

const ORIGIN = "https://doorbell.test";
const COOKIE_NAME = "__Host-doorbell-session";
const PAGE_BUDGET_BYTES = 100 * 1024;
const FORM = "application/x-www-form-urlencoded";

interface Session {
  readonly cookie: string;
  readonly csrf: string;
}

function request(path: string, init: RequestInit & { cookie?: string } = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (init.cookie) headers.set("cookie", init.cookie);
  if (!headers.has("cf-connecting-ip")) headers.set("cf-connecting-ip", clientAddressHeader()); // under the sign-in limit per address
  return SELF.fetch(`${ORIGIN}${path}`, { ...init, headers, redirect: "manual" });
}

/** A POSTed form, from this origin unless told otherwise (`origin: null` sends no Origin header). */
function submit(path: string, fields: Record<string, string>, options: { cookie?: string; origin?: string | null; headers?: Record<string, string> } = {}) {
  const { cookie, origin = ORIGIN, headers = {} } = options;
  return request(path, {
    method: "POST",
    cookie,
    headers: { "content-type": FORM, ...(origin === null ? {} : { origin }), ...headers },
    body: new URLSearchParams(fields).toString(),
  });
}

/** An action's form, carrying the session's CSRF token. */
function act(session: Session, path: string, fields: Record<string, string> = {}) {
  return submit(path, { csrf: session.csrf, ...fields }, { cookie: session.cookie });
}

/** A dashboard page as HTML, checked against the page budget. */
async function page(session: Session, path: string, status = 200): Promise<string> {
  const response = await request(path, { cookie: session.cookie });
  expect(response.status, path).toBe(status);
  expect(response.headers.get("content-type")).toMatch(/^text\/html/);
  const html = await response.text();
  expect(new TextEncoder().encode(html).byteLength, path).toBeLessThan(PAGE_BUDGET_BYTES);
  return html;
}

async function signIn(): Promise<Session> {
  const response = await submit("/sign-in", { token: API_TOKEN });
  expect(response.status).toBe(303);
  const cookie = (response.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
  const csrf = /name="csrf" value="([^"]+)"/.exec(await page({ cookie, csrf: "" }, "/"))?.[1];
  if (!csrf) throw new Error("the signed-in page has no CSRF token");
  return { cookie, csrf };
}

function decode(html: string): string {
  return html.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
}

/** The message shown beside a form field, or null. */
function problemBeside(html: string, field: string): string | null {
  const match = new RegExp(`id="field-${field}-problem">([^<]*)<`).exec(html);
  return match?.[1] === undefined ? null : decode(match[1]);
}

/** The table row of the list (under a status filter) naming this subscription, following "Next page" links. */
async function listedRow(session: Session, name: string, status = "all"): Promise<string | null> {
  let path: string | null = status === "all" ? "/" : `/?status=${status}`;
  for (let pages = 0; path !== null && pages < 100; pages++) {
    const html = await page(session, path);
    const row = html.split("<tr>").find((chunk) => chunk.includes(`>${name}</a>`));
    if (row) return row;
    const next = /<a href="([^"]+)">Next page<\/a>/.exec(html)?.[1];
    path = next === undefined ? null : decode(next);
  }
  return null;
}

const attemptRows = (html: string) => (html.split('id="attempts"')[1] ?? "").split("<tr>").length - 2; // minus the header row and the text before it

describe("dashboard sign-in", () => {
  it("sends every page and action to sign in without a session, remembering the page asked for", async () => {
    for (const [path, location] of [
      ["/", "/sign-in"],
      ["/subscriptions/new", "/sign-in?next=%2Fsubscriptions%2Fnew"],
      ["/subscriptions/wh_0000000000000000?window=1h", "/sign-in?next=%2Fsubscriptions%2Fwh_0000000000000000%3Fwindow%3D1h"],
      ["/events?uuid=x", "/sign-in?next=%2Fevents%3Fuuid%3Dx"],
    ]) {
      const response = await request(path ?? "");
      expect(response.status, path).toBe(303);
      expect(response.headers.get("location"), path).toBe(location);
    }
    const posted = await submit("/subscriptions", { name: "x", targetUrl: receiverUrl(bucket()), eventTypes: "*", csrf: "x" });
    expect(posted.status).toBe(303);
    expect(posted.headers.get("location")).toBe("/sign-in");

    const forged = await request("/", { cookie: `${COOKIE_NAME}=${Date.now()}.${"A".repeat(43)}` });
    expect(forged.status).toBe(303);
    const { cookie } = await signIn();
    const [, issuedAt, mac] = /=(\d+)\.(.+)$/.exec(cookie) ?? [];
    const backdated = await request("/", { cookie: `${COOKIE_NAME}=${Number(issuedAt) - 1}.${mac}` });
    expect(backdated.status, "a session's time is covered by its MAC").toBe(303);
  });

  it("signs in with API_TOKEN only, into an HttpOnly, Secure, SameSite=Strict cookie that holds no copy of it", async () => {
    const form = await request("/sign-in?next=%2Fevents");
    expect(form.status).toBe(200);
    const html = await form.text();
    expect(html).toContain('type="password"');
    expect(html).toContain('name="next" value="/events"');

    for (const token of ["wrong", INGEST_TOKEN, ""]) {
      const refused = await submit("/sign-in", { token, next: "/events" });
      expect(refused.status, token).toBe(401);
      expect(refused.headers.get("set-cookie"), token).toBeNull();
      expect(problemBeside(await refused.text(), "token")).toBe("That is not the API token.");
    }

    const response = await submit("/sign-in", { token: API_TOKEN, next: "/events" });
    expect(response.status).toBe(303);
    expect(response.headers.get("location")).toBe("/events");
    const setCookie = response.headers.get("set-cookie") ?? "";
    const [pair = "", ...attributes] = setCookie.split(/;\s*/);
    expect(pair.startsWith(`${COOKIE_NAME}=`)).toBe(true);
    expect(pair).not.toContain(API_TOKEN);
    expect(attributes.sort()).toEqual(["HttpOnly", "Max-Age=43200", "Path=/", "SameSite=Strict", "Secure"]);
    expect((await request("/events", { cookie: pair })).status).toBe(200);
  });

  it("allows 10 sign-in attempts a minute from one address, then answers 429 even to the right token", async () => {
    const from = (address: string) => ({ headers: { "cf-connecting-ip": address } });
    for (let attempt = 1; attempt <= 10; attempt++)
      expect((await submit("/sign-in", { token: `guess ${attempt}` }, from("203.0.113.7"))).status, `attempt ${attempt}`).toBe(401);
    const limited = await submit("/sign-in", { token: API_TOKEN }, from("203.0.113.7"));
    expect(limited.status).toBe(429);
    expect(limited.headers.get("set-cookie")).toBeNull();
    expect(problemBeside(await limited.text(), "token")).toBe("Too many sign-in attempts from here: wait a minute.");
    // Another address is not held back by this one.
    expect((await submit("/sign-in", { token: API_TOKEN }, from("203.0.113.8"))).status).toBe(303);
  });

  it("answers 413 for a form over 64 KiB, whether its length is declared or it streams in chunks", async () => {
    const oversized = new URLSearchParams({ token: "x".repeat(70 * 1024) }).toString();
    const declared = await submit("/sign-in", { token: "x".repeat(70 * 1024) });
    expect(declared.status).toBe(413);
    const bytes = new TextEncoder().encode(oversized);
    const chunked = await request("/sign-in", {
      method: "POST",
      headers: { "content-type": FORM, origin: ORIGIN },
      body: new ReadableStream({
        start(controller) {
          for (let start = 0; start < bytes.byteLength; start += 8192) controller.enqueue(bytes.slice(start, start + 8192));
          controller.close();
        },
      }),
    });
    expect(chunked.status).toBe(413);
    expect(chunked.headers.get("set-cookie")).toBeNull();
  });

  it.each([
    "//evil.example/", "https://evil.example/", "/\\evil.example", "/\\/evil.example", "javascript:alert(1)",
    "/\t/evil.example/x", "/\n/evil.example/x", "/\r\n//evil.example", "/\u0000/evil.example", "/.//evil.example/x", "/./\\evil.example",
    "%2F%2Fevil.example", "http:evil.example", "///evil.example", "[//evil.example]", "//[",
  ])("never sends a signed-in visitor off the site: next=%j goes to /", async (next) => {
    const response = await submit("/sign-in", { token: API_TOKEN, next });
    expect(response.status).toBe(303);
    expect(response.headers.get("location")).toBe("/");
  });

  it.each([
    ["/events?uuid=x", "/events?uuid=x"],
    ["/subscriptions/wh_x#attempts", "/subscriptions/wh_x#attempts"],
    ["/%2F%2Fevil.example", "/%2F%2Fevil.example"], // a path on this site: the browser does not decode it into a host
    ["/a/../events", "/events"],
  ])("keeps next=%j on the site as %j", async (next, location) => {
    const response = await submit("/sign-in", { token: API_TOKEN, next });
    expect(response.headers.get("location")).toBe(location);
  });

  it("refuses a sign-in posted from another site", async () => {
    for (const headers of [{ origin: "https://evil.example" }, { origin: null }, { origin: null, headers: { "sec-fetch-site": "cross-site" } }]) {
      const response = await submit("/sign-in", { token: API_TOKEN }, headers);
      expect(response.status, JSON.stringify(headers)).toBe(403);
      expect(response.headers.get("set-cookie")).toBeNull();
    }
    const sameOrigin = await submit("/sign-in", { token: API_TOKEN }, { origin: null, headers: { "sec-fetch-site": "same-origin" } });
    expect(sameOrigin.status).toBe(303);
  });

  it("signs out with the CSRF token, clearing the cookie", async () => {
    const session = await signIn();
    const refused = await submit("/sign-out", {}, { cookie: session.cookie });
    expect(refused.status).toBe(403);
    expect(refused.headers.get("set-cookie")).toBeNull();

    const response = await act(session, "/sign-out");
    expect(response.status).toBe(303);
    expect(response.headers.get("location")).toBe("/sign-in?signed-out");
    const cleared = response.headers.get("set-cookie") ?? "";
    expect(cleared).toMatch(new RegExp(`^${COOKIE_NAME}=;`));
    expect(cleared).toContain("Max-Age=0");
    expect(cleared).toContain("Secure");
    expect(await (await request("/sign-in?signed-out")).text()).toContain("You are signed out.");
  });

  it("ends the session on the server: after sign-out the old cookie opens no page and reveals no secret", async () => {
    const session = await signIn();
    const { id } = await createSubscription();
    expect((await request(`/subscriptions/${id}`, { cookie: session.cookie })).status).toBe(200);
    expect((await act(session, "/sign-out")).status).toBe(303);

    for (const path of ["/", `/subscriptions/${id}`, "/events"]) {
      const replayed = await request(path, { cookie: session.cookie });
      expect(replayed.status, path).toBe(303);
      expect(replayed.headers.get("location"), path).toMatch(/^\/sign-in/);
    }
    const secret = await act(session, `/subscriptions/${id}/secret`);
    expect(secret.status).toBe(303);
    expect(secret.headers.get("location")).toBe("/sign-in");
    expect(await secret.text()).not.toContain("whsec_");

    const again = await signIn(); // a new sign-in is not held back by the old one's end
    expect((await request("/", { cookie: again.cookie })).status).toBe(200);
  });
});

describe("dashboard CSRF protection", () => {
  it("refuses a state change without this session's token or from another origin, and changes nothing", async () => {
    const session = await signIn();
    const subscription = await createSubscription();
    const path = `/subscriptions/${subscription.id}/disable`;
    const refusals: [string, Promise<Response>][] = [
      ["no token", submit(path, {}, { cookie: session.cookie })],
      ["a wrong token", submit(path, { csrf: "A".repeat(43) }, { cookie: session.cookie })],
      ["another origin", submit(path, { csrf: session.csrf }, { cookie: session.cookie, origin: "https://evil.example" })],
      ["a cross-site fetch", submit(path, { csrf: session.csrf }, { cookie: session.cookie, origin: null, headers: { "sec-fetch-site": "cross-site" } })],
      ["neither Origin nor Sec-Fetch-Site", submit(path, { csrf: session.csrf }, { cookie: session.cookie, origin: null })],
      ["a JSON body", request(path, { method: "POST", cookie: session.cookie, headers: { origin: ORIGIN, "content-type": "application/json" }, body: JSON.stringify({ csrf: session.csrf }) })],
    ];
    for (const [what, pending] of refusals) {
      const response = await pending;
      expect(response.status, what).toBe(403);
      expect(await response.text(), what).toContain("This form is stale or came from another site");
    }
    expect((await getSubscription(subscription.id)).disabled).toBe(false);

    const accepted = await act(session, path);
    expect(accepted.status).toBe(303);
    expect(accepted.headers.get("location")).toBe(`/subscriptions/${subscription.id}?done=disabled`);
    expect(await getSubscription(subscription.id)).toMatchObject({ disabled: true, disabledReason: "manual" });
  });

  it("serves pages that cannot be framed, cached or given scripts from elsewhere", async () => {
    const session = await signIn();
    const response = await request("/", { cookie: session.cookie });
    expect(response.headers.get("content-security-policy")).toContain("default-src 'none'; script-src 'self'; style-src 'self'");
    expect(response.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
    expect(response.headers.get("cache-control")).toBe("no-store");
    const html = await response.text();
    expect(html).not.toMatch(/<script>|<style>| style="| on[a-z]+="/); // nothing inline for the policy to forbid
    for (const [, path, type] of html.matchAll(/(?:href|src)="(\/dashboard\/[0-9a-f]{8}\.(css|js))"/g)) {
      const asset = await request(path ?? "");
      expect(asset.status).toBe(200);
      expect(asset.headers.get("content-type")).toMatch(type === "css" ? /^text\/css/ : /^text\/javascript/);
      expect(asset.headers.get("cache-control")).toContain("immutable");
    }
  });
});

describe("dashboard pages", () => {
  it("lists subscriptions with their status, failures, last attempt and 24-hour success rate, filtered by status", async () => {
    const session = await signIn();
    const target = bucket("list");
    const healthy = await createSubscription({ name: `healthy ${target}`, targetUrl: receiverUrl(target), eventTypes: ["media"] });
    const off = await createSubscription({ name: `off ${target}`, targetUrl: receiverUrl(target), eventTypes: ["document"], disabled: true });
    expect((await ingest(makeEvent({ code: "media.update" }))).status).toBe(202);
    await eventually(async () => expect(await received(target)).toHaveLength(1));

    const row = await eventually(async () => {
      const found = await listedRow(session, healthy.name);
      expect(found).toContain("100% (1 of 1)");
      return found ?? "";
    });
    expect(row).toContain(`href="/subscriptions/${healthy.id}"`);
    expect(row).toContain(healthy.targetUrl);
    expect(row).toContain("<code>media</code>");
    expect(row).toContain("Enabled");
    expect(row).toMatch(/Success<\/span> \(200\)/);
    expect(row).toMatch(/data-label="Consecutive failures">0</);

    const offRow = await listedRow(session, off.name, "disabled");
    expect(offRow).toContain("Disabled: by hand");
    expect(offRow).toContain("none yet");
    expect(offRow).toContain("no attempts");
    expect(await listedRow(session, healthy.name, "disabled")).toBeNull();
    expect(await listedRow(session, off.name, "enabled")).toBeNull();
  });

  it("creates a subscription from the form, refusing what the API refuses with the API's words beside each field", async () => {
    const session = await signIn();
    const fields = { name: "", targetUrl: "ftp://example.com/hook", eventTypes: "document, doc, document", authorization: "Bearer a\nb" };
    const refused = await act(session, "/subscriptions", fields);
    expect(refused.status).toBe(422);
    const html = await refused.text();
    const apiRefusal = await api("/v1/webhooks/subscriptions", {
      method: "POST", json: { name: "", targetUrl: "ftp://example.com/hook", eventTypes: ["document", "doc", "document"], authorization: "Bearer a\nb" },
    });
    expect(apiRefusal.status).toBe(422);
    const apiErrors = (await apiRefusal.json()) as Record<string, string[]>;
    expect(Object.keys(apiErrors).sort()).toEqual(["authorization", "eventTypes[1]", "eventTypes[2]", "name", "targetUrl"]);
    expect(problemBeside(html, "name")).toBe(apiErrors.name?.join("; "));
    expect(problemBeside(html, "targetUrl")).toBe("must be an https URL");
    expect(problemBeside(html, "eventTypes")).toBe([...(apiErrors["eventTypes[1]"] ?? []), ...(apiErrors["eventTypes[2]"] ?? [])].join("; "));
    expect(problemBeside(html, "authorization")).toBe(apiErrors.authorization?.join("; "));
    expect(html).toContain('value="ftp://example.com/hook"'); // what was typed is kept...
    expect(html).not.toContain("Bearer a"); // ...but never the authorization

    // The target URL rules alone, once the rest is right.
    const badTarget = await act(session, "/subscriptions", { name: "n", targetUrl: "ftp://example.com/hook", eventTypes: "*" });
    expect(badTarget.status).toBe(422);
    expect(problemBeside(await badTarget.text(), "targetUrl")).toBe("must be an https URL");

    const name = `created ${bucket()}`;
    const created = await act(session, "/subscriptions", { name, targetUrl: receiverUrl(bucket()), eventTypes: "document media.update", disabled: "on" });
    expect(created.status).toBe(303);
    const id = /^\/subscriptions\/(wh_\w+)\?done=created$/.exec(created.headers.get("location") ?? "")?.[1] ?? "";
    expect(await getSubscription(id)).toMatchObject({ name, eventTypes: ["document", "media.update"], disabled: true, disabledReason: "manual" });
    expect(await page(session, `/subscriptions/${id}?done=created`)).toContain("Subscription created.");
  });

  it("says whether a subscription sends an authorization header, never its value, and leaves times in UTC", async () => {
    const session = await signIn();
    const authorization = `Bearer ${bucket("dashboard-authorization")}`;
    const subscription = await createSubscription({ authorization });
    const html = await page(session, `/subscriptions/${subscription.id}`);
    expect(html).toContain("<dt>Sends an authorization header</dt><dd>yes (the value is not shown)</dd>");
    expect(html).not.toContain(authorization);
    // The page's script does not rewrite the UTC times into the reader's locale.
    const script = /<script src="([^"]+)"/.exec(html)?.[1];
    expect(script).toBeDefined();
    expect(await (await SELF.fetch(`https://doorbell.test${script}`)).text()).not.toMatch(/toLocale/);
  });

  it("shows the attempt log a page at a time and a chart of attempts by outcome", async () => {
    const session = await signIn();
    const target = bucket("log");
    const subscription = await createSubscription({ targetUrl: receiverUrl(target) });
    const events = Array.from({ length: 27 }, () => makeEvent());
    expect((await ingest(events)).status).toBe(202);
    await eventually(async () => expect(await received(target)).toHaveLength(27));

    const html = await eventually(async () => {
      const shown = await page(session, `/subscriptions/${subscription.id}?window=1h`);
      expect(shown).toContain("Success: 27");
      return shown;
    });
    expect(attemptRows(html)).toBe(25);
    expect(html).toMatch(/<svg viewBox="0 0 720 200" role="img"/);
    // A query naming no window or filter of ours (inherited names included) falls back to the default.
    for (const query of ["window=toString", "window=constructor", "window=__proto__"])
      expect(await page(session, `/subscriptions/${subscription.id}?${query}`)).toContain("Success: 27");
    for (const query of ["status=toString", "status=hasOwnProperty"]) await page(session, `/?${query}`);
    expect(html).toMatch(/<rect class="o-success"/);
    expect(html).toContain("100% (27 of 27)");

    const older = /<a href="([^"]+)#attempts">Older attempts<\/a>/.exec(html)?.[1];
    expect(older).toMatch(/cursor=\d+/);
    const second = await page(session, decode(older ?? ""));
    expect(attemptRows(second)).toBe(2);
    // Concurrent POSTs finish (and are logged) in any order: the two pages together hold every event once.
    const linkedEvents = (shown: string) => [...shown.matchAll(/href="\/events\?uuid=([0-9a-f-]{36})"/g)].map((match) => match[1]);
    expect([...linkedEvents(html), ...linkedEvents(second)].sort()).toEqual(events.map((event) => event.uuid).sort());
    expect(second).not.toContain("Older attempts");
    expect(second).toContain("Newest attempts");
    // Each row names its event by id (the link) and code, and its time in UTC, written out.
    const eventCells = [...html.matchAll(/<a href="\/events\?uuid=([0-9a-f-]{36})" class="mono">([^<]*)<\/a> ([a-z.]+)/g)];
    expect(eventCells).toHaveLength(25);
    for (const [, linked, shown, code] of eventCells) expect([shown, code]).toEqual([linked, "document.update"]);
    expect(html).toMatch(/<td data-label="Time"><time datetime="[^"]+">\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC<\/time><\/td>/);
    expect(html).toContain("<dt>Sends an authorization header</dt><dd>no</dd>");

    expect(await page(session, "/subscriptions/wh_0000000000000000", 404)).toContain("Subscription not found.");
    expect(await page(session, "/subscriptions/not-an-id", 404)).toContain("Subscription not found.");
  });

  it("reveals and rotates the secret in answer to a POST, never cached", async () => {
    const session = await signIn();
    const subscription = await createSubscription();
    const revealed = await act(session, `/subscriptions/${subscription.id}/secret`);
    expect(revealed.status).toBe(200);
    expect(revealed.headers.get("cache-control")).toBe("no-store");
    expect(await revealed.text()).toContain(`<code id="secret-value">${subscription.secret}</code>`);

    const rotated = await act(session, `/subscriptions/${subscription.id}/secret/rotate`);
    const current = ((await (await api(`/v1/webhooks/subscriptions/${subscription.id}/secret`)).json()) as { secret: string }).secret;
    expect(current).not.toBe(subscription.secret);
    const html = await rotated.text();
    expect(html).toContain(`<code id="secret-value">${current}</code>`);
    expect(html).toContain("for 24 hours");
    expect(await page(session, `/subscriptions/${subscription.id}`)).not.toContain(current); // shown once, not on the page itself

    for (let round = 0; round < 3; round++) expect((await act(session, `/subscriptions/${subscription.id}/secret/rotate`)).status).toBe(200);
    const refused = await act(session, `/subscriptions/${subscription.id}/secret/rotate`);
    expect(refused.status).toBe(409);
    expect(await refused.text()).toContain("5 secrets already sign deliveries");
  });

  it("edits a subscription, refusing an invalid change beside its field", async () => {
    const session = await signIn();
    const subscription = await createSubscription({ name: "before", eventTypes: ["document"] });
    const form = await page(session, `/subscriptions/${subscription.id}/edit`);
    expect(form).toContain('value="before"');
    expect(form).toContain('value="document"');

    const refused = await act(session, `/subscriptions/${subscription.id}/edit`, { name: "after", targetUrl: "no url", eventTypes: "document" });
    expect(refused.status).toBe(422);
    expect(problemBeside(await refused.text(), "targetUrl")).toBe("must be an absolute URL");
    expect((await getSubscription(subscription.id)).name).toBe("before");

    const saved = await act(session, `/subscriptions/${subscription.id}/edit`, { name: "after", targetUrl: subscription.targetUrl, eventTypes: "media, user.login" });
    expect(saved.status).toBe(303);
    expect(saved.headers.get("location")).toBe(`/subscriptions/${subscription.id}?done=saved`);
    expect(await getSubscription(subscription.id)).toMatchObject({ name: "after", eventTypes: ["media", "user.login"] });
  });

  it("disables, re-enables and replays what was held", async () => {
    const session = await signIn();
    const target = bucket("replay");
    const subscription = await createSubscription({ targetUrl: receiverUrl(target), disabled: true });
    expect((await ingest([makeEvent(), makeEvent()])).status).toBe(202);

    const disabledPage = await eventually(async () => {
      const html = await page(session, `/subscriptions/${subscription.id}`);
      expect(html).toContain("Replay held and failed (2)");
      return html;
    });
    expect(disabledPage).toMatch(/<button type="submit" disabled="" title="Re-enable the subscription first">Replay held and failed \(2\)/);
    const conflict = await act(session, `/subscriptions/${subscription.id}/replay`);
    expect(conflict.status).toBe(409);
    expect(await conflict.text()).toContain("The subscription is disabled");

    expect((await act(session, `/subscriptions/${subscription.id}/enable`)).headers.get("location")).toBe(`/subscriptions/${subscription.id}?done=enabled`);
    expect(await getSubscription(subscription.id)).toMatchObject({ disabled: false, disabledReason: null, consecutiveFailures: 0 });
    const replayed = await act(session, `/subscriptions/${subscription.id}/replay`);
    expect(replayed.headers.get("location")).toBe(`/subscriptions/${subscription.id}?done=replayed&queued=2`);
    expect(await page(session, replayed.headers.get("location") ?? "")).toContain("Replay queued 2 deliveries.");
    await eventually(async () => expect(await received(target)).toHaveLength(2));
  });

  it("deletes a subscription after a confirmation page", async () => {
    const session = await signIn();
    const subscription = await createSubscription({ name: "doomed" });
    const confirmation = await page(session, `/subscriptions/${subscription.id}/delete`);
    expect(confirmation).toContain("Delete “doomed”?");
    expect(confirmation).toContain(`action="/subscriptions/${subscription.id}/delete"`);
    expect((await getSubscription(subscription.id)).name).toBe("doomed"); // the page alone deletes nothing

    const deleted = await act(session, `/subscriptions/${subscription.id}/delete`);
    expect(deleted.headers.get("location")).toBe("/?done=deleted");
    expect((await api(`/v1/webhooks/subscriptions/${subscription.id}`)).status).toBe(404);
  });

  it("looks an event up by uuid: its JSON and its delivery to each subscription, and sends it again", async () => {
    const session = await signIn();
    const target = bucket("lookup");
    const subscription = await createSubscription({ name: `lookup ${target}`, targetUrl: receiverUrl(target), eventTypes: ["document"] });
    const event = makeEvent({ created_by: "<script>alert(1)</script>" });
    expect((await ingest(event)).status).toBe(202);
    await eventually(async () => expect(await received(target)).toHaveLength(1));

    const html = await eventually(async () => {
      const shown = await page(session, `/events?uuid=${event.uuid.toUpperCase()}`);
      expect(shown).toContain(">delivered</span>");
      return shown;
    });
    expect(html).toContain(`>${subscription.name}</a>`);
    expect(html).toContain("&quot;created_by&quot;: &quot;&lt;script&gt;alert(1)&lt;/script&gt;&quot;"); // pretty-printed, escaped
    expect(html).not.toContain("<script>alert");

    const redelivered = await act(session, `/events/${event.uuid}/redeliver`, { subscriptionId: subscription.id });
    expect(redelivered.headers.get("location")).toBe(`/events?uuid=${event.uuid}&done=redelivered`);
    await eventually(async () => expect(await received(target)).toHaveLength(2));

    const unknown = await page(session, `/events?uuid=${crypto.randomUUID()}`, 404);
    expect(unknown).toContain("no accepted event has this uuid");
    await page(session, "/events?uuid=not-a-uuid", 404);
  });

  it("shows when a retrying delivery's next attempt is due, and keeps a deleted subscription's delivery, marked", async () => {
    const session = await signIn();
    const failing = await createSubscription({ targetUrl: receiverUrl(bucket("next-attempt"), "status-500"), eventTypes: ["link.update"] });
    const retried = makeEvent({ code: "link.update" });
    expect((await ingest(retried)).status).toBe(202);
    const html = await eventually(async () => {
      const shown = await page(session, `/events?uuid=${retried.uuid}`);
      expect(shown).toContain(">retrying</span>");
      return shown;
    });
    expect(html).toMatch(/next attempt <time datetime="\d{4}-\d\d-\d\dT[^"]+">\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC<\/time>/);

    const target = bucket("deleted-history");
    const deleted = await createSubscription({ targetUrl: receiverUrl(target), eventTypes: ["link.delete"] });
    const delivered = makeEvent({ code: "link.delete" });
    expect((await ingest(delivered)).status).toBe(202);
    await eventually(async () => expect(await received(target)).toHaveLength(1));
    expect((await api(`/v1/webhooks/subscriptions/${deleted.id}`, { method: "DELETE" })).status).toBe(204);
    await api(`/v1/webhooks/subscriptions/${failing.id}`, { method: "DELETE" });

    const lookup = (await (await api(`/v1/events/${delivered.uuid}`)).json()) as { deliveries: unknown[] };
    // Other tests' catch-all subscriptions may have matched it too.
    expect(lookup.deliveries).toContainEqual(expect.objectContaining({ subscriptionId: deleted.id, status: "delivered", attempts: 1, subscriptionDeleted: true }));
    const shown = await page(session, `/events?uuid=${delivered.uuid}`);
    expect(shown).toContain(`${deleted.id}</span><span class="muted"> (deleted)</span>`);
  });

  it("keeps an event page under 100 KB however large the event", async () => {
    const session = await signIn();
    await createSubscription({ eventTypes: ["document"], targetUrl: receiverUrl(bucket()) });
    // Close to the 64 KiB limit and as costly to escape as possible: quotes become &quot;.
    const event = makeEvent({ resource: { ...(makeEvent().resource as object), quotes: Array.from({ length: 3_000 }, () => '"""""""') } });
    expect((await ingest(event)).status).toBe(202);
    const html = await page(session, `/events?uuid=${event.uuid}`); // page() checks the budget
    expect(html).toContain("Cut short here");
  });
});

describe("dashboard catalogue and delivery options", () => {
  it("lists the catalogue, adds, edits and deletes an operator code with the session's CSRF token, refusing what the API refuses", async () => {
    const session = await signIn();
    const code = `acme${crypto.randomUUID().slice(0, 8)}.order.shipped`;
    expect(await page(session, "/event-types")).toContain("<code>profile.created</code>");

    const refused = await act(session, "/event-types", { code: "Not.Valid", schema: '{"type": "strin"}' });
    expect(refused.status).toBe(422);
    const refusedHtml = await refused.text();
    expect(problemBeside(refusedHtml, "code")).toBe("must be a dotted lower-case event code, e.g. document.update");
    expect(decode(refusedHtml)).toContain("schema.type:");
    expect((await act(session, "/event-types", { code, schema: "{not json" })).status).toBe(422);
    expect((await submit("/event-types", { code }, { cookie: session.cookie })).status).toBe(403);

    const saved = await act(session, "/event-types", { code, description: "Shipped orders", schema: '{"type": "object", "required": ["record"]}' });
    expect(saved.status).toBe(303);
    expect(saved.headers.get("location")).toBe("/event-types?done=saved");
    const listed = await page(session, "/event-types");
    expect(listed).toContain(`<code>${code}</code>`);
    expect(listed).toContain("Shipped orders");
    expect(decode(await page(session, `/event-types?code=${code}`))).toContain('"required": [');
    expect((await ingest(makeQuilttEvent({ type: code, record: undefined }))).status).toBe(422);

    const deleted = await act(session, `/event-types/${code}/delete`);
    expect(deleted.status).toBe(303);
    expect(await page(session, "/event-types")).not.toContain(`<code>${code}</code>`);
    expect((await act(session, "/event-types/profile.created/delete")).status).toBe(409);
  });

  it("creates and edits a Quiltt-format subscription from the form, and shows its format and options", async () => {
    const session = await signIn();
    const fields = { name: `quiltt ${bucket()}`, targetUrl: receiverUrl(bucket()), eventTypes: "profile", payloadFormat: "quiltt", maxEventsPerDelivery: "", maxConcurrency: "5" };
    const refused = await act(session, "/subscriptions", { ...fields, payloadFormat: "event", maxEventsPerDelivery: "10" });
    expect(refused.status).toBe(422);
    expect(problemBeside(await refused.text(), "maxEventsPerDelivery")).toBe('must be 1 with payloadFormat "event" (one event per POST)');

    const created = await act(session, "/subscriptions", fields);
    expect(created.status).toBe(303);
    const id = /^\/subscriptions\/(wh_\w+)\?/.exec(created.headers.get("location") ?? "")?.[1] ?? "";
    expect(await getSubscription(id)).toMatchObject({ payloadFormat: "quiltt", maxEventsPerDelivery: 100, maxConcurrency: 5 });
    const shown = await page(session, `/subscriptions/${id}`);
    expect(shown).toContain("Quiltt WebhookPayload, up to 100 events per POST");
    expect(shown).toContain("Up to 5 POSTs at once");

    const edit = await page(session, `/subscriptions/${id}/edit`);
    expect(edit).toContain('<option value="quiltt" selected="">');
    const saved = await act(session, `/subscriptions/${id}/edit`, { ...fields, maxEventsPerDelivery: "25", maxConcurrency: "500" });
    expect(saved.status).toBe(303);
    expect(await getSubscription(id)).toMatchObject({ maxEventsPerDelivery: 25, maxConcurrency: 500 });
  });
});
