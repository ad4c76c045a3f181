import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { NotEnqueued, fanOut } from "../../src/delivery/fan-out";
import type { Env } from "../../src/env";
import { parseEventBatch, type IngestedEvent } from "../../src/domain/event";
import { api, createSubscription, eventually, ingest, makeEvent, received, receiverUrl, bucket } from "./helpers";

/** A queue that refuses every send: the last step of ingestion fails. */
const refusingQueue = {
  send: async () => {
    throw new Error("queue unavailable");
  },
  sendBatch: async () => {
    throw new Error("queue unavailable");
  },
} as unknown as Env["DELIVERIES"];

/** A ledger whose shards cannot record: the first step of ingestion fails. */
const failingLedger = {
  idFromName: (name: string) => env.EVENTS.idFromName(name),
  get: () => ({
    accept: async () => {
      throw new Error("ledger unavailable");
    },
    withdraw: async () => undefined,
  }),
} as unknown as Env["EVENTS"];

function parsed(event: ReturnType<typeof makeEvent>): IngestedEvent[] {
  const result = parseEventBatch(event);
  if (result.kind !== "ok") throw new Error("fixture event is invalid");
  return result.events;
}

describe("an ingest that cannot be completed", () => {
  it("takes back what the ledger recorded when the deliveries cannot be enqueued, so the same body can be sent again", async () => {
    const name = bucket("ingest-refused");
    await createSubscription({ targetUrl: receiverUrl(name), eventTypes: ["link.delete"] });
    const event = makeEvent({ code: "link.delete" });

    await expect(fanOut({ ...env, DELIVERIES: refusingQueue }, parsed(event))).rejects.toBeInstanceOf(NotEnqueued);
    expect((await api(`/v1/events/${event.uuid}`)).status).toBe(404); // nothing recorded

    const resent = await ingest(event);
    expect(resent.status).toBe(202);
    expect(await resent.json()).toEqual({ accepted: [event.uuid], duplicates: [] });
    await eventually(async () => expect((await received(name)).map((request) => request.headers["webhook-id"])).toEqual([event.uuid]));
  });

  it("answers 503 with Retry-After when the ledger cannot record, and records nothing", async () => {
    const event = makeEvent({ code: "link.delete" });
    await expect(fanOut({ ...env, EVENTS: failingLedger }, parsed(event))).rejects.toBeInstanceOf(NotEnqueued);
    expect((await api(`/v1/events/${event.uuid}`)).status).toBe(404);
  });
});
