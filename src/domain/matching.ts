import { typesMatchCode } from "./catalog";

/** A subscription as ingest sees it: who it is and which event types it selects. */
export interface SubscriberEntry {
  readonly id: string;
  readonly eventTypes: readonly string[];
}

/** For each distinct code, the subscriptions whose event types select it, in the entries' order. */
export function matchCodes(entries: readonly SubscriberEntry[], codes: Iterable<string>): Map<string, string[]> {
  const matches = new Map<string, string[]>();
  for (const code of codes) {
    if (matches.has(code)) continue;
    matches.set(code, entries.filter((entry) => typesMatchCode(entry.eventTypes, code)).map((entry) => entry.id));
  }
  return matches;
}
