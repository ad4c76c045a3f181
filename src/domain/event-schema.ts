import { Validator, dereference, type OutputUnit, type Schema } from "@cfworker/json-schema";
import type { IssueLike } from "./validation-errors";

/**
 * JSON Schemas (draft 2020-12) that the operator gives an event code, checked without `eval`:
 * `@cfworker/json-schema` interprets a schema rather than compiling it, which Workers require.
 */

const DRAFT = "2020-12";
const DRAFT_URI = "https://json-schema.org/draft/2020-12/schema";

const schemaRef: Schema = { $ref: "#" };
const schemaMap: Schema = { type: "object", additionalProperties: schemaRef };
const schemaList: Schema = { type: "array", minItems: 1, items: schemaRef };
const count: Schema = { type: "integer", minimum: 0 };
const SCHEMA_KEYWORDS = ["additionalProperties", "propertyNames", "items", "contains", "not", "if", "then", "else", "unevaluatedItems", "unevaluatedProperties"];
const TYPE_NAMES = ["array", "boolean", "integer", "null", "number", "object", "string"];

/**
 * The shape of a draft 2020-12 schema's own keywords (the official meta-schema needs `$dynamicRef`
 * across vocabularies; this says the same about every keyword that validates). Unknown keywords are
 * annotations, allowed as in the draft.
 */
const META_SCHEMA: Schema = {
  type: ["object", "boolean"],
  properties: {
    $schema: { const: DRAFT_URI },
    ...Object.fromEntries(["$id", "$ref", "$anchor", "$comment", "title", "description", "format", "pattern"].map((key) => [key, { type: "string" }])),
    $defs: schemaMap, properties: schemaMap, patternProperties: schemaMap, dependentSchemas: schemaMap,
    ...Object.fromEntries(SCHEMA_KEYWORDS.map((key) => [key, schemaRef])),
    allOf: schemaList, anyOf: schemaList, oneOf: schemaList, prefixItems: schemaList,
    type: {
      anyOf: [{ enum: TYPE_NAMES }, { type: "array", minItems: 1, uniqueItems: true, items: { enum: TYPE_NAMES } }],
    },
    enum: { type: "array" },
    required: { type: "array", uniqueItems: true, items: { type: "string" } },
    dependentRequired: { type: "object", additionalProperties: { type: "array", uniqueItems: true, items: { type: "string" } } },
    ...Object.fromEntries(
      ["minLength", "maxLength", "minItems", "maxItems", "minProperties", "maxProperties", "minContains", "maxContains"].map((key) => [key, count]),
    ),
    ...Object.fromEntries(["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"].map((key) => [key, { type: "number" }])),
    multipleOf: { type: "number", exclusiveMinimum: 0 },
    uniqueItems: { type: "boolean" },
  },
};

const metaValidator = new Validator(META_SCHEMA, DRAFT, false);

/** Every object within a value, itself included. */
function objectsIn(value: unknown): Record<string, unknown>[] {
  if (typeof value !== "object" || value === null) return [];
  const own = Array.isArray(value) ? [] : [value as Record<string, unknown>];
  return [...own, ...Object.values(value).flatMap(objectsIn)];
}

/** The regular expressions a schema holds (`pattern` values, `patternProperties` keys), wherever they nest. */
function patternsOf(schema: unknown): string[] {
  return objectsIn(schema).flatMap((node) => [
    ...(typeof node.pattern === "string" ? [node.pattern] : []),
    ...(typeof node.patternProperties === "object" && node.patternProperties !== null ? Object.keys(node.patternProperties) : []),
  ]);
}

/** Each `$ref` that points nowhere in the schema (the validator would throw on reaching it, not before). */
function unresolvedRefs(schema: unknown): string[] {
  const copy = structuredClone(schema) as Schema; // dereference annotates the schema it is given
  const lookup = dereference(copy);
  return objectsIn(copy).flatMap((node) => {
    if (typeof node.$ref !== "string") return [];
    const target = typeof node.__absolute_ref__ === "string" ? node.__absolute_ref__ : node.$ref;
    return lookup[target] === undefined ? [node.$ref] : [];
  });
}

/** What makes this value not a usable JSON Schema (draft 2020-12), as `schema...` paths; empty when it is one. */
export function schemaProblems(schema: unknown): IssueLike[] {
  const problems = leafErrors(metaValidator.validate(schema).errors).map((unit) => toIssue(unit, ["schema"]));
  if (problems.length > 0) return problems;
  for (const pattern of patternsOf(schema)) {
    try {
      new RegExp(pattern, "u");
    } catch (error) {
      problems.push({ path: ["schema"], message: `"${pattern}" is not a valid regular expression: ${(error as Error).message}` });
    }
  }
  for (const ref of unresolvedRefs(schema)) problems.push({ path: ["schema"], message: `$ref "${ref}" points to nothing in the schema` });
  return problems;
}

/** Checks values against one schema; the issues are relative to the value (`profile.id`). */
export type EventChecker = (value: unknown) => IssueLike[];

/** A checker for a schema that `schemaProblems` passed. */
export function eventChecker(schema: unknown): EventChecker {
  const validator = new Validator(structuredClone(schema) as Schema, DRAFT, false);
  return (value) => leafErrors(validator.validate(value).errors).map((unit) => toIssue(unit, []));
}

/** Keywords whose error only says that something beneath failed; that something is reported itself. */
const APPLICATORS = new Set([
  "properties", "patternProperties", "additionalProperties", "items", "prefixItems", "contains", "allOf", "$ref",
  "dependentSchemas", "unevaluatedProperties", "unevaluatedItems", "if", "then", "else", "propertyNames",
]);

function leafErrors(units: readonly OutputUnit[]): OutputUnit[] {
  return units.filter(
    (unit) => !APPLICATORS.has(unit.keyword) || !units.some((other) => other.keywordLocation.startsWith(`${unit.keywordLocation}/`)),
  );
}

const MISSING_PROPERTY = /required property "(.*)"\.$/;

/** `#/profile/tags/1` becomes ["profile", "tags", 1]; a missing required property is named as the path itself. */
function toIssue(unit: OutputUnit, prefix: readonly PropertyKey[]): IssueLike {
  const path: PropertyKey[] = [...prefix];
  for (const token of unit.instanceLocation.split("/").slice(1)) {
    const key = decodeURIComponent(token).replaceAll("~1", "/").replaceAll("~0", "~");
    path.push(/^\d+$/.test(key) ? Number(key) : key);
  }
  const missing = unit.keyword === "required" ? MISSING_PROPERTY.exec(unit.error) : null;
  if (missing?.[1] !== undefined) return { path: [...path, missing[1]], message: "is required" };
  return { path, message: unit.error };
}
