import { credentialRedactor } from "../domain/redaction";
import { answerBodyMayBeLogged, targetUrlProblem, type TargetPolicy } from "../domain/target-url";
import type { DeliveryTarget } from "../durable/subscription/control";
import packageJson from "../../package.json";
import { describeFetchFailure, isLostConnection } from "./fetch-errors";
import { outcomeOfStatus, retryAfterSeconds, type Outcome } from "./retry-policy";
import { signatureHeader } from "./signature";

const USER_AGENT = `Doorbell/${packageJson.version}`;

/** A POST whose connection is lost is sent again after this pause, this many sends in all (see postResendingOnLostConnection). */
const RESEND_PAUSE_MS = 50;
const SENDS_ON_LOST_CONNECTION = 3;

/** How much of a failed response's body is kept for the attempt log. */
const RESPONSE_EXCERPT_BYTES = 2048;

/** How one POST ended: what the attempt log records and the retry policy reads. */
export interface AttemptResult {
  /** When the POST started (ms since the epoch). */
  readonly at: number;
  readonly outcome: Outcome;
  readonly status: number | null;
  readonly durationMs: number;
  readonly error: string | null;
  /** Seconds the endpoint asked us to wait (`Retry-After` on a 429 or 503), when it did. */
  readonly retryAfterSeconds: number | null;
}

export interface AttemptRequest {
  readonly target: Pick<DeliveryTarget, "url" | "authorization" | "secrets">;
  /** `webhook-id`: the delivery's id, the same on every retry. */
  readonly messageId: string;
  readonly body: string;
  readonly timeoutMs: number;
  readonly policy: TargetPolicy;
}

/** One signed POST; never throws: every way it can end is an outcome for the log. */
export async function attemptDelivery(request: AttemptRequest): Promise<AttemptResult> {
  const startedAt = Date.now();
  const report = (fields: Pick<AttemptResult, "outcome" | "status" | "error" | "retryAfterSeconds">): AttemptResult => ({
    at: startedAt, durationMs: Date.now() - startedAt, ...fields,
  });

  // Checked again at delivery time: the stored URL may predate a stricter policy.
  const problem = checkedTarget(request.target.url, request.policy);
  if (problem) return report({ outcome: "network_error", status: null, error: `target URL refused: ${problem}`, retryAfterSeconds: null });

  const timestamp = Math.floor(startedAt / 1000);
  const headers: Record<string, string> = {
    "content-type": "application/json",
    "user-agent": USER_AGENT,
    "webhook-id": request.messageId,
    "webhook-timestamp": String(timestamp),
  };
  if (request.target.secrets.length > 0)
    headers["webhook-signature"] = await signatureHeader(request.target.secrets, request.messageId, timestamp, request.body);
  if (request.target.authorization) headers.authorization = request.target.authorization;

  const signal = AbortSignal.timeout(request.timeoutMs);
  try {
    const response = await postResendingOnLostConnection(request.target.url, { method: "POST", headers, body: request.body, redirect: "manual", signal });
    const outcome = outcomeOfStatus(response.status);
    if (outcome === "success") {
      await discardBody(response);
      return report({ outcome, status: response.status, error: null, retryAfterSeconds: null });
    }
    const excerpt = await excerptOf(response, request);
    return report({
      outcome,
      status: response.status,
      error: `HTTP ${response.status}${excerpt ? `: ${excerpt}` : ""}`,
      retryAfterSeconds: retryAfterSeconds(response.status, response.headers.get("retry-after"), Date.now()),
    });
  } catch (error) {
    if (signal.aborted) return report({ outcome: "timeout", status: null, error: `no response within ${request.timeoutMs} ms`, retryAfterSeconds: null });
    return report({ outcome: "network_error", status: null, error: describeFetchFailure(error).message, retryAfterSeconds: null });
  }
}

/** `targetUrlProblem` is pure and a batch's POSTs go to a few URLs: each answer is kept per isolate (at most 1,000). */
const checkedTargets = new Map<string, string | null>();

function checkedTarget(url: string, policy: TargetPolicy): string | null {
  const key = `${Number(policy.allowHttp)}${Number(policy.allowPrivate)}${url}`;
  let problem = checkedTargets.get(key);
  if (problem === undefined) {
    problem = targetUrlProblem(url, policy);
    if (checkedTargets.size >= 1000) checkedTargets.clear();
    checkedTargets.set(key, problem);
  }
  return problem;
}

/**
 * The platform keeps connections to an endpoint open between POSTs, and an endpoint may close idle ones
 * just as the next POST goes out on one of them (Node closes them after `keepAliveTimeout`, 5 s by
 * default, gunicorn after 2 s). That POST dies before any response byte and the endpoint never saw it:
 * a fault of our connection reuse, not the endpoint's. workerd reports it as a lost connection, which it
 * marks `retryable`, so the POST is sent again, within the same timeout, with the same `webhook-id`
 * (receivers deduplicate on it). Each time after a short pause, and up to twice: connections that went
 * idle together are closed together, and a busy workerd reads those closes late, so the next POST can
 * take another closed one (measured under load: 1 immediate resend in 10 was lost again). The last loss,
 * or a refused connection (reported the same way), is the endpoint's network_error.
 */
async function postResendingOnLostConnection(url: string, init: RequestInit & { signal: AbortSignal }): Promise<Response> {
  for (let send = 1; ; send++) {
    try {
      return await fetch(url, init);
    } catch (error) {
      // The last loss is the endpoint's: described like any lost connection.
      if (init.signal.aborted || !isLostConnection(error) || send === SENDS_ON_LOST_CONNECTION) throw error;
    }
    await scheduler.wait(RESEND_PAUSE_MS);
  }
}

/** A success body no longer than this is read to its end, so that its connection can carry the next POST. */
const REUSABLE_BODY_BYTES = 64 * 1024;

/**
 * Reading a short body to its end keeps the connection open for the next delivery (a cancelled body
 * closes it, and every POST then pays for a new connection, and a TLS handshake on the Internet).
 * A longer body is cancelled rather than read. The POST has succeeded either way.
 */
async function discardBody(response: Response): Promise<void> {
  const declared = response.headers.get("content-length");
  if (declared === null) await readUpTo(response, REUSABLE_BODY_BYTES); // chunked: read until it proves long
  else if (Number(declared) <= REUSABLE_BODY_BYTES) await response.arrayBuffer().catch(() => undefined);
  else await response.body?.cancel().catch(() => undefined);
}

/**
 * The first bytes of a failed answer's body, as text, without the subscription's credentials (read far
 * enough past the cut to catch one that straddles it); a body that stalls or breaks is simply cut short.
 */
async function excerptOf(response: Response, request: AttemptRequest): Promise<string> {
  if (!answerBodyMayBeLogged(request.target.url, request.policy)) {
    await response.body?.cancel().catch(() => undefined);
    return "(body not logged: a plain-http target while private targets are refused, see SECURITY.md)";
  }
  const redactor = credentialRedactor([request.target.authorization, ...request.target.secrets]);
  const read = await new Blob(await readUpTo(response, RESPONSE_EXCERPT_BYTES + redactor.longestFormBytes)).bytes();
  const redacted = new TextEncoder().encode(redactor.redact(new TextDecoder().decode(read)));
  return new TextDecoder().decode(redacted.subarray(0, RESPONSE_EXCERPT_BYTES)).trim();
}

/** Reads a body until it ends or `maxBytes` have come (then cancels the rest); a body that stalls or breaks is cut short. */
async function readUpTo(response: Response, maxBytes: number): Promise<Uint8Array[]> {
  if (!response.body) return [];
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let length = 0;
  try {
    while (length < maxBytes) {
      const { done, value } = await reader.read();
      if (done) return chunks;
      chunks.push(value);
      length += value.byteLength;
    }
  } catch {
    return chunks; // timed out or reset mid-body: keep what arrived
  }
  await reader.cancel().catch(() => undefined);
  return chunks;
}
