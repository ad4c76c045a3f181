/**
 * Columns added to the `subscription` table after objects were already created with it: each is
 * added where it is missing (an object's SQL schema is only ever created once), with the default an
 * existing subscription takes.
 */
const ADDED_COLUMNS: Record<string, string> = {
  payload_format: "TEXT NOT NULL DEFAULT 'event'",
  max_events_per_delivery: "INTEGER NOT NULL DEFAULT 1",
  max_concurrency: "INTEGER NOT NULL DEFAULT 20",
};

export function addMissingSubscriptionColumns(sql: SqlStorage): void {
  const present = new Set(sql.exec<{ name: string }>("PRAGMA table_info(subscription)").toArray().map((column) => column.name));
  for (const [name, definition] of Object.entries(ADDED_COLUMNS))
    if (!present.has(name)) sql.exec(`ALTER TABLE subscription ADD COLUMN ${name} ${definition}`);
}
