/** `path?a=1&b=2`, leaving out parameters that are null. */
export function hrefWith(path: string, params: Record<string, string | number | null | undefined>): string {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) if (value !== null && value !== undefined) query.set(name, String(value));
  const text = query.toString();
  return text === "" ? path : `${path}?${text}`;
}

/** A query parameter naming one of `choices`' own keys, else `fallback` (never an inherited name such as `toString`). */
export function choiceOf<Choice extends string>(choices: Readonly<Record<Choice, unknown>>, value: string | undefined, fallback: Choice): Choice {
  return value !== undefined && Object.hasOwn(choices, value) ? (value as Choice) : fallback;
}
