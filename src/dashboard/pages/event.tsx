import type { FC } from "hono/jsx";
import type { EventDeliveries } from "../../api/event-lookup";
import type { SubscriptionView } from "../../domain/subscription";
import type { DeliveryStatus } from "../../domain/delivery";
import { Field, Layout, Notice, PostButton, Time } from "../components";

/** The event's JSON is shown up to this many bytes of HTML, and this many deliveries: the page stays under 100 KB. */
const MAX_SHOWN_JSON_BYTES = 36_000;
export const MAX_SHOWN_DELIVERIES = 25;
const ESCAPED_LENGTH: Record<string, number> = { "&": 5, "<": 4, ">": 4, '"': 6, "'": 5 };

/** The event pretty-printed, cut where its escaped HTML would pass the limit. */
function shownJson(body: string): { text: string; cut: boolean } {
  const text = JSON.stringify(JSON.parse(body), null, 2);
  let bytes = 0;
  for (let index = 0; index < text.length; index++) {
    const char = text[index] ?? "";
    bytes += ESCAPED_LENGTH[char] ?? (char < "\u0080" ? 1 : 3); // 3: at most, per UTF-16 unit
    if (bytes > MAX_SHOWN_JSON_BYTES) return { text: text.slice(0, index), cut: true };
  }
  return { text, cut: false };
}

const STATUS_BADGES: Record<DeliveryStatus, string> = { delivered: "on", failed: "off", held: "warn", retrying: "warn", pending: "" };

export interface FoundEvent {
  readonly uuid: string;
  readonly found: EventDeliveries;
  /** The subscriptions of its deliveries that still exist, by id. */
  readonly subscriptions: ReadonlyMap<string, SubscriptionView>;
}

interface EventPageProps {
  /** How long accepted events are kept (EVENT_RETENTION_DAYS). */
  retentionDays: number;
  csrfToken: string;
  query: string;
  /** null: nothing was looked up yet, or nothing was found. */
  event: FoundEvent | null;
  notice?: string;
}

export const EventPage: FC<EventPageProps> = ({ csrfToken, query, event, notice, retentionDays }) => {
  const json = event ? shownJson(event.found.body) : null;
  return (
    <Layout title={event ? `Event ${event.uuid}` : "Event lookup"} csrfToken={csrfToken} section="events">
      {notice ? <Notice kind="ok">{notice}</Notice> : null}
      <h1>Event lookup</h1>
      <form method="get" action="/events" class="stacked" role="search">
        <Field
          name="uuid" label="Event uuid (or a Quiltt event's id)" type="search" value={query} required placeholder="ce6c64a3-4f27-4b0e-862c-ee780eae06d1"
          problems={query !== "" && !event ? [`no accepted event has this uuid or id (events are kept for ${retentionDays} days)`] : []}
        />
        <button type="submit" class="primary">Look up</button>
      </form>
      {event && json ? (
        <>
          <h2>Deliveries</h2>
          {event.found.deliveries.length === 0 ? <p>No subscription wanted this event.</p> : (
            <table class="cards-on-phone">
              <thead>
                <tr><th scope="col">Subscription</th><th scope="col">Status</th><th scope="col">Attempts</th><th scope="col">Send again</th></tr>
              </thead>
              <tbody>
                {event.found.deliveries.slice(0, MAX_SHOWN_DELIVERIES).map((delivery) => {
                  const subscription = event.subscriptions.get(delivery.subscriptionId);
                  return (
                    <tr>
                      <td data-label="Subscription">
                        {subscription ? <a href={`/subscriptions/${subscription.id}`}>{subscription.name}</a> : <span class="mono">{delivery.subscriptionId}</span>}
                        {delivery.subscriptionDeleted ? <span class="muted"> (deleted)</span> : null}
                      </td>
                      <td data-label="Status">
                        <span class={`badge ${STATUS_BADGES[delivery.status]}`}>{delivery.status}</span>
                        {delivery.nextAttemptAt ? <> next attempt <Time at={delivery.nextAttemptAt} /></> : null}
                      </td>
                      <td data-label="Attempts">{delivery.attempts ?? "—"}</td>
                      <td data-label="Send again">
                        <PostButton
                          action={`/events/${event.uuid}/redeliver`} csrfToken={csrfToken} label="Redeliver"
                          fields={{ subscriptionId: delivery.subscriptionId }} disabled={!subscription || subscription.disabled}
                          title={subscription?.disabled ? "Re-enable the subscription first" : undefined}
                        />
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          )}
          {event.found.deliveries.length > MAX_SHOWN_DELIVERIES
            ? <p class="muted">And {event.found.deliveries.length - MAX_SHOWN_DELIVERIES} more; GET /v1/events/{event.uuid} lists them all.</p>
            : null}
          <h2>Event</h2>
          <p class="muted">Received <Time at={event.found.receivedAt} />.</p>
          <pre class="json"><code>{json.text}</code></pre>
          {json.cut ? <p class="muted">Cut short here; the whole event is at GET /v1/events/{event.uuid}.</p> : null}
        </>
      ) : null}
    </Layout>
  );
};
