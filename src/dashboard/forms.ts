import type { ValidationErrors } from "../domain/validation-errors";

/**
 * The create and edit forms are turned into exactly the bodies the API takes, then checked by the
 * API's own schemas and rules; only the shape of the errors changes (one list per form field).
 */

const FORM_FIELDS = ["name", "targetUrl", "eventTypes", "authorization", "payloadFormat", "maxEventsPerDelivery", "maxConcurrency"] as const;
type FormField = (typeof FORM_FIELDS)[number];
export type FormValues = Partial<Record<FormField, string>>;
export type FieldProblems = Partial<Record<FormField | "form", string[]>>;

/** `document, media.update` or one per line: the list the API takes. Empty text is an empty list. */
function eventTypesOf(text: string): string[] {
  return text.split(/[\s,]+/).filter((type) => type !== "");
}

/** A number field as the API takes it: blank is absent, digits a number, anything else left as text for the API to refuse. */
function numberOf(text: string | undefined): number | string | undefined {
  const trimmed = (text ?? "").trim();
  if (trimmed === "") return undefined;
  return /^-?\d+(\.\d+)?$/.test(trimmed) ? Number(trimmed) : trimmed;
}

/** The delivery options of either form; blank fields take the API's defaults. */
function optionsOf(form: Record<string, string>): Record<string, unknown> {
  const options = {
    payloadFormat: form.payloadFormat || undefined,
    maxEventsPerDelivery: numberOf(form.maxEventsPerDelivery),
    maxConcurrency: numberOf(form.maxConcurrency),
  };
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined));
}

/** The create form as a `POST /v1/webhooks/subscriptions` body. */
export function createBody(form: Record<string, string>): Record<string, unknown> {
  return {
    name: form.name ?? "",
    targetUrl: form.targetUrl ?? "",
    eventTypes: eventTypesOf(form.eventTypes ?? ""),
    ...(form.authorization ? { authorization: form.authorization } : {}),
    disabled: form.disabled === "on",
    ...optionsOf(form),
  };
}

/** The edit form as a `PATCH` body: a blank authorization keeps the current one (it is write-only), a tick removes it. */
export function updateBody(form: Record<string, string>): Record<string, unknown> {
  const body: Record<string, unknown> = {
    name: form.name ?? "",
    targetUrl: form.targetUrl ?? "",
    eventTypes: eventTypesOf(form.eventTypes ?? ""),
    ...optionsOf(form),
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
  const { name, targetUrl, eventTypes, payloadFormat, maxEventsPerDelivery, maxConcurrency } = form;
  return { name, targetUrl, eventTypes, payloadFormat, maxEventsPerDelivery, maxConcurrency };
}
