import { describe, expect, it } from "vitest";
import { MAX_TARGET_URL_LENGTH, answerBodyMayBeLogged, classifyHost, targetUrlProblem, type TargetPolicy } from "../../src/domain/target-url";

const STRICT: TargetPolicy = { allowHttp: false, allowPrivate: false };
const HTTP_ONLY: TargetPolicy = { allowHttp: true, allowPrivate: false };
const PRIVATE_ONLY: TargetPolicy = { allowHttp: false, allowPrivate: true };
const OPEN: TargetPolicy = { allowHttp: true, allowPrivate: true };

const PRIVATE = "must not point at localhost or a private, loopback or link-local address";
const HTTPS_ONLY = "must be an https URL";
const LOCAL_NAME = "must name a public host (not a single-label name, a reserved or local suffix, or a name that points at a private address)";
const METADATA = "must not point at a cloud metadata or link-local address (refused in every mode)";

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
    "https://api.test-results.com/", // "test" as a label's part, not the reserved suffix
    "https://hooks.example.com.evil.io/",
    "https://1.2.3.4.example.com/", // a public address spelled in a name
    "https://7f3a9c1e.preview.pages.dev/", // 8 hex digits are a deployment's hash, not an address
    "https://build-2024-01-15.example.com/", // digits with dashes that are not an address
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
    ["a .localhost name", "https://app.localhost/"],
    ["a .localhost subdomain in capitals", "https://API.LOCALHOST/"],
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
    ["unspecified", "https://0.0.0.0/"],
    ["unspecified as a single zero", "https://0/"],
    ["carrier-grade NAT", "https://100.64.0.1/"],
    ["carrier-grade NAT upper end", "https://100.127.255.255/"],
    ["broadcast", "https://255.255.255.255/"],
    ["IPv6 loopback", "https://[::1]/"],
    ["IPv6 loopback written out", "https://[0:0:0:0:0:0:0:1]/"],
    ["IPv6 unspecified", "https://[::]/"],
    ["IPv6 unique local fc00::/7", "https://[fc00::1]/"],
    ["IPv6 unique local fd00::/8", "https://[fd12:3456::1]/"],
    ["IPv4-mapped loopback", "https://[::ffff:127.0.0.1]/"],
    ["IPv4-mapped loopback in hex groups", "https://[::ffff:7f00:1]/"],
    ["NAT64 of a private address", "https://[64:ff9b::10.0.0.1]/"],
  ])("refuses %s (%s)", (_what, url) => {
    expect(targetUrlProblem(url, STRICT)).toBe(PRIVATE);
  });

  // A name is judged by its text: the runtime resolves it out of sight (see SECURITY.md).
  it.each([
    ["a single-label name (resolved by /etc/hosts or a search domain)", "https://vm:28902/probe"],
    ["a single-label name with a trailing dot", "https://intranet./"],
    ["a .local name", "https://printer.local/"],
    ["a .internal name", "https://admin.corp.internal/"],
    ["a .lan name", "https://nas.lan/"],
    ["a .home.arpa name", "https://router.home.arpa/"],
    ["a .test name", "https://api.test/"],
    ["a .invalid name", "https://x.invalid/"],
    ["a .example name", "https://hooks.example/"],
    ["localtest.me, which resolves to 127.0.0.1", "https://localtest.me/"],
    ["a localtest.me subdomain", "https://admin.localtest.me:8443/"],
    ["lvh.me", "https://app.lvh.me/"],
    ["nip.io spelling loopback", "https://127.0.0.1.nip.io/"],
    ["sslip.io with dashes", "https://app-10-0-0-1.sslip.io/"],
    ["an unknown wildcard service spelling a private address with dots", "https://192.168.1.10.wildcard.example.com/"],
    ["an unknown wildcard service spelling a private address with dashes", "https://10-1-2-3.wildcard.example.com/"],
  ])("refuses %s (%s)", (_what, url) => {
    expect(targetUrlProblem(url, STRICT)).toBe(LOCAL_NAME);
  });

  it.each([
    ["link-local cloud metadata", "https://169.254.169.254/latest/meta-data/"],
    ["link-local in hex", "https://0xa9fea9fe/"],
    ["link-local in dotted hex", "https://0xA9.0xFE.0xA9.0xFE/"],
    ["link-local in octal", "https://0251.0376.0251.0376/"],
    ["IPv4-mapped metadata", "https://[::ffff:169.254.169.254]/"],
    ["NAT64 of metadata", "https://[64:ff9b::a9fe:a9fe]/"],
    ["IPv6 link-local", "https://[fe80::1]/"],
    ["IPv6 link-local upper end of fe80::/10", "https://[febf::1]/"],
    ["AWS metadata over IPv6", "https://[fd00:ec2::254]/"],
    ["Alibaba metadata", "https://100.100.100.200/"],
    ["GCP metadata by name", "https://metadata.google.internal/computeMetadata/v1/"],
    ["GCP metadata by name with a trailing dot", "https://metadata.google.internal./"],
    ["GCP metadata's short name", "https://metadata/"],
    ["metadata.goog", "https://metadata.goog/"],
    ["AWS instance-data", "https://instance-data.ec2.internal/"],
  ])("refuses %s (%s) as metadata", (_what, url) => {
    expect(targetUrlProblem(url, STRICT)).toBe(METADATA);
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

  it("both together accept a local http receiver, by address or by local name", () => {
    expect(targetUrlProblem("http://127.0.0.1:8080/hook", OPEN)).toBeNull();
    expect(targetUrlProblem("http://printer.local/hook", OPEN)).toBeNull();
    expect(targetUrlProblem("http://vm:28905/hook", OPEN)).toBeNull();
    expect(targetUrlProblem("http://[fd12::1]/hook", OPEN)).toBeNull();
  });

  it("allowHttp alone refuses the names that reached an internal service in the review (http://vm:28905/internal-admin)", () => {
    expect(targetUrlProblem("http://vm:28905/internal-admin", HTTP_ONLY)).toBe(LOCAL_NAME);
    expect(targetUrlProblem("http://localtest.me:28905/", HTTP_ONLY)).toBe(LOCAL_NAME);
  });

  it.each([
    "http://169.254.169.254/latest", "http://[fe80::1]/", "http://[fe80::a:b:c:d]/", "http://metadata.google.internal/",
    "http://metadata/", "http://[::ffff:a9fe:a9fe]/", "http://[fd00:ec2::254]/", "http://100.100.100.200/latest/meta-data/",
  ])("keeps metadata and link-local refused even with both lifted (%s)", (url) => {
    expect(targetUrlProblem(url, OPEN)).toBe(METADATA);
  });

  it("neither lifts other schemes, credentials or a non-URL", () => {
    expect(targetUrlProblem("ftp://127.0.0.1/", OPEN)).toBe(HTTPS_ONLY);
    expect(targetUrlProblem("http://user:pass@127.0.0.1/", OPEN)).toBe("must not contain credentials (use authorization)");
    expect(targetUrlProblem("not a url", OPEN)).toBe("must be an absolute URL");
  });
});

describe("classifyHost", () => {
  it.each([
    ["127.0.0.1", "private-address"],
    ["[::1]", "private-address"],
    ["localhost", "private-address"],
    ["", "local-name"],
    ["vm", "local-name"],
    ["169.254.0.1", "metadata"],
    ["example.com", "public"],
    ["[2001:db8::1]", "public"],
    ["[fec0::1]", "private-address"],
  ] as const)("judges %j, as the URL parser gives it, %s", (host, expected) => {
    expect(classifyHost(host)).toBe(expected);
  });

  it("refuses an IPv6 literal it cannot read rather than guess", () => {
    expect(classifyHost("[not:an:address::::]")).toBe("private-address");
  });
});

describe("answerBodyMayBeLogged", () => {
  it.each([
    ["an https target under the production policy", "https://erp.example.com/", STRICT, true],
    ["an https target with http allowed", "https://erp.example.com/", HTTP_ONLY, true],
    ["a plain-http target while private targets are refused: its name may resolve inside", "http://erp.example.com/", HTTP_ONLY, false],
    ["the same in capitals", "HTTP://erp.example.com/", HTTP_ONLY, false],
    ["a local receiver under the development policy", "http://127.0.0.1:9000/", OPEN, true],
  ] as const)("%s: %s", (_what, url, policy, expected) => {
    expect(answerBodyMayBeLogged(url, policy)).toBe(expected);
  });
});
