import { z } from "./zod";
import { MAX_TARGET_URL_LENGTH } from "./target-url";
import { PAYLOAD_FORMATS, type PayloadFormat } from "./delivery";

// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/;
const noControlCharacters = "must not contain control characters (CR, LF, ...)";

export const SubscriptionName = z
  .string()
  .min(1, "must not be empty")
  .max(200, "must be at most 200 characters")
  .refine((name) => !CONTROL_CHARACTERS.test(name), noControlCharacters)
  .refine((name) => name === "" || name.trim() !== "", "must not be blank") // "" is already "must not be empty"
  .openapi({ example: "ERP sync" });

export const TargetUrl = z
  .string()
  .min(1, "must not be empty")
  .max(MAX_TARGET_URL_LENGTH, `must be at most ${MAX_TARGET_URL_LENGTH} characters`)
  .openapi({
    description: "An absolute https URL on a public host (see ALLOW_HTTP_TARGETS / ALLOW_PRIVATE_TARGETS).",
    example: "https://erp.example.com/hooks/pim",
  });

/** Checked against the catalogue too (which the operator extends, so not here): see `unknownEventTypes`. */
export const EventTypes = z
  .array(z.string().min(1, "must not be empty").max(100, "must be at most 100 characters"))
  .min(1, "must list at least one event type")
  .max(100, "must list at most 100 event types")
  .superRefine((types, ctx) => {
    const seen = new Set<string>();
    types.forEach((type, index) => {
      if (seen.has(type)) ctx.addIssue({ code: "custom", path: [index], message: `duplicate event type "${type}"` });
      seen.add(type);
    });
  })
  .openapi({
    description:
      "Each `*`, an event code of the catalogue (`GET /v1/event-types`), or a prefix of codes at a dot boundary (`document` selects `document.update`).",
    example: ["document", "media.update"],
  });

export const Authorization = z
  .string()
  .min(1, "must not be empty")
  .max(4096, "must be at most 4096 characters")
  .refine((value) => !CONTROL_CHARACTERS.test(value), noControlCharacters)
  .openapi({ description: "Sent verbatim as the Authorization header of every delivery. Write-only.", example: "Bearer s3cr3t" });

export const PayloadFormatField = z
  .enum(PAYLOAD_FORMATS, { message: `must be one of ${PAYLOAD_FORMATS.map((format) => `"${format}"`).join(", ")}` })
  .openapi({
    description: "`event`: each POST carries one event exactly as ingested. `quiltt`: each POST carries a `WebhookPayload` of up to `maxEventsPerDelivery` events.",
  });

/** An integer from 1 to `max`. */
const upTo = (max: number) =>
  z.number().int("must be an integer").min(1, `must be from 1 to ${max}`).max(max, `must be from 1 to ${max}`);

export const MAX_EVENTS_PER_DELIVERY = 100;
const MaxEventsPerDelivery = upTo(MAX_EVENTS_PER_DELIVERY).openapi({
  description: "Events per POST at most: 1 with the `event` format (its default, the only value allowed), 100 by default with `quiltt`.",
});

export const MAX_CONCURRENCY = 500;
const MaxConcurrency = upTo(MAX_CONCURRENCY).openapi({
  description: "POSTs in flight to this endpoint at once (one probe at a time while it is failing). Default 20.",
});

/** How a subscription's deliveries are shaped and paced. */
export interface DeliveryOptions {
  readonly payloadFormat: PayloadFormat;
  readonly maxEventsPerDelivery: number;
  readonly maxConcurrency: number;
}

export const DEFAULT_MAX_CONCURRENCY = 20;
const DEFAULT_EVENTS_PER_DELIVERY: Record<PayloadFormat, number> = { event: 1, quiltt: MAX_EVENTS_PER_DELIVERY };
const DEFAULT_OPTIONS: DeliveryOptions = { payloadFormat: "event", maxEventsPerDelivery: 1, maxConcurrency: DEFAULT_MAX_CONCURRENCY };

/**
 * The options a create (no `current`) or a patch leads to, or why not: a change of format without a
 * `maxEventsPerDelivery` takes the new format's default, and the `event` format carries one event per POST.
 */
export function resolveDeliveryOptions(
  input: Partial<DeliveryOptions>, current: DeliveryOptions = DEFAULT_OPTIONS,
): { ok: true; options: DeliveryOptions } | { ok: false; message: string } {
  const payloadFormat = input.payloadFormat ?? current.payloadFormat;
  const formatChanged = payloadFormat !== current.payloadFormat;
  const maxEventsPerDelivery =
    input.maxEventsPerDelivery ?? (formatChanged ? DEFAULT_EVENTS_PER_DELIVERY[payloadFormat] : current.maxEventsPerDelivery);
  if (payloadFormat === "event" && maxEventsPerDelivery !== 1)
    return { ok: false, message: 'must be 1 with payloadFormat "event" (one event per POST)' };
  return { ok: true, options: { payloadFormat, maxEventsPerDelivery, maxConcurrency: input.maxConcurrency ?? current.maxConcurrency } };
}

export const SubscriptionCreateRequest = z
  .object({
    name: SubscriptionName,
    targetUrl: TargetUrl,
    eventTypes: EventTypes,
    disabled: z.boolean().optional(),
    authorization: Authorization.optional(),
    payloadFormat: PayloadFormatField.optional(),
    maxEventsPerDelivery: MaxEventsPerDelivery.optional(),
    maxConcurrency: MaxConcurrency.optional(),
  })
  .superRefine((input, ctx) => {
    const resolved = resolveDeliveryOptions(input);
    if (!resolved.ok) ctx.addIssue({ code: "custom", path: ["maxEventsPerDelivery"], message: resolved.message });
  })
  .openapi("WebhookSubscriptionCreateRequest");

export const SubscriptionUpdateRequest = z
  .object({
    name: SubscriptionName.optional(),
    targetUrl: TargetUrl.optional(),
    eventTypes: EventTypes.optional(),
    disabled: z.boolean().optional().openapi({ description: "`false` re-enables (clears the reason, resets the failure count); `true` disables with reason `manual`." }),
    authorization: Authorization.nullable().optional().openapi({ description: "`null` removes it." }),
    payloadFormat: PayloadFormatField.optional(),
    maxEventsPerDelivery: MaxEventsPerDelivery.optional(),
    maxConcurrency: MaxConcurrency.optional(),
  })
  .openapi("WebhookSubscriptionUpdateRequest", {
    description: "A `payloadFormat` change without `maxEventsPerDelivery` takes the new format's default (1 for `event`, 100 for `quiltt`).",
  });

export type SubscriptionCreate = z.infer<typeof SubscriptionCreateRequest>;
export type SubscriptionUpdate = z.infer<typeof SubscriptionUpdateRequest>;

export const DISABLED_REASONS = ["manual", "failures", "gone"] as const;
export type DisabledReason = (typeof DISABLED_REASONS)[number];

export const Subscription = z
  .object({
    id: z.string().openapi({ example: "wh_3kTMd8F2a9QzX1" }),
    name: z.string(),
    targetUrl: z.string(),
    eventTypes: z.array(z.string()),
    disabled: z.boolean(),
    disabledReason: z.enum(DISABLED_REASONS).nullable(),
    consecutiveFailures: z.number().int(),
    payloadFormat: z.enum(PAYLOAD_FORMATS),
    maxEventsPerDelivery: z.number().int(),
    maxConcurrency: z.number().int(),
    createdAt: z.string().openapi({ example: "2026-11-22T10:00:00Z" }),
    updatedAt: z.string().openapi({ example: "2026-11-22T10:00:00Z" }),
  })
  .openapi("WebhookSubscription");
export type SubscriptionView = z.infer<typeof Subscription>;

export const SubscriptionSecret = z
  .object({ secret: z.string().openapi({ example: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" }) })
  .openapi("WebhookSubscriptionSecret");

export const SubscriptionWithSecret = Subscription.extend(SubscriptionSecret.shape).openapi("WebhookSubscriptionWithSecret");

export const SUBSCRIPTION_ID_PATTERN = /^wh_[A-Za-z0-9]{1,64}$/;
