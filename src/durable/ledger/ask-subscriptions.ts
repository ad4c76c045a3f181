import { groupBy } from "../../domain/collections";
import { subscriptionStub, type Env } from "../../env";

type SubscriptionStub = ReturnType<typeof subscriptionStub>;

/**
 * Asks each subscription once, all at once, about its share of `items` (grouped by subscription, in
 * order). A call that fails gets `fallback`'s answer instead: the ledger's questions must not stop at one
 * object that cannot answer.
 */
export async function askEachSubscription<T, R>(
  env: Env,
  items: readonly { readonly subscriptionId: string; readonly item: T }[],
  ask: (subscription: SubscriptionStub, items: T[]) => Promise<R>,
  fallback: (subscriptionId: string, items: T[], error: unknown) => R,
): Promise<{ subscriptionId: string; answer: R }[]> {
  return Promise.all(
    [...groupBy(items, (entry) => entry.subscriptionId)].map(async ([subscriptionId, group]) => {
      const asked = group.map((entry) => entry.item);
      try {
        return { subscriptionId, answer: await ask(subscriptionStub(env, subscriptionId), asked) };
      } catch (error) {
        return { subscriptionId, answer: fallback(subscriptionId, asked, error) };
      }
    }),
  );
}
