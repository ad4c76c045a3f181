/** What the test receiver recorded of one request; shared by tests in workerd and in Node. */
export interface ReceivedRequest {
  readonly path: string;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
  readonly receivedAt: number;
  /** Which TCP connection carried it (numbered from 1 as they open): equal numbers mean a reused connection. */
  readonly connection: number;
}

/** A request the receiver closed the connection on without answering (the `close-on-reuse` behaviour). */
export interface Hangup {
  readonly webhookId: string;
  readonly connection: number;
}

/** Its Standard Webhooks headers, as `Webhook.verify` takes them; `signature` stands in for the one it carried. */
export function standardWebhookHeaders(request: ReceivedRequest, signature?: string): Record<string, string> {
  const header = (name: string) => String(request.headers[name] ?? "");
  return { "webhook-id": header("webhook-id"), "webhook-timestamp": header("webhook-timestamp"), "webhook-signature": signature ?? header("webhook-signature") };
}
