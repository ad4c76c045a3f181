import { describe, expect, it } from "vitest";
import { Webhook } from "standardwebhooks";
import { generateSecret, signatureHeader } from "../../src/delivery/signature";

const body = JSON.stringify({ uuid: "ce6c64a3-4f27-4b0e-862c-ee780eae06d1", code: "document.update", note: "é ✓" });
const id = "ce6c64a3-4f27-4b0e-862c-ee780eae06d1";

/** The headers a delivery carries, signed now (the library refuses timestamps more than 5 minutes off). */
async function signedHeaders(secrets: string[], payload = body) {
  const timestamp = Math.floor(Date.now() / 1000);
  return { "webhook-id": id, "webhook-timestamp": String(timestamp), "webhook-signature": await signatureHeader(secrets, id, timestamp, payload) };
}

describe("generateSecret", () => {
  it("is whsec_ and the base64 of 32 random bytes", () => {
    const secret = generateSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(atob(secret.slice("whsec_".length))).toHaveLength(32);
    expect(generateSecret()).not.toBe(secret);
  });
});

describe("signatureHeader", () => {
  it("is verified by the standardwebhooks library", async () => {
    const secret = generateSecret();
    const headers = await signedHeaders([secret]);
    expect(headers["webhook-signature"]).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
    expect(new Webhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
  });

  it("matches the library's own signature for the same content", async () => {
    const secret = generateSecret();
    const timestamp = 1_800_000_000;
    expect(await signatureHeader([secret], id, timestamp, body)).toBe(new Webhook(secret).sign(id, new Date(timestamp * 1000), body));
  });

  it("fails verification for another secret, a changed body or a changed id", async () => {
    const secret = generateSecret();
    const headers = await signedHeaders([secret]);
    expect(() => new Webhook(generateSecret()).verify(body, headers)).toThrow();
    expect(() => new Webhook(secret).verify(body.replace("update", "delete"), headers)).toThrow();
    expect(() => new Webhook(secret).verify(body, { ...headers, "webhook-id": crypto.randomUUID() })).toThrow();
  });

  it("signs with every secret, space-separated, each verifying on its own", async () => {
    const current = generateSecret();
    const previous = generateSecret();
    const headers = await signedHeaders([current, previous]);
    const signatures = headers["webhook-signature"].split(" ");
    expect(signatures).toHaveLength(2);
    expect(signatures[0]).not.toBe(signatures[1]);
    expect(new Webhook(current).verify(body, { ...headers, "webhook-signature": signatures[0]! })).toEqual(JSON.parse(body));
    expect(new Webhook(previous).verify(body, { ...headers, "webhook-signature": signatures[1]! })).toEqual(JSON.parse(body));
    expect(new Webhook(current).verify(body, headers)).toEqual(JSON.parse(body));
    expect(new Webhook(previous).verify(body, headers)).toEqual(JSON.parse(body));
    expect(() => new Webhook(current).verify(body, { ...headers, "webhook-signature": signatures[1]! })).toThrow();
  });
});
