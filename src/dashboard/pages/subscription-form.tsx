import type { FC } from "hono/jsx";
import { PAYLOAD_FORMATS } from "../../domain/delivery";
import type { SubscriptionView } from "../../domain/subscription";
import { CsrfField, Field, Layout, RefusedNotice } from "../components";
import type { FieldProblems, FormValues } from "../forms";

interface SubscriptionFormProps {
  csrfToken: string;
  /** Absent: the create form. */
  subscription?: SubscriptionView;
  values: FormValues;
  problems: FieldProblems;
  /** Every code of the catalogue, built-in and the operator's. */
  codes: readonly string[];
  startDisabled?: boolean;
}

export const SubscriptionFormPage: FC<SubscriptionFormProps> = ({ csrfToken, subscription, values, problems, codes, startDisabled }) => {
  const editing = subscription !== undefined;
  const title = editing ? `Edit ${subscription.name}` : "New subscription";
  const refused = Object.keys(problems).length > 0;
  return (
    <Layout title={title} csrfToken={csrfToken} section={editing ? undefined : "new"}>
      <h1>{title}</h1>
      {refused ? <RefusedNotice problems={problems.form} /> : null}
      {/* The server's checks are the API's own; the browser's would only differ in wording. */}
      <form method="post" action={editing ? `/subscriptions/${subscription.id}/edit` : "/subscriptions"} class="stacked" novalidate>
        <CsrfField token={csrfToken} />
        <Field name="name" label="Name" value={values.name} problems={problems.name} required autofocus={!editing} />
        <Field
          name="targetUrl" label="Target URL" type="url" value={values.targetUrl} problems={problems.targetUrl} required
          placeholder="https://erp.example.com/hooks/pim" hint="Where each event is POSTed: an https URL on a public host."
        />
        <Field
          name="eventTypes" label="Event types" value={values.eventTypes} problems={problems.eventTypes} required
          placeholder="document, media.update"
          hint="Separated by commas or spaces. Each is *, an event code, or a prefix of codes at a dot (document selects document.update)."
        />
        <details class="field">
          <summary>Event codes of the catalog</summary>
          <p class="types">{codes.map((code) => <code>{code}</code>)}</p>
        </details>
        <div class="field">
          <label for="field-payloadFormat">Payload format</label>
          <select id="field-payloadFormat" name="payloadFormat" aria-invalid={problems.payloadFormat ? "true" : undefined}>
            {PAYLOAD_FORMATS.map((format) => (
              <option value={format} selected={(values.payloadFormat || "event") === format}>
                {format === "event" ? "event: one event per POST, as ingested" : "quiltt: a WebhookPayload of one or more events"}
              </option>
            ))}
          </select>
          {problems.payloadFormat ? <p class="problem">{problems.payloadFormat.join("; ")}</p> : null}
        </div>
        <Field
          name="maxEventsPerDelivery" label="Events per POST (optional)" value={values.maxEventsPerDelivery} problems={problems.maxEventsPerDelivery}
          hint="1 to 100; only 1 with the event format. Blank: 1 for event, 100 for quiltt."
        />
        <Field
          name="maxConcurrency" label="POSTs at once (optional)" value={values.maxConcurrency} problems={problems.maxConcurrency}
          hint="1 to 500, default 20. While the endpoint is failing, one probe at a time."
        />
        <Field
          name="authorization" label="Authorization header (optional)" type="password" problems={problems.authorization}
          autocomplete="new-password"
          hint={editing
            ? "Sent verbatim as the Authorization header of every delivery. It is never shown; leave blank to keep the current one."
            : "Sent verbatim as the Authorization header of every delivery, e.g. Bearer s3cr3t. It is never shown again."}
        />
        {editing ? (
          <div class="field">
            <label class="check"><input type="checkbox" name="removeAuthorization" /> Remove the authorization header</label>
          </div>
        ) : (
          <div class="field">
            <label class="check"><input type="checkbox" name="disabled" checked={startDisabled} /> Create it disabled (events are held until it is enabled)</label>
          </div>
        )}
        <div class="actions">
          <button type="submit" class="primary">{editing ? "Save changes" : "Create subscription"}</button>
          <a class="button" href={editing ? `/subscriptions/${subscription.id}` : "/"}>Cancel</a>
        </div>
      </form>
    </Layout>
  );
};
