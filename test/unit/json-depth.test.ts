import { describe, expect, it } from "vitest";
import { jsonTextNestsDeeperThan } from "../../src/domain/json-depth";

const nested = (depth: number, open = "[", close = "]") => open.repeat(depth) + close.repeat(depth);

describe("jsonTextNestsDeeperThan", () => {
  it.each([
    ["flat values", '{"a":1,"b":[1,2,3],"c":"x"}', 2, false],
    ["arrays exactly at the limit", nested(32), 32, false],
    ["arrays one past the limit", nested(33), 32, true],
    ["objects one past the limit", '{"a":'.repeat(33) + "1" + "}".repeat(33), 32, true],
    ["siblings never add up", "[" + "[],".repeat(100) + "[]]", 2, false],
    ["brackets inside strings do not count", `["${"[{".repeat(100)}"]`, 1, false],
    ["an escaped quote does not end the string", `["\\"[[[[", "x"]`, 1, false],
    ["an escaped backslash before the closing quote does", `["\\\\", [[1]]]`, 2, true],
    ["unclosed nesting (the parser refuses it later)", "[".repeat(40), 32, true],
    ["not JSON at all", "hello", 0, false],
  ] as const)("%s", (_what, text, limit, expected) => {
    expect(jsonTextNestsDeeperThan(text, limit)).toBe(expected);
  });

  it("stops at the first level too deep, reading no further", () => {
    expect(jsonTextNestsDeeperThan(nested(33) + "this is not JSON at all", 32)).toBe(true);
  });
});
