import { z } from "@hono/zod-openapi";
import { configOf } from "../config";
import { issuesToErrors } from "../domain/validation-errors";
import { faults } from "../faults";
import { requireToken } from "./auth";
import { parseJson, readBodyText } from "./body";
import { notFound, ValidationFailed } from "./errors";
import { createRouter } from "./router";

const FaultSwitchesRequest = z.strictObject({
  objectFailing: z.array(z.string()).optional(),
  queueSendsRefused: z.boolean().optional(),
  storageErrors: z.array(z.enum(["accept", "bodies"])).optional(),
});

/**
 * `POST /_faults`: the fault suite's switches (src/faults.ts). Not in the OpenAPI document: without
 * FAULT_INJECTION=true it answers 404 like any unknown route. Answers the switches' new state.
 */
export const faultRoutes = createRouter();

// 404 before the token check, so that a server without FAULT_INJECTION does not even hint at the route.
faultRoutes.use("*", async (c, next) => {
  if (!configOf(c.env).faultInjection) throw notFound("route");
  await next();
});
faultRoutes.use("*", requireToken());

faultRoutes.post("/", async (c) => {
  const parsed = FaultSwitchesRequest.safeParse(parseJson(await readBodyText(c, 64 * 1024)));
  if (!parsed.success) throw new ValidationFailed(issuesToErrors(parsed.error.issues));
  return c.json(faults.set(parsed.data), 200);
});
