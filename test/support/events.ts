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

export type TestQuilttEvent = Record<string, unknown> & { id: string; type: string };

/** A valid Quiltt-shaped `profile.created` (Quiltt's ProfileEvent) with a fresh id; `overrides` replace top-level fields. */
export function makeQuilttEvent(overrides: Record<string, unknown> = {}): TestQuilttEvent {
  return {
    id: `evt_${crypto.randomUUID().replaceAll("-", "")}`,
    at: "2026-11-22T10:00:00Z",
    type: "profile.created",
    profile: { id: "p_12sDfIGkY96vVvNvTqNfn9", uuid: "8f6d9c2e-4b1a-4a53-9f0e-2a7c1d5e9b41", metadata: null },
    record: { id: "p_12sDfIGkY96vVvNvTqNfn9", email: "ada@example.com", name: "Ada Lovelace" },
    metadata: {},
    ...overrides,
  };
}
