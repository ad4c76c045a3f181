/**
 * Test-only fault switches, for the fault suite (`npm run test:faults`). They can only be switched on
 * through `POST /_faults`, which exists only with FAULT_INJECTION=true (refused by the configuration
 * unless ALLOW_PRIVATE_TARGETS is true too, so never with production's policy). Off, every check is a
 * no-op. The switches live in this module's memory: in `wrangler dev` the Worker, its queue consumer
 * and its Durable Objects share one isolate, so a switch set by the route is seen by all of them.
 */
export interface FaultSwitches {
  /** Subscription ids whose object throws at the start of its delivery calls. */
  readonly objectFailing: readonly string[];
  /** Every queue send is refused. */
  readonly queueSendsRefused: boolean;
  /** Event-ledger operations that fail as if storage did: "accept", "bodies". */
  readonly storageErrors: readonly string[];
}

export type FaultKind = "object" | "queue" | "storage";

/** What an injected fault throws, so that logs tell it apart from a real one. */
export class InjectedFault extends Error {
  override readonly name = "InjectedFault";
}

const OFF: FaultSwitches = { objectFailing: [], queueSendsRefused: false, storageErrors: [] };
let switches: FaultSwitches = OFF;

export const faults = {
  /** Changes the switches named in `next`; the others keep their state. Returns the new state. */
  set(next: Partial<FaultSwitches>): FaultSwitches {
    switches = { ...switches, ...next };
    return switches;
  },

  /** Throws an InjectedFault when this kind of fault is switched on for `name` (a subscription id, a ledger operation). */
  check(kind: FaultKind, name = ""): void {
    const on =
      kind === "queue" ? switches.queueSendsRefused
      : kind === "object" ? switches.objectFailing.includes(name)
      : switches.storageErrors.includes(name);
    if (on) throw new InjectedFault(`injected fault: ${kind}${name ? ` ${name}` : ""}`);
  },
};
