import { describe, expect, it } from "vitest";
import {
  BUILT_IN_CODES, QUILTT_CODES, WILDCARD, isKnownEventType, subscriptionsNeedingCode, typeMatchesCode, typesMatchCode, unknownEventTypes,
} from "../../src/domain/catalog";

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

describe("the built-in catalogue", () => {
  it("holds Quable's 24 codes and Quiltt's 18 webhook types plus charge.execute, once each", () => {
    expect(QUILTT_CODES).toHaveLength(19);
    expect(new Set(BUILT_IN_CODES).size).toBe(24 + 19);
    for (const type of ["profile", "profile.created", "connection", "connection.synced", "connection.synced.errored", "account", "charge.execute"])
      expect(isKnownEventType(type)).toBe(true);
  });
});

describe("unknownEventTypes", () => {
  it.each([
    [["*", "document"], [], []],
    [["acme.order"], [], [{ index: 0, type: "acme.order" }]],
    [["acme.order", "doc", "acme"], ["acme.order.shipped"], [{ index: 1, type: "doc" }]],
    [["acme.order"], ["acme.order"], []],
  ])("%j with operator codes %j: %j", (types, operatorCodes, expected) => {
    expect(unknownEventTypes(types, [...BUILT_IN_CODES, ...operatorCodes])).toEqual(expected);
  });
});

describe("subscriptionsNeedingCode", () => {
  const codes = [...BUILT_IN_CODES, "acme.order.created", "acme.order.shipped"];
  const subscriptions = [
    { id: "wh_named", eventTypes: ["document", "acme.order.created"] },
    { id: "wh_prefix", eventTypes: ["acme.order"] },
    { id: "wh_wildcard", eventTypes: ["*"] },
    { id: "wh_other", eventTypes: ["acme.order.shipped"] },
  ];

  it("names the subscriptions naming the code, not those a sibling code still serves", () => {
    expect(subscriptionsNeedingCode("acme.order.created", codes, subscriptions)).toEqual(["wh_named"]);
  });

  it("names a prefix that would select nothing once the last code under it is gone", () => {
    const left = codes.filter((code) => code !== "acme.order.created");
    expect(subscriptionsNeedingCode("acme.order.shipped", left, subscriptions.slice(1))).toEqual(["wh_prefix", "wh_other"]);
  });
});
