import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { attemptDelivery } from "../../src/delivery/attempt";
import { bucket, hangups, received, receiverUrl } from "./helpers";

const POLICY = { allowHttp: true, allowPrivate: true };

describe("a kept-alive connection closed by the endpoint just as it is reused", () => {
  it("is not the endpoint's failure: the POST goes again on another connection, with the same webhook-id", async () => {
    const name = bucket("reuse");
    const target = { url: receiverUrl(name, "close-on-reuse"), authorization: null, secrets: [] };
    const deliver = (messageId: string) => attemptDelivery({ target, messageId, body: "{}", timeoutMs: 2000, policy: POLICY });

    // One after the other: the second POST takes the connection the first one left open (if the first did not).
    const reports = [await deliver(crypto.randomUUID()), await deliver(crypto.randomUUID())];

    const [hangup, ...more] = await hangups(name);
    expect(hangup, "the receiver closed a reused connection once").toBeDefined();
    expect(more).toEqual([]);
    for (const report of reports) expect(report, report.error ?? "").toMatchObject({ outcome: "success", status: 200 });
    const requests = await received(name);
    const resent = requests.filter((request) => request.headers["webhook-id"] === hangup?.webhookId);
    expect(resent).toHaveLength(1);
    expect(resent[0]?.connection).not.toBe(hangup?.connection);
    expect(requests).toHaveLength(2);
  });

  it("still counts a connection lost on every send (here: refused) as the endpoint's network_error", async () => {
    const target = { url: `http://127.0.0.1:${env.TEST_CLOSED_PORT}/hook`, authorization: null, secrets: [] };
    const report = await attemptDelivery({ target, messageId: crypto.randomUUID(), body: "{}", timeoutMs: 2000, policy: POLICY });
    expect(report).toMatchObject({ outcome: "network_error", status: null });
    expect(report.error).toMatch(/^connection failed before an answer: .*\(Network connection lost\.\)$/);
  });
});
