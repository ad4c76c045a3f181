import { z } from "@hono/zod-openapi";
import { BUILT_IN_CODES, EVENT_CODE_MESSAGE, EVENT_CODE_PATTERN, MAX_EVENT_CODE_LENGTH, subscriptionsNeedingCode } from "../domain/catalog";
import { schemaProblems } from "../domain/event-schema";
import { catalogStub, directoryStub, type Env } from "../env";
import { forgetCatalog, loadCatalog, type CatalogItem } from "./catalog";
import { ApiError, notFound } from "./errors";

/** What the API and the dashboard both do to the operator's event codes. */

// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/;

export const EventTypeCode = z
  .string()
  .regex(EVENT_CODE_PATTERN, EVENT_CODE_MESSAGE)
  .max(MAX_EVENT_CODE_LENGTH, `must be at most ${MAX_EVENT_CODE_LENGTH} characters`);

export const EventTypeRequest = z
  .object({
    description: z
      .string()
      .max(500, "must be at most 500 characters")
      .refine((text) => !CONTROL_CHARACTERS.test(text), "must not contain control characters (CR, LF, ...)")
      .nullable()
      .optional(),
    schema: z
      .unknown()
      .superRefine((schema, ctx) => {
        if (schema === undefined || schema === null) return;
        for (const problem of schemaProblems(schema)) ctx.addIssue({ code: "custom", path: problem.path.slice(1), message: problem.message });
      })
      .optional()
      .openapi({ description: "A JSON Schema (draft 2020-12) that events of this code must satisfy at ingest; `null` or absent for none." }),
  })
  .openapi("EventTypeRequest");
export type EventTypeInput = z.infer<typeof EventTypeRequest>;

/** Adds or replaces the operator's entry for a code; created when the catalogue did not have the code before. */
export async function putEventType(env: Env, code: string, input: EventTypeInput): Promise<{ item: CatalogItem; created: boolean }> {
  const entry = { code, description: input.description ?? null, schema: input.schema ?? null };
  const { created } = await catalogStub(env).put({ ...entry, schema: entry.schema === null ? null : JSON.stringify(entry.schema) });
  forgetCatalog();
  const builtIn = BUILT_IN_CODES.includes(code);
  return { item: { ...entry, builtIn }, created: created && !builtIn };
}

/** Refused for a built-in code (409), one the catalogue lacks (404), and one that subscriptions still need (409 naming them). */
export async function deleteEventType(env: Env, code: string): Promise<void> {
  if (BUILT_IN_CODES.includes(code)) throw new ApiError(409, "conflict", `"${code}" is built in and cannot be deleted`);
  const [catalog, subscriptions] = await Promise.all([loadCatalog(env, { fresh: true }), directoryStub(env).entries()]);
  if (!catalog.codes.includes(code)) throw notFound("event type");
  const needing = subscriptionsNeedingCode(code, catalog.codes, subscriptions);
  if (needing.length > 0)
    throw new ApiError(409, "conflict", `subscriptions still name "${code}": ${needing.join(", ")}; change or delete them first`, { details: { subscriptions: needing } });
  await catalogStub(env).remove(code);
  forgetCatalog();
}
