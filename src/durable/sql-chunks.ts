/** Cloudflare's limit on bound parameters per SQL statement. */
const MAX_BOUND_PARAMETERS = 100;

/** Runs `run` on each slice of `values` small enough to bind in one statement, with its `?, ?, …` list. */
export function forEachChunk<T>(values: readonly T[], run: (chunk: T[], placeholders: string) => void): void {
  for (let start = 0; start < values.length; start += MAX_BOUND_PARAMETERS) {
    const chunk = values.slice(start, start + MAX_BOUND_PARAMETERS);
    run(chunk, chunk.map(() => "?").join(", "));
  }
}
