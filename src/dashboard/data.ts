import { ApiError } from "../api/errors";
import { lookupEvent, type EventDeliveries } from "../api/event-lookup";
import { eventKey } from "../domain/event";
import type { SubscriptionView } from "../domain/subscription";
import type { SubscriptionSummary } from "../durable/subscription/summary";
import { directoryStub, subscriptionStub, type Env } from "../env";
import { MAX_SHOWN_DELIVERIES, type FoundEvent } from "./pages/event";
import { matchesFilter, type StatusFilter } from "./pages/subscriptions";

const LIST_PAGE_SIZE = 25;
/** At most this many subscriptions are read to fill one filtered page: each is a Durable Object call. */
const MAX_SCANNED_PER_PAGE = 100;
/** The list shows no chart; any valid bucket size will do. */
const NO_CHART = [60 * 60 * 1000, 0] as const;

export interface SubscriptionListPage {
  readonly rows: SubscriptionSummary[];
  readonly total: number;
  /** The directory offset the next page starts from, or null at the end. */
  readonly next: number | null;
}

/**
 * One page of the list, oldest first, from directory offset `from`. A status filter is applied to
 * each subscription's own state, so a filtered page reads on until it is full or has read its limit.
 */
export async function listSubscriptions(env: Env, filter: StatusFilter, from: number): Promise<SubscriptionListPage> {
  const directory = directoryStub(env);
  const rows: SubscriptionSummary[] = [];
  let offset = from;
  let total = 0;
  while (rows.length < LIST_PAGE_SIZE && offset - from < MAX_SCANNED_PER_PAGE) {
    const page = await directory.page(offset, LIST_PAGE_SIZE);
    total = page.total;
    const summaries = await Promise.all(page.ids.map((id) => subscriptionStub(env, id).summary(...NO_CHART)));
    for (const summary of summaries) {
      offset += 1;
      if (summary && matchesFilter(filter, summary)) rows.push(summary);
      if (rows.length === LIST_PAGE_SIZE) break;
    }
    if (page.ids.length < LIST_PAGE_SIZE) break;
  }
  return { rows, total, next: offset < total ? offset : null };
}

/** The event and the subscriptions it went to, or null when no accepted event has this uuid (or Quiltt id). */
export async function findEvent(env: Env, uuid: string): Promise<FoundEvent | null> {
  let found: EventDeliveries;
  try {
    found = await lookupEvent(env, uuid);
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return null;
    throw error;
  }
  const views = await Promise.all(found.deliveries.slice(0, MAX_SHOWN_DELIVERIES).map((delivery) => subscriptionStub(env, delivery.subscriptionId).view()));
  const subscriptions = new Map<string, SubscriptionView>();
  for (const view of views) if (view) subscriptions.set(view.id, view);
  return { uuid: eventKey(uuid) ?? uuid, found, subscriptions };
}
