import { describe, expect, it } from "vitest";
import { BUILT_IN_CODES, WILDCARD, isKnownEventType, typeMatchesCode, typesMatchCode } from "../../src/domain/catalog";

describe("typeMatchesCode", () => {
  it("selects every code with the wildcard", () => {
    for (const code of BUILT_IN_CODES) expect(typeMatchesCode(WILDCARD, code)).toBe(true);
  });

  it("selects a code by its exact name", () => {
    expect(typeMatchesCode("document.update", "document.update")).toBe(true);
    expect(typeMatchesCode("document.update", "document.delete")).toBe(false);
  });

  it.each([
    ["document", "document.update"],
    ["document", "document.create"],
    ["user", "user.logout"],
    ["user", "user.login.failed"],
    ["user.login", "user.login.failed"],
    ["user.login", "user.login.succeed"],
    ["bulk_edit", "bulk_edit.finish"],
  ])("selects by a prefix at a dot boundary: %s selects %s", (eventType, code) => {
    expect(typeMatchesCode(eventType, code)).toBe(true);
  });

  it.each([
    ["doc", "document.update"],
    ["document.up", "document.update"],
    ["user.log", "user.logout"],
    ["user.login", "user.logout"],
    ["media", "document.update"],
    ["document.", "document.update"],
    ["document.update.extra", "document.update"],
    ["update", "document.update"],
    ["", "document.update"],
    ["Document", "document.update"],
    ["document.*", "document.update"],
  ])("does not match part of a word or another code: %s does not select %s", (eventType, code) => {
    expect(typeMatchesCode(eventType, code)).toBe(false);
  });
});

describe("typesMatchCode", () => {
  it("matches when any one type selects the code", () => {
    expect(typesMatchCode(["media.update", "document"], "document.delete")).toBe(true);
    expect(typesMatchCode(["media.update", "doc"], "document.delete")).toBe(false);
    expect(typesMatchCode([], "document.delete")).toBe(false);
  });
});

describe("isKnownEventType", () => {
  it("knows the wildcard and every catalog code", () => {
    expect(isKnownEventType("*")).toBe(true);
    for (const code of BUILT_IN_CODES) expect(isKnownEventType(code)).toBe(true);
  });

  it.each(["document", "media", "user", "user.login", "import", "export", "bulk_edit"])("knows the prefix %s", (prefix) => {
    expect(isKnownEventType(prefix)).toBe(true);
  });

  it.each(["doc", "", "document.", "documents", "document.update.extra", "user.log", "order.create", "Document", "document.*", "**", ".update"])(
    "refuses %j, which selects no catalog code",
    (eventType) => {
      expect(isKnownEventType(eventType)).toBe(false);
    },
  );
});
