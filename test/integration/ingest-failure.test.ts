import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { NotEnqueued, fanOut } from "../../src/delivery/fan-out";
import type { Env } from "../../src/env";
import { parseEventBatch } from "../../src/domain/event";
import { createSubscription, ingest, makeEvent } from "./helpers";

/** A ledger that knows nothing and cannot record: the last step of ingestion fails. */
const failingLedger = {
  idFromName: (name: string) => env.EVENTS.idFromName(name),
  get: () => ({
    known: async () => [],
    commit: async () => {
      throw new Error("ledger unavailable");
    },
  }),
} as unknown as Env["EVENTS"];

describe("an ingest that cannot be completed", () => {
  it("takes back what subscriptions recorded, so the same body can be sent again", async () => {
    const subscription = await createSubscription({ disabled: true }); // held: nothing races us to the endpoint
    const event = makeEvent();
    const parsed = parseEventBatch(event);
    if (parsed.kind !== "ok") throw new Error("fixture event is invalid");
    const owner = env.SUBSCRIPTIONS.get(env.SUBSCRIPTIONS.idFromName(subscription.id));

    await expect(fanOut({ ...env, EVENTS: failingLedger }, parsed.events)).rejects.toBeInstanceOf(NotEnqueued);
    expect(await owner.deliveryOf(event.uuid)).toBeNull();

    const resent = await ingest(event);
    expect(resent.status).toBe(202);
    expect(await resent.json()).toEqual({ accepted: [event.uuid], duplicates: [] });
    expect(await owner.deliveryOf(event.uuid)).toEqual({ status: "held", attempts: 0 });
  });
});
