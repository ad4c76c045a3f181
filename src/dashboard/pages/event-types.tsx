import type { FC } from "hono/jsx";
import type { CatalogItem } from "../../api/catalog";
import { CsrfField, Field, Layout, Notice, PostButton, RefusedNotice } from "../components";

export type EventTypeField = "code" | "description" | "schema";
export type EventTypeValues = Partial<Record<EventTypeField, string>>;
export type EventTypeProblems = Partial<Record<EventTypeField | "form", string[]>>;

interface EventTypesPageProps {
  csrfToken: string;
  items: readonly CatalogItem[];
  /** The add-or-replace form: what was typed, or the code being edited. */
  values: EventTypeValues;
  problems: EventTypeProblems;
  notice?: string;
}

const SchemaCell: FC<{ schema: unknown }> = ({ schema }) =>
  schema === null ? <span class="muted">none</span> : (
    <details>
      <summary>JSON Schema</summary>
      <pre>{JSON.stringify(schema, null, 2)}</pre>
    </details>
  );

export const EventTypesPage: FC<EventTypesPageProps> = ({ csrfToken, items, values, problems, notice }) => {
  const refused = Object.keys(problems).length > 0;
  return (
    <Layout title="Event types" csrfToken={csrfToken} section="event-types">
      {notice ? <Notice kind="ok">{notice}</Notice> : null}
      <h1>Event types</h1>
      <p class="muted">
        Subscriptions may name these codes (or a prefix at a dot). Ingest accepts any well-formed code, and checks a code's schema where it has one.
      </p>
      <table>
        <thead><tr><th>Code</th><th>Kind</th><th>Description</th><th>Schema</th><th><span class="visually-hidden">Actions</span></th></tr></thead>
        <tbody>
          {items.map((item) => (
            <tr>
              <td data-label="Code"><code>{item.code}</code></td>
              <td data-label="Kind">{item.builtIn ? "built in" : "operator"}</td>
              <td data-label="Description">{item.description ?? <span class="muted">none</span>}</td>
              <td data-label="Schema"><SchemaCell schema={item.schema} /></td>
              <td data-label="Actions" class="actions">
                <a class="button" href={`/event-types?code=${encodeURIComponent(item.code)}#form`}>Edit</a>
                {item.builtIn ? null : (
                  <PostButton
                    action={`/event-types/${item.code}/delete`} csrfToken={csrfToken} label="Delete" kind="danger"
                    confirm={`Delete the event code ${item.code}?`}
                  />
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>

      <h2 id="form">Add or replace a code</h2>
      {refused ? <RefusedNotice problems={problems.form} /> : null}
      <form method="post" action="/event-types" class="stacked" novalidate>
        <CsrfField token={csrfToken} />
        <Field name="code" label="Code" value={values.code} problems={problems.code} required placeholder="acme.order.shipped" hint="Dotted lower case." />
        <Field name="description" label="Description (optional)" value={values.description} problems={problems.description} />
        <div class="field">
          <label for="field-schema">JSON Schema, draft 2020-12 (optional)</label>
          <textarea id="field-schema" name="schema" rows={8} spellcheck={false} aria-invalid={problems.schema ? "true" : undefined}>{values.schema ?? ""}</textarea>
          {problems.schema ? <p class="problem">{problems.schema.join("; ")}</p> : null}
          <p class="hint">Events of this code must satisfy it at ingest (422 naming the failing paths). Blank: no schema.</p>
        </div>
        <div class="actions"><button type="submit" class="primary">Save</button></div>
      </form>
    </Layout>
  );
};
