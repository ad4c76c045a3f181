import { describe, expect, it } from "vitest";
import { parseEventBatch } from "../../src/domain/event";
import { eventChecker, schemaProblems } from "../../src/domain/event-schema";
import { formatPath } from "../../src/domain/validation-errors";
import { makeQuilttEvent } from "../support/events";

const orderSchema = {
  $schema: "https://json-schema.org/draft/2020-12/schema",
  type: "object",
  required: ["record"],
  properties: {
    record: {
      type: "object",
      required: ["orderId"],
      properties: { orderId: { type: "string", pattern: "^ord_" }, lines: { type: "array", items: { type: "integer", minimum: 1 } } },
    },
  },
};

describe("schemaProblems", () => {
  it.each([
    ["an object schema", orderSchema],
    ["true", true],
    ["false", false],
    ["an empty schema", {}],
    ["$defs and a local $ref", { $defs: { id: { type: "string" } }, properties: { id: { $ref: "#/$defs/id" } } }],
    ["unknown keywords (annotations)", { "x-owner": "team-a", type: "object" }],
  ])("accepts %s", (_what, schema) => {
    expect(schemaProblems(schema)).toEqual([]);
  });

  it.each([
    ["an unknown type name", { type: "strin" }, "schema.type"],
    ["a negative minLength", { minLength: -1 }, "schema.minLength"],
    ["required that is not a list of strings", { required: "id" }, "schema.required"],
    ["a nested schema that is a number", { properties: { id: 5 } }, "schema.properties.id"],
    ["an empty allOf", { allOf: [] }, "schema.allOf"],
    ["a string", "object", "schema"],
    ["another draft", { $schema: "http://json-schema.org/draft-07/schema#" }, "schema.$schema"],
    ["a pattern that is not a regular expression", { properties: { id: { pattern: "(" } } }, "schema"],
    ["a $ref to nowhere", { properties: { id: { $ref: "#/$defs/missing" } } }, "schema"],
  ])("refuses %s, naming where", (_what, schema, path) => {
    const problems = schemaProblems(schema);
    expect(problems.length).toBeGreaterThan(0);
    expect(problems.map((problem) => formatPath(problem.path))).toContain(path);
  });
});

describe("eventChecker", () => {
  const check = eventChecker(orderSchema);

  it("passes an event that satisfies the schema", () => {
    expect(check({ record: { orderId: "ord_1", lines: [1, 2] } })).toEqual([]);
  });

  it("names each failing path, a missing property as its own path, and not the parents that merely contain them", () => {
    const issues = check({ record: { lines: [1, 0, "x"] } }).map((issue) => formatPath(issue.path));
    expect(issues.sort()).toEqual(["record.lines[1]", "record.lines[2]", "record.orderId"]);
    expect(check({})).toEqual([{ path: ["record"], message: "is required" }]);
  });

  it("makes ingest refuse the batch with paths under events[i]", () => {
    const good = makeQuilttEvent({ type: "acme.order", record: { orderId: "ord_1" } });
    const bad = makeQuilttEvent({ type: "acme.order", record: { orderId: "x1" } });
    const other = makeQuilttEvent();
    const parsed = parseEventBatch([good, other, bad], (code) => (code === "acme.order" ? check : undefined));
    expect(parsed.kind).toBe("invalid");
    if (parsed.kind === "invalid") expect(Object.keys(parsed.errors)).toEqual(["events[2].record.orderId"]);
    expect(parseEventBatch([good, other], (code) => (code === "acme.order" ? check : undefined)).kind).toBe("ok");
  });
});
