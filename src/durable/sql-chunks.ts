/** Cloudflare's limit on bound parameters per SQL statement. */
const MAX_BOUND_PARAMETERS = 100;

/**
 * Runs `run` on each slice of `values` small enough to bind in one statement, with its `?, ?, …` list;
 * `otherParameters`: how many more the statement binds besides the slice.
 */
export function forEachChunk<T>(values: readonly T[], run: (chunk: T[], placeholders: string) => void, otherParameters = 0): void {
  const size = MAX_BOUND_PARAMETERS - otherParameters;
  for (let start = 0; start < values.length; start += size) {
    const chunk = values.slice(start, start + size);
    run(chunk, chunk.map(() => "?").join(", "));
  }
}
