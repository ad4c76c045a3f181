import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { ConfigError } from "../config";
import { issuesToErrors, type ValidationErrors } from "../domain/validation-errors";

/** A refusal with a status, a stable machine code and a human message: `{"error": code, "message": ...}`. */
export class ApiError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    readonly extra: {
      /** Response headers, such as `Retry-After` or `Allow`. */
      readonly headers?: Readonly<Record<string, string>>;
      /** More fields of the JSON error, e.g. the subscriptions a 409 is about. */
      readonly details?: Readonly<Record<string, unknown>>;
    } = {},
  ) {
    super(message);
  }
}

/** A 422 whose body is the Quiltt `ValidationErrors` map itself. */
export class ValidationFailed extends Error {
  constructor(readonly errors: ValidationErrors) {
    super("validation failed");
  }
}

export const notFound = (what: string) => new ApiError(404, "not_found", `${what} not found`);

const CODE_OF_STATUS: Partial<Record<number, string>> = {
  400: "bad_request", 401: "unauthorized", 404: "not_found", 405: "method_not_allowed", 409: "conflict",
  408: "request_timeout", 413: "payload_too_large", 415: "unsupported_media_type", 429: "too_many_requests", 503: "unavailable",
};

/** The one place where thrown errors become responses. */
export function errorResponse(error: Error, c: Context): Response {
  if (error instanceof ValidationFailed) return c.json(error.errors, 422);
  if (error instanceof ApiError) return c.json({ error: error.code, message: error.message, ...error.extra.details }, error.status, error.extra.headers);
  if (error instanceof HTTPException) {
    const message = error.status === 400 && /json/i.test(error.message) ? "body is not valid JSON" : error.message || "request refused";
    return c.json({ error: CODE_OF_STATUS[error.status] ?? "error", message }, error.status);
  }
  if (error instanceof ConfigError) {
    console.error(error.message);
    return c.json({ error: "misconfigured", message: error.message }, 500);
  }
  console.error(`unhandled error: ${error.stack ?? error.message}`);
  return c.json({ error: "internal_error", message: "an internal error occurred; nothing was changed unless the response said so" }, 500);
}

export interface HookResult {
  readonly success: boolean;
  readonly error?: { readonly issues: readonly { readonly path: readonly PropertyKey[]; readonly message: string }[] };
  readonly target: string;
}

/** zod-openapi's validation hook: any failed schema becomes a 422 map (query parameters included). */
export function validationHook(result: HookResult): undefined {
  if (!result.success && result.error) throw new ValidationFailed(issuesToErrors(result.error.issues));
}
