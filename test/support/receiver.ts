import { createServer, type IncomingHttpHeaders, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import type { Hangup, ReceivedRequest } from "./received-request";

/**
 * A real HTTP endpoint for deliveries, on 127.0.0.1. Paths are `/<bucket>/<behaviour>`:
 *   ok | status-<code> (with ?retry-after=<value>) | slow-<ms> | hang (never answers) | redirect | gone
 *   | flaky-<n> (n failures, then 200)
 *   | echo (500 whose body repeats the request headers) | big-<bytes> (200 with a body that long)
 *   | parrot-<code> (that status, its body echoing the authorization token in the forms careless endpoints use)
 *   | close-on-reuse (the bucket's first request that arrives on a kept-alive connection gets no answer: the
 *     connection is closed, as a server closing an idle connection just as it is reused does; then 200)
 *   | reset (the connection is reset, no answer) | close-every-reuse (200 on a connection's first request; every
 *   later request on a kept-alive connection is recorded, then its connection closed unanswered)
 *   | huge-stream-<bytes> (200, then a body that long, written only as fast as the client reads it)
 * Every request is recorded per bucket; `GET /_requests/<bucket>` returns them as JSON. A request hung up on
 * is not recorded there (it never reached the endpoint's logic) but in `GET /_hangups/<bucket>`.
 */
export interface Receiver {
  readonly url: string;
  readonly requests: Map<string, ReceivedRequest[]>;
  readonly hangups: Map<string, Hangup[]>;
  /** Body bytes each bucket's huge-stream answers got written before the client stopped reading or hung up. */
  readonly streamedBytes: Map<string, number>;
  close(): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  const requests = new Map<string, ReceivedRequest[]>();
  const hangups = new Map<string, Hangup[]>();
  const connections = new WeakMap<Socket, number>();
  /** Requests each connection carried so far: a reused connection has carried one. */
  const carried = new WeakMap<Socket, number>();
  const streamedBytes = new Map<string, number>();
  let connectionCount = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "http://receiver");
      const [bucket = "", behaviour = "ok"] = url.pathname.slice(1).split("/");
      const reused = (carried.get(req.socket) ?? 0) > 0;
      carried.set(req.socket, (carried.get(req.socket) ?? 0) + 1);
      const connection = connections.get(req.socket) ?? 0;
      if (bucket === "_requests" || bucket === "_hangups") {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify((bucket === "_requests" ? requests : hangups).get(behaviour) ?? []));
        return;
      }
      if (behaviour === "close-on-reuse" && reused && !hangups.has(bucket)) {
        hangups.set(bucket, [{ webhookId: String(req.headers["webhook-id"]), connection }]);
        req.socket.destroy();
        return;
      }
      const seen = requests.get(bucket) ?? [];
      seen.push({
        path: url.pathname, headers: req.headers, body: Buffer.concat(chunks).toString("utf8"), receivedAt: Date.now(), connection,
      });
      requests.set(bucket, seen);
      if (behaviour === "reset") return void req.socket.resetAndDestroy();
      if (behaviour === "close-every-reuse" && reused) return void req.socket.destroy();
      if (behaviour.startsWith("huge-stream-")) return streamHugeBody(res, Number(behaviour.slice("huge-stream-".length)), (bytes) => streamedBytes.set(bucket, (streamedBytes.get(bucket) ?? 0) + bytes));
      respond(behaviour, seen.length, url.searchParams, req.headers, res);
    });
  });
  server.on("connection", (socket: Socket) => connections.set(socket, ++connectionCount));
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    hangups,
    streamedBytes,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

function respond(behaviour: string, count: number, query: URLSearchParams, headers: IncomingHttpHeaders, res: ServerResponse): void {
  const [kind = "ok", arg = ""] = behaviour.split(/-(.*)/s);
  const send = (status: number, headers: Record<string, string> = {}) => {
    res.writeHead(status, { "content-type": "text/plain", ...headers });
    res.end(status >= 300 ? `receiver answered ${status}` : "ok");
  };
  switch (kind) {
    case "status": {
      const retryAfter = query.get("retry-after");
      return send(Number(arg), retryAfter ? { "retry-after": retryAfter } : {});
    }
    case "slow":
      setTimeout(() => send(200), Number(arg)).unref();
      return;
    case "hang": // the connection stays open until the sender gives up (or the receiver closes)
      return;
    case "redirect":
      return send(302, { location: "http://127.0.0.1:1/elsewhere" });
    case "gone":
      return send(410);
    case "echo": // a careless endpoint that reflects the request's headers in its error page
      res.writeHead(500, { "content-type": "application/json" });
      res.end(JSON.stringify(headers));
      return;
    case "parrot": {
      const header = headers.authorization ?? "";
      const token = header.replace(/^\S+\s+/, "");
      res.writeHead(Number(arg), { "content-type": "text/plain" });
      res.end([
        `invalid token '${token}'`,
        `expected a different ${token.toLowerCase()}`,
        JSON.stringify({ headers: { authorization: header } }),
        `auth=${encodeURIComponent(header)}`,
        `b64=${Buffer.from(token).toString("base64")}`,
        `dump=${Buffer.from(`authorization: ${header}\r\n`).toString("base64")}`,
      ].join("\n"));
      return;
    }
    case "big": // chunked, so without a content-length
      res.writeHead(200, { "content-type": "text/plain" });
      res.write("x".repeat(Number(arg)));
      res.end();
      return;
    case "flaky":
      return send(count <= Number(arg) ? 500 : 200);
    default:
      return send(200);
  }
}

const STREAM_CHUNK = Buffer.alloc(64 * 1024, "x");

/** A 200 whose body is `total` bytes, written chunk by chunk as the client drains them; stops when it hangs up. */
function streamHugeBody(res: ServerResponse, total: number, written: (bytes: number) => void): void {
  res.writeHead(200, { "content-type": "text/plain" });
  let left = total;
  const writeSome = () => {
    while (left > 0 && !res.destroyed) {
      const chunk = left >= STREAM_CHUNK.length ? STREAM_CHUNK : STREAM_CHUNK.subarray(0, left);
      left -= chunk.length;
      written(chunk.length);
      if (!res.write(chunk)) return void res.once("drain", writeSome);
    }
    if (left === 0) res.end();
  };
  writeSome();
}

