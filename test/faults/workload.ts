import { spawn, type ChildProcess } from "node:child_process";
import { expect } from "vitest";
import type { Receiver } from "../support/receiver";
import { INGEST_TOKEN, type DevServer } from "../e2e/dev-server";
import { bucket, createSubscription, quableEvents, type QuableEvent } from "../e2e/support";
import type { Endpoint } from "./reconcile";
import type { FaultSwitches } from "../../src/faults";

/** Timing every fault case runs with: retries a second apart, the backstop 3 s past due. */
export const FAULT_VARS = { RETRY_DELAY_SECONDS: "1", REDELIVERY_GRACE_SECONDS: "3" } as const;

/** Subscriptions on the receiver, one per behaviour, each with its own bucket. */
export async function createEndpoints(
  server: DevServer,
  receiver: Receiver,
  specs: readonly { behaviour: string; settlesAs: Endpoint["settlesAs"] }[],
): Promise<Endpoint[]> {
  return Promise.all(
    specs.map(async ({ behaviour, settlesAs }) => {
      const name = bucket(behaviour.replace(/[^a-z0-9]+/g, "-").slice(0, 20));
      const subscription = await createSubscription(server, { targetUrl: `${receiver.url}/${name}/${behaviour}` });
      return { subscription, bucket: name, settlesAs };
    }),
  );
}

/** Turns test-only faults on or off (`POST /_faults`; needs FAULT_INJECTION=true). */
export async function setFaults(server: DevServer, switches: Partial<FaultSwitches>): Promise<void> {
  const response = await server.api("/_faults", { method: "POST", json: switches });
  expect(response.status, await response.clone().text()).toBe(200);
}

/** One POST of events with the ingest token; the response as is (202, or 503 under a fault). */
export function postEvents(server: DevServer, events: readonly QuableEvent[]): Promise<Response> {
  return server.api("/v1/events", { method: "POST", token: INGEST_TOKEN, json: events });
}

/**
 * A producer as the SPEC describes one: it posts a batch and, on 503 (nothing recorded), sends the
 * same body again after the pause the `Retry-After` asks for (here at most `maxPauseMs`). Returns
 * the accepted uuids with the moment their 202 arrived.
 */
export async function produce(server: DevServer, batches: number, size: number, maxPauseMs = 1_000): Promise<Map<string, number>> {
  const accepted = new Map<string, number>();
  for (let batch = 0; batch < batches; batch++) {
    const events = quableEvents(size);
    for (;;) {
      const response = await postEvents(server, events);
      if (response.status === 503) {
        await response.arrayBuffer();
        await new Promise((wait) => setTimeout(wait, Math.min(maxPauseMs, Number(response.headers.get("retry-after")) * 1000)));
        continue;
      }
      expect(response.status, await response.clone().text()).toBe(202);
      const result = (await response.json()) as { accepted: string[] };
      for (const uuid of result.accepted) accepted.set(uuid, Date.now());
      break;
    }
  }
  return accepted;
}

/**
 * Spins a core; every so often it checks that the process that started it still runs (its parent
 * changes when orphaned) and ends if not, so that no loop outlives a test worker that was torn down.
 */
const BUSY_LOOP = "const parent = process.ppid; for (let spin = 1; ; spin++) if (spin % 1e8 === 0 && process.ppid !== parent) process.exit();";

/** `count` processes that each keep a core busy until `stop` kills them (or this process ends). */
export function busyLoops(count: number): { stop: () => void } {
  const children: ChildProcess[] = Array.from({ length: count }, () => spawn(process.execPath, ["-e", BUSY_LOOP], { stdio: "ignore" }));
  const stop = () => children.forEach((child) => child.kill("SIGKILL"));
  process.once("exit", stop);
  return { stop };
}
