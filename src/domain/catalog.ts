/** The producer's event codes (Quable's catalog). Subscriptions may only ask for types that reach one of these. */
export const EVENT_CATALOG = [
  "document.create", "document.update", "document.delete",
  "media.create", "media.update", "media.delete",
  "classification.create", "classification.update", "classification.delete",
  "link.create", "link.update", "link.delete",
  "value.create", "value.update", "value.delete",
  "variant.create", "variant.update", "variant.delete",
  "bulk_edit.finish", "import.finish", "export.finish",
  "user.login.succeed", "user.login.failed", "user.logout",
] as const;

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

/** A type is valid when it selects at least one code of the catalog. */
export function isKnownEventType(eventType: string): boolean {
  return EVENT_CATALOG.some((code) => typeMatchesCode(eventType, code));
}
