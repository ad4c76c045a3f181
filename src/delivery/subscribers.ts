import { matchCodes, type SubscriberEntry } from "../domain/matching";
import { directoryStub, type Env } from "../env";

/**
 * Ingest matches events against a copy of the directory kept in this isolate, so that no single
 * object is asked on every ingest request. The copy is refreshed once it is REFRESH_MS old, and at
 * once after a subscription is created, changed or deleted through this isolate. Another isolate's
 * change reaches it within REFRESH_MS; until then an event may still be matched to a deleted
 * subscription (its object then drops it) or miss a subscription created elsewhere that instant.
 */
const REFRESH_MS = 2_000;

interface Copy {
  readonly entries: readonly SubscriberEntry[];
  readonly loadedAt: number;
}

const copies = new WeakMap<Env, Copy>();
/** The read under way, if any; a write through this isolate drops it, since it may predate the write. */
const loading = new WeakMap<Env, Promise<Copy>>();

function load(env: Env): Promise<Copy> {
  let pending = loading.get(env);
  if (!pending) {
    const read: Promise<Copy> = directoryStub(env)
      .entries()
      .then((entries) => {
        const copy = { entries, loadedAt: Date.now() };
        if (loading.get(env) === read) copies.set(env, copy);
        return copy;
      })
      .finally(() => {
        if (loading.get(env) === read) loading.delete(env);
      });
    loading.set(env, read);
    pending = read;
  }
  return pending;
}

/** For each code, the ids of the subscriptions that select it. */
export async function subscribersOf(env: Env, codes: Iterable<string>): Promise<Map<string, string[]>> {
  const copy = copies.get(env);
  const fresh = copy && Date.now() - copy.loadedAt < REFRESH_MS ? copy : await load(env);
  return matchCodes(fresh.entries, codes);
}

/** Called after this isolate changed the directory: the next ingest reads it again. */
export function forgetSubscribers(env: Env): void {
  copies.delete(env);
  loading.delete(env);
}
