declare namespace Cloudflare {
  interface Env extends import("../../src/env").Env {
    readonly TEST_RECEIVER_URL: string;
    readonly TEST_CLOSED_PORT: string;
  }
}
