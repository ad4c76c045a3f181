import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { expect, it } from "vitest";
import { DeliveryStore } from "../../src/durable/subscription/deliveries";
import type { SubscriptionObject } from "../../src/durable/subscription-object";

const DAY_MS = 24 * 60 * 60 * 1000;

it("prunes the delivery table a few rows a step, on from where the last step stopped, then starts the next pass over", async () => {
  const object = env.SUBSCRIPTIONS.get(env.SUBSCRIPTIONS.idFromName("delivery-prune-steps"));
  const found = await runInDurableObject(object, (_, state) => {
    const { sql } = state.storage;
    const store = new DeliveryStore(sql);
    const now = Date.now();
    const row = (id: string, status: string, changedAgo: number, events: { id: string; code: string }[] = [{ id, code: "product.update" }]) =>
      sql.exec(
        "INSERT INTO delivery (id, round, status, attempts, next_attempt_at, events, created_at, updated_at) VALUES (?, 0, ?, 1, 0, ?, 0, ?)",
        id, status, JSON.stringify(events), now - changedAgo,
      );
    for (const id of ["d1", "d2", "d3", "d4", "d5", "d6"]) row(id, "delivered", 2 * DAY_MS);
    for (const id of ["k1", "k2", "k3"]) row(id, "delivered", 60 * 60 * 1000);
    row("f1", "failed", 8 * DAY_MS);
    row("f2", "failed", 2 * DAY_MS);
    // A delivered batch of two events, forgotten with its list; a held one, kept with its list.
    row("batch-delivered", "delivered", 2 * DAY_MS, [{ id: "e1", code: "product.update" }, { id: "e2", code: "product.update" }]);
    row("batch-held", "held", 30 * DAY_MS, [{ id: "e3", code: "product.update" }]);
    for (const [eventId, deliveryId] of [["e1", "batch-delivered"], ["e2", "batch-delivered"], ["e3", "batch-held"]])
      sql.exec("INSERT INTO batch_event (event_id, delivery_id) VALUES (?, ?)", eventId, deliveryId);

    const prune = () => store.pruneStep(now - DAY_MS, now - 7 * DAY_MS, 5);
    const steps = [prune(), prune(), prune()];
    const ids = () => sql.exec<{ id: string }>("SELECT id FROM delivery ORDER BY id").toArray().map((entry) => entry.id);
    const afterPass = ids();
    const lists = sql.exec<{ event_id: string }>("SELECT event_id FROM batch_event ORDER BY event_id").toArray().map((entry) => entry.event_id);
    // Written after the pass passed its key: the next pass, from the first key, finds it.
    row("a0", "delivered", 2 * DAY_MS);
    const nextPass = prune();
    return { steps, afterPass, lists, nextPass, afterNext: ids() };
  });
  expect(found.steps).toEqual([true, true, false]);
  expect(found.afterPass).toEqual(["batch-held", "f2", "k1", "k2", "k3"]);
  expect(found.lists).toEqual(["e3"]);
  expect(found.nextPass).toBe(true);
  expect(found.afterNext).toEqual(["batch-held", "f2", "k1", "k2", "k3"]);
});

it("takes the next step of a pass a second later, not a day, while the table holds more than one step", async () => {
  const object = env.SUBSCRIPTIONS.get(env.SUBSCRIPTIONS.idFromName("delivery-prune-alarm"));
  await runInDurableObject(object, (_, state) => {
    new DeliveryStore(state.storage.sql);
    for (let index = 0; index < 5_001; index++)
      state.storage.sql.exec(
        "INSERT INTO delivery (id, round, status, attempts, next_attempt_at, events, created_at, updated_at) VALUES (?, 0, 'delivered', 1, 0, '[]', 0, 0)",
        `d-${String(index).padStart(5, "0")}`,
      );
  });
  expect(await runDurableObjectAlarm(object)).toBe(false); // no alarm yet: run it by hand
  const alarmAt = await runInDurableObject(object, async (instance: SubscriptionObject, state) => {
    await instance.alarm();
    return state.storage.getAlarm();
  });
  expect(alarmAt).toBeLessThan(Date.now() + 60_000);
  const left = await runInDurableObject(object, (_, state) => state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM delivery").one().n);
  expect(left).toBe(1);
});
