import type { ValidationErrors } from "../domain/validation-errors";

/**
 * The create and edit forms are turned into exactly the bodies the API takes, then checked by the
 * API's own schemas and rules; only the shape of the errors changes (one list per form field).
 */

const FORM_FIELDS = ["name", "targetUrl", "eventTypes", "authorization"] as const;
type FormField = (typeof FORM_FIELDS)[number];
export type FormValues = Partial<Record<FormField, string>>;
export type FieldProblems = Partial<Record<FormField | "form", string[]>>;

/** `document, media.update` or one per line: the list the API takes. Empty text is an empty list. */
function eventTypesOf(text: string): string[] {
  return text.split(/[\s,]+/).filter((type) => type !== "");
}

/** The create form as a `POST /v1/webhooks/subscriptions` body. */
export function createBody(form: Record<string, string>): Record<string, unknown> {
  return {
    name: form.name ?? "",
    targetUrl: form.targetUrl ?? "",
    eventTypes: eventTypesOf(form.eventTypes ?? ""),
    ...(form.authorization ? { authorization: form.authorization } : {}),
    disabled: form.disabled === "on",
  };
}

/** The edit form as a `PATCH` body: a blank authorization keeps the current one (it is write-only), a tick removes it. */
export function updateBody(form: Record<string, string>): Record<string, unknown> {
  const body: Record<string, unknown> = {
    name: form.name ?? "",
    targetUrl: form.targetUrl ?? "",
    eventTypes: eventTypesOf(form.eventTypes ?? ""),
  };
  if (form.removeAuthorization === "on") body.authorization = null;
  else if (form.authorization) body.authorization = form.authorization;
  return body;
}

/** `eventTypes[2]` belongs beside the event types field; anything not about a field, above the form. */
export function problemsByField(errors: ValidationErrors): FieldProblems {
  const problems: FieldProblems = {};
  for (const [path, messages] of Object.entries(errors)) {
    const head = path.split(/[.[]/)[0] ?? "";
    const field = (FORM_FIELDS as readonly string[]).includes(head) ? (head as FormField) : "form";
    const prefix = field === "form" ? `${path}: ` : "";
    (problems[field] ??= []).push(...messages.map((message) => prefix + message));
  }
  return problems;
}

/** What the form should show again after a refusal (never the authorization value). */
export function valuesOf(form: Record<string, string>): FormValues {
  return { name: form.name, targetUrl: form.targetUrl, eventTypes: form.eventTypes };
}
