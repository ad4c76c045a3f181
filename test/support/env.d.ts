// Through an alias: `interface ... extends import(...)` is silently ignored, leaving the bindings untyped.
type DoorbellEnv = import("../../src/env").Env;
declare namespace Cloudflare {
  interface Env extends DoorbellEnv {
    readonly TEST_RECEIVER_URL: string;
    readonly TEST_CLOSED_PORT: string;
  }
}
