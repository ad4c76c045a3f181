/** Test events in Quable's format, for tests in workerd and in Node alike. */

export type TestEvent = Record<string, unknown> & { uuid: string; code: string };

/** A valid `document.update` with a fresh uuid; `overrides` replace top-level fields, `resource` merges into the resource. */
export function makeEvent(overrides: Record<string, unknown> = {}, resource: Record<string, unknown> = {}): TestEvent {
  const uuid = crypto.randomUUID();
  return {
    uuid,
    code: "document.update",
    links: [{ rel: "self", href: `/events/${uuid}` }],
    created_at: "2026-11-22T10:00:00+00:00",
    created_by: "john_doe",
    resource: {
      code: "product_blue_pant",
      type: "document",
      document_type_code: "product",
      links: [{ rel: "self", href: "https://example.quable.com/api/documents/product_blue_pant" }],
      locales: { updated: ["fr_FR"], inherited: ["en_GB", "fr_FR"] },
      ...resource,
    },
    ...overrides,
  };
}
