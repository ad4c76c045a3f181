import type { Hono } from "hono";
import { loadCatalog } from "../api/catalog";
import { ValidationFailed } from "../api/errors";
import { EventTypeCode, EventTypeRequest, deleteEventType, putEventType } from "../api/event-type-service";
import { issuesToErrors, type ValidationErrors } from "../domain/validation-errors";
import { hrefWith } from "./links";
import { EventTypesPage, type EventTypeProblems, type EventTypeValues } from "./pages/event-types";
import { action, page, readForm, type DashboardEnv } from "./session";

const NOTICES: Record<string, string> = { saved: "Event type saved.", deleted: "Event type deleted." };

/** The form as the API's `PUT /v1/event-types/{code}`, checked by the API's own schemas; blank fields are absent. */
function parseForm(form: Record<string, string>): { code: string; description: string | null; schema: unknown } {
  const errors: ValidationErrors = {};
  const code = EventTypeCode.safeParse((form.code ?? "").trim());
  if (!code.success) issuesToErrors(code.error.issues, ["code"], errors);
  let schema: unknown = null;
  const schemaText = (form.schema ?? "").trim();
  try {
    if (schemaText !== "") schema = JSON.parse(schemaText);
  } catch {
    errors.schema = ["must be JSON"];
  }
  const body = EventTypeRequest.safeParse({ description: form.description || null, schema });
  if (!body.success) issuesToErrors(body.error.issues, [], errors);
  if (!code.success || !body.success || errors.schema) throw new ValidationFailed(errors);
  return { code: code.data, description: body.data.description ?? null, schema: body.data.schema ?? null };
}

/** `schema.properties.id` belongs beside the schema field; anything else not about a field, above the form. */
function problemsByField(errors: ValidationErrors): EventTypeProblems {
  const problems: EventTypeProblems = {};
  for (const [path, messages] of Object.entries(errors)) {
    const head = path.split(/[.[]/)[0] ?? "";
    const field = head === "code" || head === "description" || head === "schema" ? head : "form";
    (problems[field] ??= []).push(...messages.map((message) => (path === field ? message : `${path}: ${message}`)));
  }
  return problems;
}

/** The catalogue page (`/event-types`): every code, and the operator's editable and deletable. */
export function registerEventTypePages(dashboard: Hono<DashboardEnv>): void {
  const render = async (csrfToken: string, env: DashboardEnv["Bindings"], values: EventTypeValues, problems: EventTypeProblems, notice?: string) => {
    const { items } = await loadCatalog(env, { fresh: true });
    return <EventTypesPage csrfToken={csrfToken} items={items} values={values} problems={problems} notice={notice} />;
  };

  dashboard.get("/event-types", ...page, async (c) => {
    const { items } = await loadCatalog(c.env, { fresh: true });
    const editing = items.find((item) => item.code === c.req.query("code"));
    const values = editing
      ? { code: editing.code, description: editing.description ?? "", schema: editing.schema === null ? "" : JSON.stringify(editing.schema, null, 2) }
      : {};
    return c.html(await render(c.var.csrfToken, c.env, values, {}, NOTICES[c.req.query("done") ?? ""]));
  });

  dashboard.post("/event-types", ...action, async (c) => {
    const form = await readForm(c);
    try {
      const { code, ...entry } = parseForm(form);
      await putEventType(c.env, code, entry);
      return c.redirect(hrefWith("/event-types", { done: "saved" }), 303);
    } catch (error) {
      if (!(error instanceof ValidationFailed)) throw error;
      const values = { code: form.code, description: form.description, schema: form.schema };
      return c.html(await render(c.var.csrfToken, c.env, values, problemsByField(error.errors)), 422);
    }
  });

  dashboard.post("/event-types/:code/delete", ...action, async (c) => {
    await deleteEventType(c.env, c.req.param("code"));
    return c.redirect(hrefWith("/event-types", { done: "deleted" }), 303);
  });
}
