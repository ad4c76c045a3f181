import type { FC } from "hono/jsx";
import type { AttemptView } from "../../durable/subscription/attempt-log";
import type { SubscriptionSummary } from "../../durable/subscription/summary";
import type { SubscriptionView } from "../../domain/subscription";
import { AttemptsChart, CHART_WINDOWS, DEFAULT_WINDOW, type ChartWindow } from "../chart";
import { EventTypes, Layout, Notice, OutcomeLabel, PostButton, StatusBadge, Time, clipped } from "../components";
import { hrefWith } from "../links";
import { LastAttempt, successRate } from "./subscriptions";

/** Of an attempt's error (up to 512 characters of the response body), the log shows this much. */
const MAX_SHOWN_ERROR_LENGTH = 240;

/** A secret shown on this page only, in answer to the POST that revealed or rotated it. */
export interface ShownSecret {
  readonly value: string;
  readonly rotated: boolean;
}

interface SubscriptionPageProps {
  csrfToken: string;
  summary: SubscriptionSummary;
  attempts: AttemptView[];
  /** The attempt page shown (absent: the newest) and the one after it. */
  cursor: string | null;
  nextCursor: number | null;
  window: ChartWindow;
  live: boolean;
  notice?: string;
  secret?: ShownSecret;
}

const SecretBox: FC<{ secret: ShownSecret }> = ({ secret }) => (
  <Notice kind="ok">
    <p>
      {secret.rotated
        ? "A new signing secret. Every secret rotated out keeps signing deliveries for 24 hours (five at most at once), so switch your receiver over within that time."
        : "The signing secret: verify the webhook-signature header of each delivery with it (Standard Webhooks)."}
    </p>
    <div class="secret">
      <code id="secret-value">{secret.value}</code>
      <button type="button" data-copy="secret-value" hidden>Copy</button>
    </div>
  </Notice>
);

export const SubscriptionPage: FC<SubscriptionPageProps> = (props) => {
  const { csrfToken, summary, attempts, cursor, nextCursor, window, live, notice, secret } = props;
  const { subscription, owed, lastDay, lastAttempt } = summary;
  const base = `/subscriptions/${subscription.id}`;
  const here = (changes: Record<string, string | number | null>) =>
    hrefWith(base, { window: window === DEFAULT_WINDOW ? null : window, cursor, live: live ? 1 : null, ...changes });
  const replayable = owed.held + owed.failed;
  return (
    <Layout title={subscription.name} csrfToken={csrfToken} refreshSeconds={live ? 5 : undefined}>
      {notice ? <Notice kind="ok">{notice}</Notice> : null}
      {secret ? <SecretBox secret={secret} /> : null}
      <h1>{subscription.name} <StatusBadge subscription={subscription} /></h1>

      <div class="actions">
        <a class="button" href={`${base}/edit`}>Edit</a>
        {subscription.disabled ? (
          <PostButton action={`${base}/enable`} csrfToken={csrfToken} label="Re-enable" kind="primary" />
        ) : (
          <PostButton action={`${base}/disable`} csrfToken={csrfToken} label="Disable" />
        )}
        <PostButton
          action={`${base}/replay`} csrfToken={csrfToken} label={`Replay held and failed (${replayable})`}
          disabled={subscription.disabled || replayable === 0}
          title={subscription.disabled ? "Re-enable the subscription first" : undefined}
        />
        <PostButton action={`${base}/secret`} csrfToken={csrfToken} label="Reveal secret" />
        <PostButton
          action={`${base}/secret/rotate`} csrfToken={csrfToken} label="Rotate secret"
          confirm="Rotate the signing secret? The current one keeps signing for 24 hours."
        />
        <a class="button" href={`${base}/delete`}>Delete…</a>
        <a class="button" href={here({ live: live ? null : 1 })}>{live ? "Stop auto-refresh" : "Auto-refresh every 5 s"}</a>
      </div>
      {subscription.disabled && replayable > 0 ? (
        <p class="muted">Re-enable it to replay its {replayable} held and failed deliveries.</p>
      ) : null}

      <div class="cards">
        <div class="card">Consecutive failures<strong>{subscription.consecutiveFailures}</strong></div>
        <div class="card">Success, 24 h<strong>{successRate(lastDay)}</strong></div>
        <div class="card">Held<strong>{owed.held}</strong></div>
        <div class="card">Failed<strong>{owed.failed}</strong></div>
        <div class="card">Retrying<strong>{owed.retrying}</strong></div>
        <div class="card">Pending<strong>{owed.pending}</strong></div>
      </div>

      <dl class="facts">
        <dt>ID</dt><dd class="mono">{subscription.id}</dd>
        <dt>Target URL</dt><dd class="mono">{subscription.targetUrl}</dd>
        <dt>Event types</dt><dd><EventTypes types={subscription.eventTypes} /></dd>
        <dt>Sends an authorization header</dt><dd>{summary.hasAuthorization ? "yes (the value is not shown)" : "no"}</dd>
        <dt>Payload format</dt>
        <dd>
          {subscription.payloadFormat === "quiltt"
            ? `Quiltt WebhookPayload, up to ${subscription.maxEventsPerDelivery} events per POST`
            : "One event per POST, exactly as ingested"}
        </dd>
        <dt>Concurrency</dt><dd>{`Up to ${subscription.maxConcurrency} POSTs at once`}</dd>
        <dt>Last attempt</dt><dd><LastAttempt attempt={lastAttempt} /></dd>
        <dt>Created</dt><dd><Time at={subscription.createdAt} /></dd>
        <dt>Updated</dt><dd><Time at={subscription.updatedAt} /></dd>
      </dl>

      <h2 id="chart">Attempts over time</h2>
      <nav class="tabs" aria-label="Time range">
        {Object.entries(CHART_WINDOWS).map(([key, { label }]) => (
          <a href={`${here({ window: key === DEFAULT_WINDOW ? null : key })}#chart`} aria-current={key === window ? "page" : undefined}>{label}</a>
        ))}
      </nav>
      <AttemptsChart chart={summary.chart} window={window} />

      <h2 id="attempts">Attempt log</h2>
      {attempts.length === 0 ? <p class="muted">No attempts {cursor ? "older than these" : "yet"}.</p> : (
        <table class="cards-on-phone">
          <thead>
            <tr>
              <th scope="col">Time</th><th scope="col">Event</th><th scope="col">Attempt</th><th scope="col">Outcome</th>
              <th scope="col">HTTP status</th><th scope="col">Duration</th><th scope="col">Error</th>
            </tr>
          </thead>
          <tbody>
            {attempts.map((attempt) => (
              <tr>
                <td data-label="Time"><Time at={attempt.at} /></td>
                <td data-label="Event">
                  <a href={hrefWith("/events", { uuid: attempt.eventId })} class="mono">{attempt.eventId}</a> {attempt.eventCode}
                </td>
                <td data-label="Attempt">{attempt.attempt}</td>
                <td data-label="Outcome"><OutcomeLabel outcome={attempt.outcome} /></td>
                <td data-label="HTTP status">{attempt.status ?? "none"}</td>
                <td data-label="Duration">{attempt.durationMs} ms</td>
                <td data-label="Error" class="error">{clipped(attempt.error ?? "", MAX_SHOWN_ERROR_LENGTH)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <nav class="pager" aria-label="Attempt pages">
        {cursor ? <a href={`${here({ cursor: null })}#attempts`}>Newest attempts</a> : null}
        {nextCursor !== null ? <a href={`${here({ cursor: nextCursor })}#attempts`}>Older attempts</a> : null}
      </nav>
    </Layout>
  );
};

export const DeletePage: FC<{ csrfToken: string; subscription: SubscriptionView }> = ({ csrfToken, subscription }) => (
  <Layout title={`Delete ${subscription.name}`} csrfToken={csrfToken}>
    <h1>Delete “{subscription.name}”?</h1>
    <p>
      Nothing more will be delivered to <span class="mono url">{subscription.targetUrl}</span>, and its held and failed
      deliveries and its attempt log are deleted with it. This cannot be undone.
    </p>
    <div class="actions">
      <PostButton action={`/subscriptions/${subscription.id}/delete`} csrfToken={csrfToken} label="Delete subscription" kind="danger" />
      <a class="button" href={`/subscriptions/${subscription.id}`}>Cancel</a>
    </div>
  </Layout>
);
