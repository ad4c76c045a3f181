/** Quiltt's `ValidationErrors`: field path to the list of what is wrong with it. */
export type ValidationErrors = Record<string, string[]>;

/** Renders a path as `events[3].resource.code`; the root (empty path) is `body`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const key of path) {
    if (typeof key === "number") out += `[${key}]`;
    else out += out === "" ? String(key) : `.${String(key)}`;
  }
  return out === "" ? "body" : out;
}

function addError(errors: ValidationErrors, path: string, message: string): void {
  const list = (errors[path] ??= []);
  if (!list.includes(message)) list.push(message);
}

export interface IssueLike {
  readonly path: readonly PropertyKey[];
  readonly message: string;
}

/** Folds zod issues into a ValidationErrors map, each path optionally under a prefix. */
export function issuesToErrors(issues: readonly IssueLike[], prefix: readonly PropertyKey[] = [], into: ValidationErrors = {}): ValidationErrors {
  for (const issue of issues) addError(into, formatPath([...prefix, ...issue.path]), issue.message);
  return into;
}
