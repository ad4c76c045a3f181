/** Quable's event codes. */
export const QUABLE_CODES = [
  "document.create", "document.update", "document.delete",
  "media.create", "media.update", "media.delete",
  "classification.create", "classification.update", "classification.delete",
  "link.create", "link.update", "link.delete",
  "value.create", "value.update", "value.delete",
  "variant.create", "variant.update", "variant.delete",
  "bulk_edit.finish", "import.finish", "export.finish",
  "user.login.succeed", "user.login.failed", "user.logout",
] as const;

/** Quiltt's event codes: the `WebhookPayload.eventTypes` enum of Quiltt's webhooks API, and `charge.execute`. */
export const QUILTT_CODES = [
  "connection.created",
  "connection.synced.successful", "connection.synced.successful.initial", "connection.synced.successful.historical",
  "connection.synced.errored.repairable", "connection.synced.errored.institution",
  "connection.synced.errored.provider", "connection.synced.errored.service",
  "connection.disconnected",
  "account.created", "account.owners_verified", "account.reconnected", "account.verified",
  "balance.created", "statement.ready",
  "profile.created", "profile.ready", "profile.deleted",
  "charge.execute",
] as const;

/** The codes every Doorbell knows; the operator adds others (`PUT /v1/event-types/{code}`) but cannot remove these. */
export const BUILT_IN_CODES: readonly string[] = [...QUABLE_CODES, ...QUILTT_CODES];

/** A dotted lower-case event code: `document.update`, `connection.synced.successful`. */
export const EVENT_CODE_PATTERN = /^[a-z0-9_]+(\.[a-z0-9_]+)+$/;
export const EVENT_CODE_MESSAGE = "must be a dotted lower-case event code, e.g. document.update";
export const MAX_EVENT_CODE_LENGTH = 100;

export const WILDCARD = "*";

/**
 * Does a subscription's event type select this event code?
 * `*` selects everything; otherwise the type is the code itself or a prefix of it
 * that ends at a dot boundary (`user.login` selects `user.login.failed`, `doc` selects nothing).
 */
export function typeMatchesCode(eventType: string, code: string): boolean {
  if (eventType === WILDCARD || eventType === code) return true;
  return code.startsWith(eventType) && code.charAt(eventType.length) === ".";
}

export function typesMatchCode(eventTypes: readonly string[], code: string): boolean {
  return eventTypes.some((eventType) => typeMatchesCode(eventType, code));
}

/** A type is valid when it selects at least one code of the catalogue (the built-in one unless told). */
export function isKnownEventType(eventType: string, codes: readonly string[] = BUILT_IN_CODES): boolean {
  return codes.some((code) => typeMatchesCode(eventType, code));
}

/** Each event type that selects no code of the catalogue, with its index: what a subscription may not ask for. */
export function unknownEventTypes(eventTypes: readonly string[], codes: readonly string[]): { index: number; type: string }[] {
  return eventTypes.flatMap((type, index) => (isKnownEventType(type, codes) ? [] : [{ index, type }]));
}

/**
 * The subscriptions that still need `code` in the catalogue: those naming it, and those with a type
 * that would select no code once it is gone. Deleting it is refused while there are any.
 */
export function subscriptionsNeedingCode(
  code: string, codes: readonly string[], subscriptions: readonly { id: string; eventTypes: readonly string[] }[],
): string[] {
  const remaining = codes.filter((other) => other !== code);
  return subscriptions
    .filter(({ eventTypes }) => eventTypes.includes(code) || unknownEventTypes(eventTypes, remaining).length > 0)
    .map(({ id }) => id);
}
