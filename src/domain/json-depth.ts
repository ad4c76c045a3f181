/**
 * How deep JSON text nests, judged from the raw text before any parse: `[` and `{` outside strings open a
 * level, `]` and `}` close one. JSON.parse of 5 MiB of `[[[[...` takes seconds before any later check
 * could refuse it; this scan takes milliseconds and stops at the first level too deep. Text that is not
 * JSON at all is left for the parser to refuse.
 */
export function jsonTextNestsDeeperThan(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (inString) {
      if (code === BACKSLASH) i++; // the escaped character, a quote included, is part of the string
      else if (code === QUOTE) inString = false;
    } else if (code === QUOTE) inString = true;
    else if (code === OPEN_ARRAY || code === OPEN_OBJECT) {
      if (++depth > limit) return true;
    } else if (code === CLOSE_ARRAY || code === CLOSE_OBJECT) depth--;
  }
  return false;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
