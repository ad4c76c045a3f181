import { DurableObject } from "cloudflare:workers";
import type { Env } from "../env";

/** An event code the operator described or gave a schema (a built-in code may have a row too). */
export interface CatalogEntry {
  readonly code: string;
  readonly description: string | null;
  /** The JSON text of a JSON Schema (draft 2020-12) events of this code must satisfy at ingest; checked before it is stored. */
  readonly schema: string | null;
}

/**
 * The operator's part of the event catalogue, in one well-known object. It only stores; the rules
 * (what a code or schema may be, what may be deleted) are the API's, and ingest reads it through a
 * short cache so that this object is not asked once per request.
 */
export class CatalogObject extends DurableObject<Env> {
  private readonly sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec("CREATE TABLE IF NOT EXISTS event_types (code TEXT PRIMARY KEY, description TEXT, schema TEXT, updated_at INTEGER NOT NULL)");
  }

  list(): CatalogEntry[] {
    return this.sql.exec<{ code: string; description: string | null; schema: string | null }>("SELECT code, description, schema FROM event_types ORDER BY code").toArray();
  }

  /** Adds or replaces a code's entry; whether it is new. */
  put(entry: CatalogEntry): { created: boolean } {
    const created = this.sql.exec("SELECT 1 FROM event_types WHERE code = ?", entry.code).toArray().length === 0;
    this.sql.exec(
      `INSERT INTO event_types (code, description, schema, updated_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (code) DO UPDATE SET description = excluded.description, schema = excluded.schema, updated_at = excluded.updated_at`,
      entry.code, entry.description, entry.schema, Date.now(),
    );
    return { created };
  }

  /** Whether there was such a code. */
  remove(code: string): boolean {
    return this.sql.exec("DELETE FROM event_types WHERE code = ?", code).rowsWritten > 0;
  }
}
