/** Where Doorbell may send deliveries: a guard against server-side request forgery. Pure: no DNS, no platform. */

export interface TargetPolicy {
  /** Accept `http://` (local development). */
  readonly allowHttp: boolean;
  /** Accept localhost, private, loopback and link-local hosts (local development). */
  readonly allowPrivate: boolean;
}

export const MAX_TARGET_URL_LENGTH = 2048;

const BLOCKED_SUFFIXES = [".local", ".internal", ".localhost"];

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
  if (policy.allowPrivate) return null;
  return isPrivateHost(url.hostname) ? "must not point at localhost or a private, loopback or link-local address" : null;
}

/** `hostname` as the URL parser gives it: IPv4 already normalised to dotted decimal, IPv6 in brackets. */
export function isPrivateHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/\.+$/, "");
  if (host === "" || host === "localhost") return true;
  if (BLOCKED_SUFFIXES.some((suffix) => host.endsWith(suffix))) return true;
  if (host.startsWith("[")) return isPrivateIpv6(host.slice(1, -1));
  const v4 = parseIpv4(host);
  return v4 !== null && isPrivateIpv4(v4);
}

function parseIpv4(host: string): number[] | null {
  const parts = host.split(".");
  if (parts.length !== 4 || !parts.every((part) => /^\d{1,3}$/.test(part))) return null;
  const octets = parts.map(Number);
  return octets.every((octet) => octet <= 255) ? octets : null;
}

function isPrivateIpv4([a = 0, b = 0, c = 0]: number[]): boolean {
  return (
    a === 0 || // "this network", unspecified
    a === 10 ||
    a === 127 ||
    (a === 100 && b >= 64 && b <= 127) || // carrier-grade NAT
    (a === 169 && b === 254) || // link-local, cloud metadata
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

function isPrivateIpv6(literal: string): boolean {
  const groups = ipv6Groups(literal);
  if (!groups) return true; // unparseable: refuse rather than guess
  const [g0 = 0, g1 = 0, , , , g5 = 0, g6 = 0, g7 = 0] = groups;
  const embeddedV4 = [g6 >> 8, g6 & 0xff, g7 >> 8, g7 & 0xff];
  const firstFiveZero = groups.slice(0, 5).every((group) => group === 0);
  if (firstFiveZero && g5 === 0xffff) return isPrivateIpv4(embeddedV4); // IPv4-mapped
  if (firstFiveZero && g5 === 0) return true; // ::, ::1 and the deprecated IPv4-compatible range
  if (g0 === 0x64 && g1 === 0xff9b) return isPrivateIpv4(embeddedV4); // NAT64
  return (
    (g0 & 0xfe00) === 0xfc00 || // unique local
    (g0 & 0xffc0) === 0xfe80 || // link-local
    (g0 & 0xffc0) === 0xfec0 || // site-local (deprecated)
    (g0 & 0xff00) === 0xff00 // multicast
  );
}
