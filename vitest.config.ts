import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

const TEST_API_TOKEN = "test-api-token-for-the-test-suite";
const TEST_INGEST_TOKEN = "test-ingest-token-for-the-test-suite";
const LOAD_TEST = "test/e2e/load.e2e.test.ts";
/** Signs operational alerts in tests; base64 of 32 bytes, like a real secret. */
const TEST_OPS_WEBHOOK_SECRET = "whsec_ZG9vcmJlbGwtdGVzdC1vcHMtc2VjcmV0LTMyYnl0ZXM=";

export default defineConfig({
  test: {
    // Most of the suite waits on timers, receivers and wrangler's startup, not on a CPU: three files at a
    // time keep two cores busy and take the suite from three minutes to two.
    maxWorkers: 3,
    projects: [
      {
        // Unit and integration tests inside workerd: real Durable Objects, real queues, real HTTP receivers.
        plugins: [
          cloudflareTest(({ inject }) => ({
            wrangler: { configPath: "./wrangler.toml" },
            miniflare: {
              bindings: {
                API_TOKEN: TEST_API_TOKEN,
                INGEST_TOKEN: TEST_INGEST_TOKEN,
                RETRY_DELAY_SECONDS: "1",
                REDELIVERY_GRACE_SECONDS: "30",
                // Small enough that a test reaches it (attempt-log.test.ts), large enough that no other test does.
                MAX_LOGGED_ATTEMPTS: "5000",
                ALLOW_HTTP_TARGETS: "true",
                ALLOW_PRIVATE_TARGETS: "true",
                TEST_RECEIVER_URL: inject("receiverUrl"),
                TEST_CLOSED_PORT: String(inject("closedPort")),
                // Operational alerts of every test go to one receiver bucket; tests filter it by subscription id.
                OPS_WEBHOOK_URL: `${inject("receiverUrl")}/ops-alerts/ok`,
                OPS_WEBHOOK_SECRET: TEST_OPS_WEBHOOK_SECRET,
              },
              queueConsumers: { "doorbell-deliveries": { maxBatchTimeout: 0.05 } },
            },
          })),
        ],
        test: {
          name: "workers",
          include: ["test/unit/**/*.test.ts", "test/integration/**/*.test.ts"],
          globalSetup: ["./test/support/global-setup.ts"],
          testTimeout: 30_000,
        },
      },
      {
        // End to end: `wrangler dev` started as a user would, driven over HTTP from Node.
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.test.ts"],
          exclude: [LOAD_TEST],
          environment: "node",
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
      {
        // The load test times ingestion against the SPEC's 5 s: it runs last and alone, so that it measures
        // Doorbell under its own load, not under two other files' servers on the same two cores (its slowest
        // ingest: 1.6 s alone, 2.8-4.8 s beside them on a slow hour, once 6.0 s with both cores starved).
        test: {
          name: "load",
          include: [LOAD_TEST],
          environment: "node",
          testTimeout: 120_000,
          hookTimeout: 120_000,
          sequence: { groupOrder: 1 },
        },
      },
      {
        // The dashboard in a real browser: Debian's Chromium, driven by playwright-core, against `wrangler dev`.
        test: {
          name: "browser",
          include: ["test/browser/**/*.test.ts"],
          environment: "node",
          testTimeout: 180_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
