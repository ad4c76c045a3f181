/** Where Doorbell may send deliveries: a guard against server-side request forgery. Pure: no DNS, no platform. */

export interface TargetPolicy {
  /** Accept `http://` (local development). */
  readonly allowHttp: boolean;
  /** Accept localhost, private and loopback addresses and local names (local development); never metadata or link-local. */
  readonly allowPrivate: boolean;
}

export const MAX_TARGET_URL_LENGTH = 2048;

/**
 * What a host is, judged from its text alone. Workers' fetch resolves names itself and never says which
 * address it reached, so a name cannot be checked after resolution here: names that are not plainly
 * public are refused instead (see SECURITY.md for what Cloudflare's network adds in production).
 */
export type HostClass = "public" | "private-address" | "local-name" | "metadata";

const HOST_PROBLEMS: Record<Exclude<HostClass, "public">, string> = {
  "private-address": "must not point at localhost or a private, loopback or link-local address",
  "local-name": "must name a public host (not a single-label name, a reserved or local suffix, or a name that points at a private address)",
  metadata: "must not point at a cloud metadata or link-local address (refused in every mode)",
};

/** Suffixes reserved for local networks, testing or documentation (RFC 2606, 6761, 6762, 8375, 9476) or used as such by convention. */
const LOCAL_SUFFIXES = ["localhost", "local", "internal", "intranet", "lan", "home", "corp", "private", "home.arpa", "test", "invalid", "example", "alt", "onion"];

/** Public wildcard names that answer with loopback or with whatever address their labels spell. */
const LOOPBACK_SERVICES = ["localtest.me", "lvh.me", "vcap.me", "lacolhost.com", "localhost.direct", "nip.io", "sslip.io", "xip.io", "traefik.me"];

/** Cloud providers' instance-metadata names: they hand out credentials, so no mode lets a delivery reach them. */
const METADATA_NAMES = ["metadata", "metadata.google.internal", "metadata.goog", "instance-data", "instance-data.ec2.internal", "metadata.azure.internal"];

/** Returns why `raw` is not an acceptable delivery target, or null when it is. */
export function targetUrlProblem(raw: string, policy: TargetPolicy): string | null {
  if (raw.length > MAX_TARGET_URL_LENGTH) return `must be at most ${MAX_TARGET_URL_LENGTH} characters`;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return "must be an absolute URL";
  }
  const httpsOnly = "must be an https URL";
  if (url.protocol !== "https:" && !(policy.allowHttp && url.protocol === "http:")) return httpsOnly;
  if (url.username !== "" || url.password !== "") return "must not contain credentials (use authorization)";
  const hostClass = classifyHost(url.hostname);
  if (hostClass === "public" || (hostClass !== "metadata" && policy.allowPrivate)) return null;
  return HOST_PROBLEMS[hostClass];
}

/**
 * Whether a failed answer's body may go into the attempt log. With private targets refused but plain
 * http allowed, Doorbell runs in development, where names resolve on the operator's own network: an
 * http answer there may come from an internal service (an admin page, a database console) behind a
 * name that looks public, and nothing tells us the address it came from. Only its status is kept then.
 */
export function answerBodyMayBeLogged(raw: string, policy: TargetPolicy): boolean {
  return policy.allowPrivate || !raw.toLowerCase().startsWith("http:");
}

/** `hostname` as the URL parser gives it: IPv4 already normalised to dotted decimal, IPv6 in brackets. */
export function classifyHost(hostname: string): HostClass {
  const host = hostname.toLowerCase().replace(/\.+$/, "");
  if (host.startsWith("[")) return classifyIpv6(host.slice(1, -1));
  const v4 = parseIpv4(host);
  if (v4) return classifyIpv4(v4);
  const under = (names: string[]) => names.some((name) => host === name || host.endsWith(`.${name}`));
  if (under(METADATA_NAMES)) return "metadata";
  if (under(["localhost"])) return "private-address"; // loopback by definition (RFC 6761)
  if (host === "" || !host.includes(".") || under(LOCAL_SUFFIXES) || under(LOOPBACK_SERVICES)) return "local-name";
  const embedded = embeddedIpv4(host);
  return embedded && classifyIpv4(embedded) !== "public" ? "local-name" : "public";
}

/**
 * An IPv4 address spelled inside a name, as wildcard DNS services read it: `10.0.0.1.x.io`,
 * `app-10-0-0-1.x.io`. (Their hex spelling is left alone: 8 hex digits are also what preview
 * deployments, Cloudflare Pages' among them, put in their names.)
 */
function embeddedIpv4(host: string): number[] | null {
  const parts = host.split(/[.-]/);
  for (let i = 0; i + 4 <= parts.length; i++) {
    const spelled = parseIpv4(parts.slice(i, i + 4).join("."));
    if (spelled) return spelled;
  }
  return null;
}

function parseIpv4(host: string): number[] | null {
  const parts = host.split(".");
  if (parts.length !== 4 || !parts.every((part) => /^\d{1,3}$/.test(part))) return null;
  const octets = parts.map(Number);
  return octets.every((octet) => octet <= 255) ? octets : null;
}

function classifyIpv4(octets: number[]): HostClass {
  const [a, b, c, d] = octets;
  if ((a === 169 && b === 254) || (a === 100 && b === 100 && c === 100 && d === 200)) return "metadata"; // link-local (AWS, GCP, Azure), Alibaba
  return isPrivateIpv4(octets) ? "private-address" : "public";
}

function isPrivateIpv4([a = 0, b = 0, c = 0]: number[]): boolean {
  return (
    a === 0 || // "this network", unspecified
    a === 10 ||
    a === 127 ||
    (a === 100 && b >= 64 && b <= 127) || // carrier-grade NAT
    (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 168) ||
    (a === 192 && b === 0 && c === 0) || // IETF protocol assignments
    (a === 198 && (b === 18 || b === 19)) || // benchmarking
    a >= 224 // multicast, reserved, broadcast
  );
}

/** Expands an IPv6 literal into its eight 16-bit groups (an embedded dotted IPv4 tail included). */
function ipv6Groups(literal: string): number[] | null {
  let text = literal.split("%")[0] ?? "";
  const v4Tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4Tail?.[1]) {
    const v4 = parseIpv4(v4Tail[1]);
    if (!v4) return null;
    text = text.slice(0, -v4Tail[1].length) + `${((v4[0]! << 8) | v4[1]!).toString(16)}:${((v4[2]! << 8) | v4[3]!).toString(16)}`;
  }
  const [head = "", tail, extra] = text.split("::");
  if (extra !== undefined) return null;
  const parse = (part: string) => (part === "" ? [] : part.split(":").map((group) => parseInt(group, 16)));
  const front = parse(head);
  const back = tail === undefined ? [] : parse(tail);
  const missing = 8 - front.length - back.length;
  if (missing < 0 || (tail === undefined && missing !== 0)) return null;
  const groups = [...front, ...new Array<number>(missing).fill(0), ...back];
  return groups.every((group) => Number.isInteger(group) && group >= 0 && group <= 0xffff) ? groups : null;
}

/** fd00:ec2::254, where AWS serves instance metadata over IPv6. */
const AWS_METADATA_IPV6 = [0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x0254];

function classifyIpv6(literal: string): HostClass {
  const groups = ipv6Groups(literal);
  if (!groups) return "private-address"; // unparseable: refuse rather than guess
  const [g0 = 0, g1 = 0, , , , g5 = 0, g6 = 0, g7 = 0] = groups;
  const embeddedV4 = [g6 >> 8, g6 & 0xff, g7 >> 8, g7 & 0xff];
  const firstFiveZero = groups.slice(0, 5).every((group) => group === 0);
  if (firstFiveZero && g5 === 0xffff) return classifyIpv4(embeddedV4); // IPv4-mapped
  if (g0 === 0x64 && g1 === 0xff9b) return classifyIpv4(embeddedV4); // NAT64
  if ((g0 & 0xffc0) === 0xfe80 || groups.every((group, i) => group === AWS_METADATA_IPV6[i])) return "metadata"; // link-local
  if (firstFiveZero && g5 === 0) return "private-address"; // ::, ::1 and the deprecated IPv4-compatible range
  return (g0 & 0xfe00) === 0xfc00 || // unique local
    (g0 & 0xffc0) === 0xfec0 || // site-local (deprecated)
    (g0 & 0xff00) === 0xff00 // multicast
    ? "private-address"
    : "public";
}
