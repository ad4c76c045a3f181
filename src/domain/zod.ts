import { z } from "@hono/zod-openapi";

/** Messages in the voice of a ValidationErrors map ("name": ["is required"]), set once for every schema. */
z.config({
  customError: (issue) => {
    if (issue.code !== "invalid_type") return undefined;
    if (issue.input === undefined) return "is required";
    return `must be ${issue.expected === "array" || issue.expected === "object" ? "an" : "a"} ${issue.expected}`;
  },
});

export { z };
