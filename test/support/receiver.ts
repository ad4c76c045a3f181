import { createServer, type IncomingHttpHeaders, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import type { ReceivedRequest } from "./received-request";

/**
 * A real HTTP endpoint for deliveries, on 127.0.0.1. Paths are `/<bucket>/<behaviour>`:
 *   ok | status-<code> (with ?retry-after=<value>) | slow-<ms> | redirect | gone | flaky-<n> (n failures, then 200)
 *   | echo (500 whose body repeats the request headers) | big-<bytes> (200 with a body that long)
 *   | reset (the connection is reset, no answer) | close-on-reuse (200 on a connection's first request; a kept-alive
 *   connection is closed, unanswered, when a second request arrives on it) | huge-stream-<bytes> (200, then a body
 *   that long, written only as fast as the client reads it)
 * Every request is recorded per bucket; `GET /_requests/<bucket>` returns them as JSON.
 */
export interface Receiver {
  readonly url: string;
  readonly requests: Map<string, ReceivedRequest[]>;
  /** Body bytes each bucket's huge-stream answers got written before the client stopped reading or hung up. */
  readonly streamedBytes: Map<string, number>;
  close(): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  const requests = new Map<string, ReceivedRequest[]>();
  const streamedBytes = new Map<string, number>();
  const connections = new WeakMap<Socket, number>();
  const requestsOnConnection = new WeakMap<Socket, number>();
  let connectionCount = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "http://receiver");
      const [bucket = "", behaviour = "ok"] = url.pathname.slice(1).split("/");
      if (bucket === "_requests") {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify(requests.get(behaviour) ?? []));
        return;
      }
      const seen = requests.get(bucket) ?? [];
      seen.push({
        path: url.pathname, headers: req.headers, body: Buffer.concat(chunks).toString("utf8"), receivedAt: Date.now(),
        connection: connections.get(req.socket) ?? 0,
      });
      requests.set(bucket, seen);
      const onConnection = (requestsOnConnection.get(req.socket) ?? 0) + 1;
      requestsOnConnection.set(req.socket, onConnection);
      if (behaviour === "reset") return void req.socket.resetAndDestroy();
      if (behaviour === "close-on-reuse" && onConnection > 1) return void req.socket.destroy();
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
    case "redirect":
      return send(302, { location: "http://127.0.0.1:1/elsewhere" });
    case "gone":
      return send(410);
    case "echo": // a careless endpoint that reflects the request's headers in its error page
      res.writeHead(500, { "content-type": "application/json" });
      res.end(JSON.stringify(headers));
      return;
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

/** A port that nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}
