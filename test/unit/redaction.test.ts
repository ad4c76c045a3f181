import { describe, expect, it } from "vitest";
import { REDACTED, credentialRedactor } from "../../src/domain/redaction";

const TOKEN = "PlainToken12345/+=x";
const AUTHORIZATION = `Bearer ${TOKEN}`;
const SECRET = "whsec_ZG9vcmJlbGwtcmVkYWN0aW9uLXRlc3Qtc2VjcmV0IQ==";
const BASIC_PASSWORD = "s3cret-pa55word";
const BASIC = `Basic ${btoa(`admin:${BASIC_PASSWORD}`)}`;

const base64 = (text: string) => btoa(text);

/** Echoes as endpoints write them; each must come out without any trace of the credential. */
const ECHOES: [string, string][] = [
  ["the whole header", `authorization: ${AUTHORIZATION}`],
  ["the token without its scheme", `invalid token '${TOKEN}'`],
  ["the token lower-cased", `invalid token ${TOKEN.toLowerCase()}`],
  ["the header upper-cased", `AUTHORIZATION: ${AUTHORIZATION.toUpperCase()}`],
  ["JSON-escaped in a header dump", JSON.stringify({ headers: { authorization: `${AUTHORIZATION}"quoted` } })],
  ["JSON with escaped slashes", `{"token":"${TOKEN.replaceAll("/", "\\/")}"}`],
  ["URL-encoded", `GET /log?auth=${encodeURIComponent(AUTHORIZATION)}`],
  ["form-encoded", `auth=${encodeURIComponent(AUTHORIZATION).replaceAll("%20", "+")}`],
  ["base64 of the token", `token=${base64(TOKEN)}`],
  ["base64 of the header", `h=${base64(AUTHORIZATION)}`],
  ["base64 of a header dump, the token at offset 1", `dump=${base64(`x${TOKEN}yz`)}`],
  ["base64 of a header dump, the token at offset 2", `dump=${base64(`xy${TOKEN}z`)}`],
  ["base64url of a header dump", `dump=${base64(`xy${TOKEN}z`).replaceAll("+", "-").replaceAll("/", "_")}`],
  ["hex of the token", `bytes ${[...new TextEncoder().encode(TOKEN)].map((b) => b.toString(16).padStart(2, "0")).join("")}`],
  ["the signing secret", `secret was ${SECRET}`],
  ["the signing secret's key without its prefix", `key ${SECRET.slice(6)}`],
];

describe("credentialRedactor", () => {
  const redactor = credentialRedactor([AUTHORIZATION, SECRET]);

  it.each(ECHOES)("removes %s", (_what, echo) => {
    const redacted = redactor.redact(echo);
    expect(redacted).toContain(REDACTED);
    for (const trace of [TOKEN, TOKEN.toLowerCase(), base64(TOKEN).slice(0, 16), "PlainToken", SECRET.slice(6, 30)])
      expect(redacted.toLowerCase()).not.toContain(trace.toLowerCase());
  });

  it("removes a Basic credential's user:password and its password, decoded or not", () => {
    const basic = credentialRedactor([BASIC]);
    for (const echo of [BASIC, `user admin, password ${BASIC_PASSWORD}`, `admin:${BASIC_PASSWORD}`, btoa(`admin:${BASIC_PASSWORD}`)])
      expect(basic.redact(echo), echo).not.toContain(BASIC_PASSWORD.slice(0, 8));
  });

  it("leaves text without credentials as it was, and skips missing ones", () => {
    expect(redactor.redact("HTTP 500: upstream unavailable")).toBe("HTTP 500: upstream unavailable");
    expect(credentialRedactor([null, undefined, ""]).redact("anything")).toBe("anything");
    expect(credentialRedactor([null]).longestFormBytes).toBe(0);
  });

  it("does not redact forms short enough to match ordinary text", () => {
    expect(credentialRedactor(["Bearer abc"]).redact("abc is a word")).toBe("abc is a word");
  });

  it("knows how far past a cut to read: at least the hex form of the longest credential", () => {
    expect(redactor.longestFormBytes).toBeGreaterThanOrEqual(new TextEncoder().encode(AUTHORIZATION).byteLength * 2);
  });
});
