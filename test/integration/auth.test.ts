import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { app } from "../../src/api/app";
import { API_TOKEN, INGEST_TOKEN, api, makeEvent } from "./helpers";

const SUBSCRIPTION = "/v1/webhooks/subscriptions/wh_0000000000000000";
const EVENT = `/v1/events/${crypto.randomUUID()}`;

interface Route {
  readonly method: string;
  readonly path: string;
  readonly json?: unknown;
  /** The status with API_TOKEN: past the token check, then refused or answered without changing anything. */
  readonly withApiToken: number;
}

/** One request per /v1 route family. */
const ROUTES: readonly Route[] = [
  { method: "GET", path: "/v1/webhooks/subscriptions", withApiToken: 200 },
  { method: "POST", path: "/v1/webhooks/subscriptions", json: {}, withApiToken: 422 },
  { method: "GET", path: SUBSCRIPTION, withApiToken: 404 },
  { method: "PATCH", path: SUBSCRIPTION, json: { name: "x" }, withApiToken: 404 },
  { method: "DELETE", path: SUBSCRIPTION, withApiToken: 404 },
  { method: "GET", path: `${SUBSCRIPTION}/secret`, withApiToken: 404 },
  { method: "POST", path: `${SUBSCRIPTION}/secret/rotate`, withApiToken: 404 },
  { method: "GET", path: `${SUBSCRIPTION}/attempts`, withApiToken: 404 },
  { method: "POST", path: `${SUBSCRIPTION}/replay`, withApiToken: 404 },
  { method: "POST", path: "/v1/events", json: [], withApiToken: 422 },
  { method: "GET", path: EVENT, withApiToken: 404 },
  { method: "POST", path: `${EVENT}/redeliver`, withApiToken: 404 },
  { method: "GET", path: "/v1/event-types", withApiToken: 200 },
  { method: "GET", path: "/v1/no-such-route", withApiToken: 404 },
];

/** Authorization header values that must all be refused alike (undefined: no header). */
const BAD_CREDENTIALS: readonly (string | undefined)[] = [
  undefined,
  "",
  "Bearer",
  "Bearer ",
  "Bearer wrong-token",
  `Bearer ${API_TOKEN.toUpperCase()}`,
  `Bearer ${API_TOKEN}x`,
  `Bearer ${API_TOKEN.slice(0, -1)}`,
  `Bearer ${API_TOKEN} ${API_TOKEN}`,
  API_TOKEN,
  `Basic ${btoa(`user:${API_TOKEN}`)}`,
  `Token ${API_TOKEN}`,
];

const UNAUTHORIZED = { error: "unauthorized", message: "a valid bearer token is required" };

function call(route: Route, authorization: string | undefined): Promise<Response> {
  const headers: Record<string, string> = authorization === undefined ? {} : { authorization };
  return api(route.path, { method: route.method, json: route.json, token: null, headers });
}

describe("bearer tokens", () => {
  it.each(ROUTES.map((route) => [`${route.method} ${route.path}`, route] as const))(
    "%s answers the same 401 JSON to every missing, wrong or malformed token",
    async (_name, route) => {
      for (const authorization of BAD_CREDENTIALS) {
        const response = await call(route, authorization);
        expect(response.status, `authorization ${JSON.stringify(authorization)}`).toBe(401);
        expect(response.headers.get("content-type")).toMatch(/^application\/json/);
        expect(await response.json()).toEqual(UNAUTHORIZED);
      }
    },
  );

  it.each(ROUTES.map((route) => [`${route.method} ${route.path}`, route] as const))("%s opens with API_TOKEN", async (_name, route) => {
    expect((await call(route, `Bearer ${API_TOKEN}`)).status).toBe(route.withApiToken);
  });

  it("accepts the scheme in any case", async () => {
    expect((await api("/v1/event-types", { token: null, headers: { authorization: `bearer ${API_TOKEN}` } })).status).toBe(200);
  });

  it("opens POST /v1/events, and nothing else, with INGEST_TOKEN", async () => {
    for (const route of ROUTES) {
      const isIngest = route.method === "POST" && route.path === "/v1/events";
      const response = await call(route, `Bearer ${INGEST_TOKEN}`);
      expect(response.status, `${route.method} ${route.path}`).toBe(isIngest ? route.withApiToken : 401);
      if (!isIngest) expect(await response.json()).toEqual(UNAUTHORIZED);
    }
  });

  it("ingests with either token", async () => {
    for (const token of [INGEST_TOKEN, API_TOKEN]) {
      const event = makeEvent();
      const response = await api("/v1/events", { method: "POST", json: event, token });
      expect(response.status).toBe(202);
      expect(await response.json()).toEqual({ accepted: [event.uuid], duplicates: [] });
    }
  });

  it("does not let INGEST_TOKEN read what it ingested", async () => {
    const event = makeEvent();
    expect((await api("/v1/events", { method: "POST", json: event, token: INGEST_TOKEN })).status).toBe(202);
    expect((await api(`/v1/events/${event.uuid}`, { token: INGEST_TOKEN })).status).toBe(401);
    expect((await api(`/v1/events/${event.uuid}`)).status).toBe(200);
  });

  it("needs no token outside /v1", async () => {
    expect((await api("/health", { token: null })).status).toBe(200);
    expect((await api("/openapi.json", { token: null })).status).toBe(200);
  });
});

describe("failed bearer authentication", () => {
  it("is limited per client address: 10 failures a minute answer 401, the next ones 429 with Retry-After", async () => {
    const from = (address: string, token: string) => api("/v1/event-types", { token, headers: { "cf-connecting-ip": address } });
    const guesser = `203.0.113.${Math.floor(Math.random() * 250)}`;
    for (let guess = 1; guess <= 10; guess++) expect((await from(guesser, `guess-${guess}-${"x".repeat(32)}`)).status, `guess ${guess}`).toBe(401);
    for (const token of ["guess-11", ""]) {
      const limited = await from(guesser, token);
      expect(limited.status).toBe(429);
      expect(limited.headers.get("retry-after")).toBe("60");
      expect(await limited.json()).toEqual({ error: "too_many_requests", message: "too many failed authentications from this address; wait a minute" });
    }
    // Another address is not held back by this one, and the right token is never counted or refused.
    expect((await from("203.0.113.251", "another-guess")).status).toBe(401);
    expect((await from(guesser, API_TOKEN)).status).toBe(200);
  });
});

describe("a missing API_TOKEN secret", () => {
  it.each([
    ["unset", undefined],
    ["empty", ""],
  ])("when %s, makes every /v1 route answer 500 with a clear message, never open access", async (_what, apiToken) => {
    const misconfigured = { ...env, API_TOKEN: apiToken };
    const requests: [string, RequestInit][] = [
      ["/v1/webhooks/subscriptions", {}],
      ["/v1/webhooks/subscriptions", { headers: { authorization: "Bearer " } }],
      ["/v1/event-types", { headers: { authorization: `Bearer ${API_TOKEN}` } }],
      ["/v1/events", { method: "POST", headers: { authorization: `Bearer ${INGEST_TOKEN}`, "content-type": "application/json" }, body: JSON.stringify(makeEvent()) }],
    ];
    for (const [path, init] of requests) {
      const response = await app.request(path, init, misconfigured);
      expect(response.status, path).toBe(500);
      expect(await response.json()).toEqual({
        error: "misconfigured",
        message: "the API_TOKEN secret is not set; set it with `wrangler secret put API_TOKEN`",
      });
    }
    expect((await app.request("/health", {}, misconfigured)).status).toBe(200);
  });

  it.each([
    ["API_TOKEN", "x"],
    ["API_TOKEN", "short-but-not-32-characters"],
    ["INGEST_TOKEN", "ingest"],
  ])("refuses a %s of %j: every request answers 500 naming it, no guessable token opens anything", async (name, value) => {
    const weak = { ...env, [name]: value };
    for (const [path, token] of [["/v1/event-types", value], ["/v1/event-types", API_TOKEN], ["/health", null]] as const) {
      const response = await app.request(path, token ? { headers: { authorization: `Bearer ${token}` } } : {}, weak);
      expect(response.status, path).toBe(500);
      expect(await response.json()).toEqual({
        error: "misconfigured",
        message: `Configuration error: ${name} must be at least 32 characters long, got ${value.length}; generate one with \`openssl rand -base64 32\``,
      });
    }
  });

  it("leaves INGEST_TOKEN optional: without it, only API_TOKEN ingests", async () => {
    const withoutIngest = { ...env, INGEST_TOKEN: undefined };
    const ingest = (token: string) =>
      app.request("/v1/events", { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: "[]" }, withoutIngest);
    expect((await ingest(INGEST_TOKEN)).status).toBe(401);
    expect((await ingest(API_TOKEN)).status).toBe(422);
  });
});
