// The bindings the vitest config adds for tests only, beside the generated ones (worker-configuration.d.ts).
declare namespace Cloudflare {
  interface Env {
    readonly TEST_RECEIVER_URL: string;
    readonly TEST_CLOSED_PORT: string;
  }
}
