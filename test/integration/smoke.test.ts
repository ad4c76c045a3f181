import { describe, expect, it } from "vitest";
import { bucket, createSubscription, eventually, ingest, makeEvent, received, receiverUrl } from "./helpers";

describe("smoke", () => {
  it("delivers an event to a subscriber", async () => {
    const name = bucket();
    await createSubscription({ targetUrl: receiverUrl(name) });
    const event = makeEvent();
    const response = await ingest(event);
    expect(response.status).toBe(202);
    await eventually(async () => expect(await received(name)).toHaveLength(1));
  });
});
