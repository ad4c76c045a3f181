import { describe, expect, it } from "vitest";
import { describeFetchFailure, type FetchFailureKind } from "../../src/delivery/fetch-errors";

/** What workerd threw in each case, as observed under `wrangler dev`, plus other runtimes' wordings. */
const CASES: readonly [string, unknown, FetchFailureKind, RegExp][] = [
  ["a closed port, a reset or a close (workerd)", Object.assign(new Error("Network connection lost."), { retryable: true }), "connection_lost", /^connection failed before an answer: nothing listening .* \(Network connection lost\.\)$/],
  ["DNS, TLS or a non-HTTP answer (workerd)", new Error("internal error; reference = 343cpja7tn1ud3j4hgc0fr34"), "unexplained", /^the runtime did not say why \(reference 343cpja7tn1ud3j4hgc0fr34\): a DNS lookup that failed, a TLS/],
  ["Node's DNS failure", new TypeError("getaddrinfo ENOTFOUND nonexistent.invalid"), "dns", /^DNS lookup failed: check the host name .* \(getaddrinfo ENOTFOUND nonexistent\.invalid\)$/],
  ["workerd's DNS wording", new Error("DNS lookup failed."), "dns", /^DNS lookup failed/],
  ["an untrusted certificate", new Error("TLS peer's certificate is not trusted; reason = self signed certificate"), "tls", /^TLS failed: the receiver's certificate is not trusted/],
  ["a refused connection", new Error("connect ECONNREFUSED 127.0.0.1:1 (Connection refused)"), "connection_refused", /^connection refused: nothing is listening/],
  ["a reset connection", new Error("read ECONNRESET: connection reset by peer"), "connection_reset", /^connection reset by the receiver/],
  ["anything else", new TypeError("Fetch API cannot load: ftp://example.com/"), "other", /^TypeError: Fetch API cannot load: ftp:\/\/example\.com\/$/],
  ["a thrown non-error", "boom", "other", /^boom$/],
];

describe("describeFetchFailure", () => {
  it.each(CASES)("%s", (_, error, kind, message) => {
    const failure = describeFetchFailure(error);
    expect(failure.kind).toBe(kind);
    expect(failure.message).toMatch(message);
  });
});
