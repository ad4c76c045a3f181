// A receiver for Doorbell's deliveries: checks each one's Standard Webhooks signature, handles each
// webhook-id once, and prints what it got: an event's type, or a Quiltt-format payload's events. It
// listens on 127.0.0.1 only.
//   DOORBELL_SECRET=whsec_... node examples/receiver.mjs [port]      (port: the argument, else $PORT, else 9000)
// Answers 401 to a delivery whose signature does not verify (Doorbell then retries it), 204 otherwise.
import { createServer } from "node:http";
import { Webhook } from "standardwebhooks";

const secret = process.env.DOORBELL_SECRET;
if (!secret) {
  console.error("receiver: set DOORBELL_SECRET to the subscription's signing secret (whsec_...)");
  process.exit(2);
}
const port = Number(process.argv[2] ?? process.env.PORT ?? 9000);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`receiver: ${process.argv[2] ?? process.env.PORT} is not a port number`);
  process.exit(2);
}

const webhook = new Webhook(secret);
/** webhook-ids already handled: delivery is at least once, so the same id can come again (a retry, a replay). */
const handled = new Set();
const MAX_REMEMBERED = 10_000;

const server = createServer(async (request, response) => {
  const chunks = [];
  for await (const chunk of request) chunks.push(chunk);
  const body = Buffer.concat(chunks).toString("utf8");
  const id = request.headers["webhook-id"] ?? "(no webhook-id)";
  let event;
  try {
    event = webhook.verify(body, request.headers); // throws unless a signature matches and the timestamp is recent
  } catch (error) {
    console.log(`${id} rejected: signature not verified (${error.message})`);
    response.writeHead(401, { "content-type": "text/plain" }).end("signature not verified\n");
    return;
  }
  const what = describe(event);
  if (handled.has(id)) {
    console.log(`${id} ${what}: signature verified, a duplicate (already handled)`);
  } else {
    if (handled.size >= MAX_REMEMBERED) handled.delete(handled.values().next().value);
    handled.add(id);
    console.log(`${id} ${what}: signature verified`);
  }
  response.writeHead(204).end();
});

/** One event (its type or code), or a Quiltt-format WebhookPayload: how many events, and each one's id and type. */
function describe(body) {
  if (!Array.isArray(body?.events)) return body?.type ?? body?.code ?? "(no type)";
  const events = body.events.map((event) => `${event?.id} ${event?.type}`).join(", ");
  return `WebhookPayload of ${body.events.length} event${body.events.length === 1 ? "" : "s"} (${events})`;
}

server.listen(port, "127.0.0.1", () => console.log(`receiver listening on http://127.0.0.1:${server.address().port}`));
