import { PatternRouter } from "hono/router/pattern-router";

/** A registered route as Hono lists it (`app.routes`); middleware is registered under the method `ALL`. */
interface RouteLike {
  readonly method: string;
  readonly path: string;
}

/** In the order `Allow` lists them. */
const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"] as const;

/**
 * The methods that some route answers at a path, for `405` and its `Allow` header. Built from the routes
 * themselves, so a new route needs nothing more; middleware (`ALL`) does not make a path known.
 */
export function allowedMethodsOf(routes: readonly RouteLike[]): (path: string) => readonly string[] {
  const router = new PatternRouter<string>();
  for (const { method, path } of routes) if (method !== "ALL") router.add(method, path, method);
  return (path) => METHODS.filter((method) => router.match(method, path)[0].length > 0);
}
