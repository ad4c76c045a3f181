import { z } from "@hono/zod-openapi";

export const ErrorBody = z
  .object({ error: z.string().openapi({ example: "not_found" }), message: z.string() })
  .openapi("Error");

export const ValidationErrorsBody = z
  .record(z.string(), z.array(z.string()))
  .openapi("ValidationErrors", { example: { targetUrl: ["must be an https URL"] } });

/** A JSON response entry for a route's `responses`. */
export function json<T extends z.ZodType>(schema: T, description: string) {
  return { description, content: { "application/json": { schema } } };
}
