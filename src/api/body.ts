import type { Context, MiddlewareHandler } from "hono";
import { configOf } from "../config";
import { jsonTextNestsDeeperThan } from "../domain/json-depth";
import { ApiError, ValidationFailed } from "./errors";

/** How deep a request body's objects and arrays may nest; checked on the raw text, before parsing. */
export const MAX_BODY_NESTING = 32;

const JSON_MEDIA_TYPE = /^application\/([\w.-]+\+)?json$/i;

/**
 * Reads a JSON request body at most `maxBytes` long as strict UTF-8 text.
 * 415 for another media type, 413 past the limit, 400 for bytes that are not UTF-8.
 */
export async function readBodyText(c: Context, maxBytes: number): Promise<string> {
  const mediaType = (c.req.header("content-type") ?? "").split(";")[0]?.trim() ?? "";
  if (!JSON_MEDIA_TYPE.test(mediaType)) throw new ApiError(415, "unsupported_media_type", "send the body as application/json");
  return readBoundedText(c, maxBytes);
}

/**
 * Reads a request body of any media type as strict UTF-8 text: 413 past `maxBytes` (declared or
 * streamed), 408 when it has not all arrived within BODY_READ_TIMEOUT_MS (a body trickled a byte at a
 * time would otherwise hold the request open), 400 for bytes that are not UTF-8.
 */
export async function readBoundedText(c: Context, maxBytes: number): Promise<string> {
  // Made only when thrown: an Error records its stack, which every accepted request would pay for.
  const tooLarge = () => new ApiError(413, "payload_too_large", `the body is larger than ${formatBytes(maxBytes)}`);
  const declared = Number(c.req.header("content-length"));
  if (Number.isFinite(declared) && declared > maxBytes) throw tooLarge();

  const chunks: Uint8Array[] = [];
  let length = 0;
  const body = c.req.raw.body;
  if (body) {
    const reader = body.getReader();
    const timeoutMs = configOf(c.env as object).bodyReadTimeoutMs;
    let timer: ReturnType<typeof setTimeout> | null = null;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new ApiError(408, "request_timeout", `the body did not arrive within ${timeoutMs / 1000} s`)), timeoutMs);
    });
    try {
      for (;;) {
        const { done, value } = await Promise.race([reader.read(), deadline]);
        if (done) break;
        length += value.byteLength;
        if (length > maxBytes) throw tooLarge();
        chunks.push(value);
      }
    } catch (error) {
      await reader.cancel().catch(() => undefined);
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }
  const bytes = await new Blob(chunks).bytes();
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    throw new ApiError(400, "bad_request", "the body is not valid UTF-8");
  }
}

/** Parses a JSON body; 422 (before parsing) when it nests deeper than `maxDepth`, 400 when it is not JSON. */
export function parseJson(text: string, maxDepth = MAX_BODY_NESTING): unknown {
  if (jsonTextNestsDeeperThan(text, maxDepth)) throw new ValidationFailed({ body: [`must not nest objects and arrays more than ${maxDepth} deep`] });
  try {
    return JSON.parse(text);
  } catch {
    throw new ApiError(400, "bad_request", "body is not valid JSON");
  }
}

/**
 * For routes validated by zod-openapi: reads the body strictly, then hands the text to Hono's body
 * cache so that the route's validator parses exactly these bytes.
 */
export function jsonBody(maxBytes: number, options: { optional?: boolean } = {}): MiddlewareHandler {
  return async (c, next) => {
    const empty = !c.req.raw.body || c.req.header("content-length") === "0";
    if (options.optional && empty && !c.req.header("content-type")) return next();
    const text = await readBodyText(c, maxBytes);
    parseJson(text);
    // Hono caches body reads as promises (its type says otherwise); the validator's c.req.json() reads this.
    (c.req.bodyCache as { text?: Promise<string> }).text = Promise.resolve(text);
    await next();
  };
}

function formatBytes(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${bytes / (1024 * 1024)} MiB` : `${bytes / 1024} KiB`;
}
