import { OpenAPIHono } from "@hono/zod-openapi";
import type { Env } from "../env";
import { validationHook } from "./errors";

export type AppEnv = { Bindings: Env };

/** Every resource's sub-app is made here, so each shares the same validation hook. */
export function createRouter(): OpenAPIHono<AppEnv> {
  return new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
}

export const BEARER_SECURITY = [{ bearerAuth: [] }];
