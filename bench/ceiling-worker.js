/**
 * The ceiling: the least a webhook sender on this platform must do, run in the same local workerd.
 * POST /ingest {targets, events} puts one queue message per event and target (the event's JSON as its
 * body); the consumer POSTs each message's body to its target. Same queue settings as Doorbell's
 * (batch size, wait), same receiver, same bodies: no storage, no signature, no bookkeeping.
 *
 * CEILING_MODE "await" (default): the consumer awaits its batch's POSTs, then acks (a batch at a time).
 * CEILING_MODE "background": it acks at once and POSTs in waitUntil, as Doorbell's subscription objects
 * POST after the consumer has handed them the batch.
 * POST /ingest {targets, events, inFlight}: one message per target carrying all the events (as Doorbell
 * enqueues one message per subscription per request); the consumer POSTs them with at most `inFlight`
 * open at once across its invocations (the ceiling of one subscriber with that `maxConcurrency`: a
 * batch of 25 one-event messages could never keep 100 POSTs open, as Miniflare runs one batch at a time).
 */
const SEND_BATCH_LIMIT = 100;

export default {
  async fetch(request, env) {
    const { pathname } = new URL(request.url);
    if (pathname === "/health") return new Response("ok");
    if (request.method !== "POST" || pathname !== "/ingest") return new Response("not found", { status: 404 });
    const { targets, events, inFlight } = await request.json();
    const messages = [];
    if (inFlight) {
      const posts = events.map((event) => ({ id: event.uuid, body: JSON.stringify(event) }));
      for (const url of targets) messages.push({ body: { url, posts, inFlight } });
    } else {
      for (const event of events) {
        const body = JSON.stringify(event);
        for (const url of targets) messages.push({ body: { url, id: event.uuid, body } });
      }
    }
    const sends = [];
    for (let start = 0; start < messages.length; start += SEND_BATCH_LIMIT)
      sends.push(env.JOBS.sendBatch(messages.slice(start, start + SEND_BATCH_LIMIT)));
    await Promise.all(sends);
    return Response.json({ accepted: events.length }, { status: 202 });
  },

  async queue(batch, env, ctx) {
    const posts = Promise.all(batch.messages.map((message) => deliver(message.body)));
    // Messages of many POSTs are always awaited: acked at once, their POSTs in waitUntil were seen cut short.
    if (env.CEILING_MODE === "background" && !batch.messages.some((message) => message.body.inFlight)) {
      batch.ackAll();
      ctx.waitUntil(posts);
      return;
    }
    const delivered = await posts;
    batch.messages.forEach((message, index) => (delivered[index] ? message.ack() : message.retry()));
  },
};

/** In-flight limits by size, shared by every invocation (locally they run in one isolate). */
const limits = new Map();

async function deliver(message) {
  if (!message.inFlight) return post(message);
  let limit = limits.get(message.inFlight);
  if (!limit) limits.set(message.inFlight, (limit = { free: message.inFlight, waiting: [] }));
  const limited = async ({ id, body }) => {
    if (limit.free > 0) limit.free -= 1;
    else await new Promise((granted) => limit.waiting.push(granted));
    try {
      return await post({ url: message.url, id, body });
    } finally {
      const next = limit.waiting.shift();
      if (next) next();
      else limit.free += 1;
    }
  };
  return (await Promise.all(message.posts.map(limited))).every(Boolean);
}

async function post({ url, id, body }) {
  try {
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", "webhook-id": id, "webhook-timestamp": String(Math.floor(Date.now() / 1000)) },
      body,
      redirect: "manual",
      signal: AbortSignal.timeout(5_000),
    });
    await response.arrayBuffer(); // read to the end, as Doorbell does with short answers: the connection is reused
    return true;
  } catch {
    return false;
  }
}
