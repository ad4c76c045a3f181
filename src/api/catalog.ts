import { BUILT_IN_CODES } from "../domain/catalog";
import { eventChecker, type EventChecker } from "../domain/event-schema";
import type { CatalogEntry } from "../durable/catalog-object";
import { catalogStub, type Env } from "../env";

/** One code of the catalogue as `GET /v1/event-types` shows it. */
export interface CatalogItem {
  readonly code: string;
  readonly description: string | null;
  readonly schema: unknown;
  readonly builtIn: boolean;
}

export interface Catalog {
  /** Every code: the built-in ones, then the operator's, each once. */
  readonly codes: readonly string[];
  readonly items: readonly CatalogItem[];
  /** The schema an event of this code must satisfy, when it has one. */
  readonly checkerOf: (code: string) => EventChecker | undefined;
}

function catalogOf(stored: readonly CatalogEntry[]): Catalog {
  const entries = stored.map((entry) => ({ ...entry, schema: entry.schema === null ? null : (JSON.parse(entry.schema) as unknown) }));
  const byCode = new Map(entries.map((entry) => [entry.code, entry]));
  const builtIn = new Set(BUILT_IN_CODES);
  const codes = [...BUILT_IN_CODES, ...entries.map((entry) => entry.code).filter((code) => !builtIn.has(code))];
  const items = codes.map((code) => ({
    code, description: byCode.get(code)?.description ?? null, schema: byCode.get(code)?.schema ?? null, builtIn: builtIn.has(code),
  }));
  const checkers = new Map(entries.filter((entry) => entry.schema !== null).map((entry) => [entry.code, eventChecker(entry.schema)]));
  return { codes, items, checkerOf: (code) => checkers.get(code) };
}

/**
 * Ingest reads the catalogue through this isolate's copy, at most CACHE_MS old, so that the one
 * catalogue object is asked about once per isolate every few seconds rather than on every request.
 * The trade-off: a code's schema put (or changed, or removed) in another isolate is enforced there
 * only up to CACHE_MS later, so events ingested in that window are checked against the previous
 * schema. Changes made through this isolate drop its copy at once. Subscription writes and the
 * catalogue's own routes always read the object itself (`fresh`).
 */
const CACHE_MS = 5_000;
let cached: { readonly at: number; readonly catalog: Promise<Catalog> } | null = null;

export function loadCatalog(env: Env, { fresh = false } = {}): Promise<Catalog> {
  const now = Date.now();
  if (fresh || !cached || now - cached.at > CACHE_MS) {
    const catalog = catalogStub(env).list().then(catalogOf);
    cached = { at: now, catalog };
    catalog.catch(() => {
      if (cached?.catalog === catalog) cached = null; // a failed read is not kept
    });
  }
  return cached.catalog;
}

/** After a change through this isolate: its next read asks the object. */
export function forgetCatalog(): void {
  cached = null;
}
