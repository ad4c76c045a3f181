import { z } from "./zod";
import { isKnownEventType } from "./catalog";
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

export const EventTypes = z
  .array(z.string().min(1, "must not be empty").max(100, "must be at most 100 characters"))
  .min(1, "must list at least one event type")
  .max(100, "must list at most 100 event types")
  .superRefine((types, ctx) => {
    const seen = new Set<string>();
    types.forEach((type, index) => {
      if (seen.has(type)) ctx.addIssue({ code: "custom", path: [index], message: `duplicate event type "${type}"` });
      else if (!isKnownEventType(type)) ctx.addIssue({ code: "custom", path: [index], message: `"${type}" matches no event code of the catalog` });
      seen.add(type);
    });
  })
  .openapi({
    description: "Each `*`, an event code, or a prefix of codes at a dot boundary (`document` selects `document.update`).",
    example: ["document", "media.update"],
  });

export const Authorization = z
  .string()
  .min(1, "must not be empty")
  .max(4096, "must be at most 4096 characters")
  .refine((value) => !CONTROL_CHARACTERS.test(value), noControlCharacters)
  .openapi({ description: "Sent verbatim as the Authorization header of every delivery. Write-only.", example: "Bearer s3cr3t" });

/** POSTs in flight to one endpoint at once, across every consumer invocation, unless the subscription says otherwise. */
export const DEFAULT_MAX_CONCURRENCY = 20;

/** One event per POST in the event format; as many as Quiltt takes in its own. */
export function defaultMaxEventsPerDelivery(format: PayloadFormat): number {
  return format === "quiltt" ? 100 : 1;
}

export const PayloadFormatField = z.enum(PAYLOAD_FORMATS).openapi({ description: "`event` (one event per POST, as ingested) or `quiltt` (Quiltt's WebhookPayload)." });
export const MaxEventsPerDelivery = z.number().int().min(1).max(100).openapi({ description: "Events per POST: 1 for `event`, up to 100 for `quiltt` (its default)." });
export const MaxConcurrency = z.number().int().min(1).max(500).openapi({ description: "POSTs in flight to this endpoint at once (default 20)." });

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
  .openapi("WebhookSubscriptionUpdateRequest");

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
