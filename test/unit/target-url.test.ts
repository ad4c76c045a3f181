import { describe, expect, it } from "vitest";
import { MAX_TARGET_URL_LENGTH, isPrivateHost, targetUrlProblem, type TargetPolicy } from "../../src/domain/target-url";

const STRICT: TargetPolicy = { allowHttp: false, allowPrivate: false };
const HTTP_ONLY: TargetPolicy = { allowHttp: true, allowPrivate: false };
const PRIVATE_ONLY: TargetPolicy = { allowHttp: false, allowPrivate: true };
const OPEN: TargetPolicy = { allowHttp: true, allowPrivate: true };

const PRIVATE = "must not point at localhost or a private, loopback or link-local address";
const HTTPS_ONLY = "must be an https URL";

describe("targetUrlProblem under the production policy", () => {
  it.each([
    "https://erp.example.com/hooks/pim",
    "https://example.com:8443/path?query=1#fragment",
    "https://8.8.8.8/",
    "https://172.32.0.1/", // just past 172.16.0.0/12
    "https://100.128.0.1/", // just past 100.64.0.0/10
    "https://192.169.0.1/",
    "https://[2606:4700:4700::1111]/",
    "https://[::ffff:8.8.8.8]/",
    "https://localhost.example.com/",
    "https://internal.example.com/",
  ])("accepts the public https URL %s", (url) => {
    expect(targetUrlProblem(url, STRICT)).toBeNull();
  });

  it.each(["http://erp.example.com/", "ftp://erp.example.com/", "ws://erp.example.com/", "file:///etc/passwd", "javascript:alert(1)"])(
    "refuses the non-https URL %s",
    (url) => {
      expect(targetUrlProblem(url, STRICT)).toBe(HTTPS_ONLY);
    },
  );

  it.each(["not a url", "/relative/path", "erp.example.com/hooks", ""])("refuses %j, which is not an absolute URL", (url) => {
    expect(targetUrlProblem(url, STRICT)).toBe("must be an absolute URL");
  });

  it("refuses credentials in the URL", () => {
    const problem = "must not contain credentials (use authorization)";
    expect(targetUrlProblem("https://user:pass@erp.example.com/", STRICT)).toBe(problem);
    expect(targetUrlProblem("https://user@erp.example.com/", STRICT)).toBe(problem);
  });

  it("refuses a URL longer than the limit", () => {
    const url = `https://erp.example.com/${"a".repeat(MAX_TARGET_URL_LENGTH)}`;
    expect(targetUrlProblem(url, STRICT)).toBe(`must be at most ${MAX_TARGET_URL_LENGTH} characters`);
  });

  it.each([
    ["localhost", "https://localhost/"],
    ["localhost with a port", "https://localhost:8443/"],
    ["LOCALHOST in capitals", "https://LOCALHOST/"],
    ["localhost with a trailing dot", "https://localhost./"],
    ["a .local name", "https://printer.local/"],
    ["a .internal name", "https://metadata.google.internal/"],
    ["a .internal name with a trailing dot", "https://metadata.google.internal./"],
    ["a .localhost name", "https://app.localhost/"],
    ["loopback", "https://127.0.0.1/"],
    ["loopback elsewhere in 127/8", "https://127.255.10.1/"],
    ["loopback in hex", "https://0x7f.0.0.1/"],
    ["loopback as one decimal number", "https://2130706433/"],
    ["loopback in octal", "https://0177.0.0.1/"],
    ["loopback in short form", "https://127.1/"],
    ["loopback with a trailing dot", "https://127.0.0.1./"],
    ["10/8", "https://10.0.0.1/"],
    ["10/8 as one hex number", "https://0x0a000001/"],
    ["172.16/12", "https://172.16.0.1/"],
    ["172.16/12 upper end", "https://172.31.255.255/"],
    ["192.168/16", "https://192.168.1.1/"],
    ["192.168/16 in short form", "https://192.168.257/"],
    ["link-local cloud metadata", "https://169.254.169.254/latest/meta-data/"],
    ["link-local in hex", "https://0xa9fea9fe/"],
    ["link-local in dotted hex", "https://0xA9.0xFE.0xA9.0xFE/"],
    ["link-local in octal", "https://0251.0376.0251.0376/"],
    ["unspecified", "https://0.0.0.0/"],
    ["unspecified as a single zero", "https://0/"],
    ["carrier-grade NAT", "https://100.64.0.1/"],
    ["carrier-grade NAT upper end", "https://100.127.255.255/"],
    ["broadcast", "https://255.255.255.255/"],
    ["IPv6 loopback", "https://[::1]/"],
    ["IPv6 loopback written out", "https://[0:0:0:0:0:0:0:1]/"],
    ["IPv6 unspecified", "https://[::]/"],
    ["IPv6 link-local", "https://[fe80::1]/"],
    ["IPv6 unique local fc00::/7", "https://[fc00::1]/"],
    ["IPv6 unique local fd00::/8", "https://[fd12:3456::1]/"],
    ["IPv4-mapped loopback", "https://[::ffff:127.0.0.1]/"],
    ["IPv4-mapped metadata", "https://[::ffff:169.254.169.254]/"],
    ["IPv4-mapped loopback in hex groups", "https://[::ffff:7f00:1]/"],
    ["NAT64 of a private address", "https://[64:ff9b::10.0.0.1]/"],
  ])("refuses %s (%s)", (_what, url) => {
    expect(targetUrlProblem(url, STRICT)).toBe(PRIVATE);
  });
});

describe("the development policy switches", () => {
  it("allowHttp lifts https-only but not the private-address rule", () => {
    expect(targetUrlProblem("http://erp.example.com/", HTTP_ONLY)).toBeNull();
    expect(targetUrlProblem("http://127.0.0.1:8080/", HTTP_ONLY)).toBe(PRIVATE);
    expect(targetUrlProblem("https://10.0.0.1/", HTTP_ONLY)).toBe(PRIVATE);
  });

  it("allowPrivate lifts the private-address rule but not https-only", () => {
    expect(targetUrlProblem("https://localhost/", PRIVATE_ONLY)).toBeNull();
    expect(targetUrlProblem("https://[::1]/", PRIVATE_ONLY)).toBeNull();
    expect(targetUrlProblem("http://127.0.0.1:8080/", PRIVATE_ONLY)).toBe(HTTPS_ONLY);
  });

  it("both together accept a local http receiver", () => {
    expect(targetUrlProblem("http://127.0.0.1:8080/hook", OPEN)).toBeNull();
    expect(targetUrlProblem("http://printer.local/hook", OPEN)).toBeNull();
  });

  it("neither lifts other schemes, credentials or a non-URL", () => {
    expect(targetUrlProblem("ftp://127.0.0.1/", OPEN)).toBe(HTTPS_ONLY);
    expect(targetUrlProblem("http://user:pass@127.0.0.1/", OPEN)).toBe("must not contain credentials (use authorization)");
    expect(targetUrlProblem("not a url", OPEN)).toBe("must be an absolute URL");
  });
});

describe("isPrivateHost", () => {
  it("judges hostnames as the URL parser gives them", () => {
    expect(isPrivateHost("127.0.0.1")).toBe(true);
    expect(isPrivateHost("[::1]")).toBe(true);
    expect(isPrivateHost("")).toBe(true);
    expect(isPrivateHost("example.com")).toBe(false);
    expect(isPrivateHost("[2001:db8::1]")).toBe(false);
  });

  it("refuses an IPv6 literal it cannot read rather than guess", () => {
    expect(isPrivateHost("[not:an:address::::]")).toBe(true);
  });
});
