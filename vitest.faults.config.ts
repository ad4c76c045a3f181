import { defineConfig } from "vitest/config";

/**
 * The fault suite (`npm run test:faults`): `wrangler dev` driven as a black box under SIGKILLs, busy
 * cores, failing objects and queues, storage errors and hostile receivers, every pair reconciled
 * afterwards. Its own run (and CI step), not part of `vitest run`: it takes minutes and starts a
 * server per case. One file at a time, so that the cases do not starve each other of the 2 cores.
 * DOORBELL_DEV_REPO=<checkout> runs it against another version of Doorbell.
 */
export default defineConfig({
  test: {
    name: "faults",
    include: ["test/faults/**/*.test.ts"],
    environment: "node",
    fileParallelism: false,
    testTimeout: 300_000,
    hookTimeout: 120_000,
  },
});
