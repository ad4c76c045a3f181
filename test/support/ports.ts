import { createServer } from "node:net";

/**
 * Ports for what the suites start and for the one kept closed, all below Linux's ephemeral range
 * (32768-60999 by default), where `listen(0)` and outgoing connections take theirs: a port handed out
 * here is not taken by another wrangler's workerd between the asking and the binding, as one released
 * by `listen(0)` can be. Each vitest worker (`VITEST_POOL_ID`) draws from its own block of 1,000, so files
 * running side by side never draw the same one, from a random start, so that two runs at once rarely meet.
 */
const FIRST_PORT = 20_000;
const BLOCK = 1_000;
const BLOCKS = 10;
/** Above every block: `closedPort` probes here. */
const CLOSED_PORTS = { first: FIRST_PORT + BLOCKS * BLOCK, count: 2_000 };

let next = Math.floor(Math.random() * BLOCK);

/** A TCP port on 127.0.0.1 that nothing listens on, for a server this process is about to start. */
export async function freePort(): Promise<number> {
  const block = FIRST_PORT + (Number(process.env.VITEST_POOL_ID ?? 0) % BLOCKS) * BLOCK;
  for (let tried = 0; tried < BLOCK; tried++) {
    const port = block + (next++ % BLOCK);
    if (await isFree(port)) return port;
  }
  throw new Error(`no free TCP port in ${block}-${block + BLOCK - 1}`);
}

/** A port that nothing listens on and nothing will: connecting to it is refused. */
export async function closedPort(): Promise<number> {
  for (let tried = 0; tried < CLOSED_PORTS.count; tried++) {
    const port = CLOSED_PORTS.first + Math.floor(Math.random() * CLOSED_PORTS.count);
    if (await isFree(port)) return port;
  }
  throw new Error("no closed TCP port found");
}

async function isFree(port: number): Promise<boolean> {
  const probe = createServer();
  const bound = await new Promise<boolean>((settle) => {
    probe.once("error", () => settle(false));
    probe.listen(port, "127.0.0.1", () => settle(true));
  });
  if (bound) await new Promise((closed) => probe.close(closed));
  return bound;
}
