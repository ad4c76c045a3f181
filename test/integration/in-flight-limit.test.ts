import { describe, expect, it } from "vitest";
import { bucket, createSubscription, eventually, getSubscription, ingest, makeEvent, received, receiverUrl } from "./helpers";

describe("POSTs in flight to one endpoint", () => {
  it("are bounded, so a hanging endpoint sees one wave (not every event) before it is disabled", async () => {
    const name = bucket("hang");
    const subscription = await createSubscription({ targetUrl: receiverUrl(name, "slow-8000"), eventTypes: ["media.update"] });
    const events = Array.from({ length: 40 }, () => makeEvent({ code: "media.update" }, { type: "media" }));
    expect((await ingest(events)).status).toBe(202);

    // Every attempt of the first wave times out at 5 s; three failures disable the subscription.
    await eventually(async () => expect((await getSubscription(subscription.id)).disabledReason).toBe("failures"), 20_000, 250);
    const posts = await received(name);
    expect(posts.length).toBeGreaterThanOrEqual(3);
    expect(posts.length).toBeLessThanOrEqual(10); // MAX_IN_FLIGHT, out of 40 events
  });
});
