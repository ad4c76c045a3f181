import type { FC } from "hono/jsx";
import { OUTCOMES } from "../../delivery/retry-policy";
import type { OutcomeCounts, SubscriptionSummary } from "../../durable/subscription/summary";
import { EventTypes, Layout, Notice, OutcomeLabel, StatusBadge, Time, clipped } from "../components";
import { choiceOf, hrefWith } from "../links";

/** Target URLs may be 2,048 characters long; the list shows the start of each. */
const MAX_SHOWN_URL_LENGTH = 120;

const STATUS_FILTERS = { all: "All", enabled: "Enabled", disabled: "Disabled" } as const;
export type StatusFilter = keyof typeof STATUS_FILTERS;

export const statusFilterOf = (value: string | undefined): StatusFilter => choiceOf(STATUS_FILTERS, value, "all");

export function matchesFilter(filter: StatusFilter, summary: SubscriptionSummary): boolean {
  return filter === "all" || summary.subscription.disabled === (filter === "disabled");
}

/** "96% (24 of 25)", or a dash when nothing was attempted. */
export function successRate(counts: OutcomeCounts): string {
  const attempts = OUTCOMES.reduce((sum, outcome) => sum + counts[outcome], 0);
  if (attempts === 0) return "no attempts";
  return `${Math.floor((counts.success / attempts) * 100)}% (${counts.success} of ${attempts})`;
}

const OwedCounts: FC<{ owed: SubscriptionSummary["owed"] }> = ({ owed }) => {
  const parts = (["held", "failed", "retrying", "pending"] as const).filter((status) => owed[status] > 0).map((status) => `${owed[status]} ${status}`);
  return parts.length > 0 ? <div class="muted">{parts.join(", ")}</div> : null;
};

export const LastAttempt: FC<{ attempt: SubscriptionSummary["lastAttempt"] }> = ({ attempt }) =>
  attempt ? (
    <span>
      <OutcomeLabel outcome={attempt.outcome} />
      {attempt.status === null ? "" : ` (${attempt.status})`}
      <br />
      <span class="muted"><Time at={attempt.at} /></span>
    </span>
  ) : (
    <span class="muted">none yet</span>
  );

interface ListPageProps {
  csrfToken: string;
  filter: StatusFilter;
  rows: SubscriptionSummary[];
  total: number;
  from: number;
  next: number | null;
  live: boolean;
  notice?: string;
}

export const SubscriptionsPage: FC<ListPageProps> = ({ csrfToken, filter, rows, total, from, next, live, notice }) => {
  const here = (changes: Record<string, string | number | null>) =>
    hrefWith("/", { status: filter === "all" ? null : filter, live: live ? 1 : null, ...changes });
  return (
    <Layout title="Subscriptions" csrfToken={csrfToken} section="subscriptions" refreshSeconds={live ? 5 : undefined}>
      {notice ? <Notice kind="ok">{notice}</Notice> : null}
      <h1>Subscriptions</h1>
      <div class="actions">
        <a class="button primary" href="/subscriptions/new">New subscription</a>
        <a class="button" href={here({ live: live ? null : 1 })}>{live ? "Stop auto-refresh" : "Auto-refresh every 5 s"}</a>
      </div>
      <nav class="tabs" aria-label="Filter by status">
        {Object.entries(STATUS_FILTERS).map(([value, label]) => (
          <a href={here({ status: value === "all" ? null : value })} aria-current={value === filter ? "page" : undefined}>{label}</a>
        ))}
      </nav>
      {total === 0 ? (
        <p>No subscriptions yet. <a href="/subscriptions/new">Create the first one</a>.</p>
      ) : (
        <>
          <p class="muted">{total} subscription{total === 1 ? "" : "s"} in all{filter === "all" ? "" : `; showing the ${filter} ones`}.</p>
          {rows.length === 0 ? <p>None here.</p> : (
            <table class="cards-on-phone">
              <thead>
                <tr>
                  <th scope="col">Name</th><th scope="col">Target URL</th><th scope="col">Event types</th><th scope="col">Status</th>
                  <th scope="col">Consecutive failures</th><th scope="col">Last attempt</th><th scope="col">Success, 24 h</th>
                </tr>
              </thead>
              <tbody>
                {rows.map(({ subscription, lastAttempt, lastDay, owed }) => (
                  <tr>
                    <td data-label="Name"><a href={`/subscriptions/${subscription.id}`}>{subscription.name}</a></td>
                    <td data-label="Target URL" class="url mono">{clipped(subscription.targetUrl, MAX_SHOWN_URL_LENGTH)}</td>
                    <td data-label="Event types"><EventTypes types={subscription.eventTypes} /></td>
                    <td data-label="Status"><StatusBadge subscription={subscription} /><OwedCounts owed={owed} /></td>
                    <td data-label="Consecutive failures">{subscription.consecutiveFailures}</td>
                    <td data-label="Last attempt"><LastAttempt attempt={lastAttempt} /></td>
                    <td data-label="Success, 24 h">{successRate(lastDay)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          <nav class="pager" aria-label="Pages">
            {from > 0 ? <a href={here({ from: null })}>First page</a> : null}
            {next !== null ? <a href={here({ from: next })}>Next page</a> : null}
          </nav>
        </>
      )}
    </Layout>
  );
};
