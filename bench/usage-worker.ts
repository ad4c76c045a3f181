/**
 * Doorbell with a meter on every billable boundary, for the cost figures of `npm run bench`.
 *
 * Entry point used only by the benchmark, which bundles it with `wrangler deploy --dry-run
 * bench/usage-worker.ts --config wrangler.toml` and serves it with `wrangler dev`. It wraps the real
 * Worker and Durable Object classes from src/ without changing them, counting what
 * Cloudflare bills as it happens: Worker invocations, queue operations, Durable Object requests and
 * active time, SQLite rows read and written (workerd's own cursor counters), alarms, and subrequests.
 * The tally lives in module memory (locally the Worker and its Durable Objects share one isolate) and
 * is read and reset at USAGE_PATH, a route that exists only in this entry point.
 */
import doorbell, {
  CatalogObject as BaseCatalogObject,
  EventLedger as BaseEventLedger,
  SessionGate as BaseSessionGate,
  SubscriptionDirectory as BaseSubscriptionDirectory,
  SubscriptionObject as BaseSubscriptionObject,
} from "../src/index";
import type { QueueMessage } from "../src/delivery/messages";
import type { Env } from "../src/env";

const USAGE_PATH = "/__bench/usage";

/** Queues bill one operation per 64 KB (1 KB = 1,000 bytes) of a message, which carries ~100 bytes of metadata. */
const QUEUE_OPERATION_BYTES = 64_000;
const QUEUE_MESSAGE_OVERHEAD_BYTES = 100;
const STATEMENT_LABEL_LENGTH = 70;
const MINIFLARE_TABLE_PREFIX = "__miniflare_";

function newTally() {
  return {
    worker: { httpRequests: 0, queueInvocations: 0 },
    queue: {
      messagesSent: 0, writeOps: 0, readOps: 0, deleteOps: 0, retries: 0,
      /** send/sendBatch calls, and the wall-clock ms their callers waited in all. */
      sendCalls: 0, sendMs: 0,
    },
    durableObjects: {
      /** RPC calls by "Class.method": each is one billed request. */
      rpc: {} as Record<string, number>,
      /** Alarm invocations by class: each is one billed request. */
      alarms: {} as Record<string, number>,
      rowsRead: 0,
      rowsWritten: 0,
      /** Rows written and read by statement (its first words), to show where they go. */
      rowsWrittenByStatement: {} as Record<string, number>,
      rowsReadByStatement: {} as Record<string, number>,
      /** Requests per object ("Class:id"), to show whether one object sees every delivery. */
      requestsByObject: {} as Record<string, number>,
      /** Wall-clock ms callers waited on each method, summed (divide by its count for the mean). */
      rpcMsByMethod: {} as Record<string, number>,
      /** `setAlarm()` calls: each is billed as one row written. */
      setAlarm: 0,
      /**
       * Wall-clock ms during which each object had a request or `waitUntil` work (its background POSTs)
       * in flight, summed over objects: what duration is billed for (an object awaiting a fetch cannot hibernate).
       */
      activeMs: 0,
    },
    subrequests: { fetch: 0, durableObjectRpc: 0, queueSend: 0 },
  };
}
type Tally = ReturnType<typeof newTally>;

let tally: Tally = newTally();

function add(counts: Record<string, number>, key: string, amount = 1): void {
  counts[key] = (counts[key] ?? 0) + amount;
}

/** A property of a platform object, with methods bound to it (proxies must not become their `this`). */
function bound(target: object, prop: string | symbol): unknown {
  const value: unknown = Reflect.get(target, prop);
  return typeof value === "function" ? value.bind(target) : value;
}

function queueOperations(body: unknown): number {
  const bytes = new TextEncoder().encode(JSON.stringify(body)).byteLength + QUEUE_MESSAGE_OVERHEAD_BYTES;
  return Math.ceil(bytes / QUEUE_OPERATION_BYTES);
}

// ---- subrequests --------------------------------------------------------------------------------

const platformFetch = globalThis.fetch;
globalThis.fetch = (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
  tally.subrequests.fetch += 1;
  return platformFetch(input, init);
};

// ---- queue ------------------------------------------------------------------------------------------

function timedSend<T>(send: () => Promise<T>): Promise<T> {
  tally.subrequests.queueSend += 1;
  tally.queue.sendCalls += 1;
  const startedAt = Date.now();
  return send().finally(() => (tally.queue.sendMs += Date.now() - startedAt));
}

function countingQueue(queue: Queue<QueueMessage>): Queue<QueueMessage> {
  return new Proxy(queue, {
    get(target, prop) {
      if (prop === "send")
        return (body: QueueMessage, options?: QueueSendOptions) => {
          tally.queue.messagesSent += 1;
          tally.queue.writeOps += queueOperations(body);
          return timedSend(() => target.send(body, options));
        };
      if (prop === "sendBatch")
        return (messages: Iterable<MessageSendRequest<QueueMessage>>, options?: QueueSendBatchOptions) => {
          const list = [...messages];
          tally.queue.messagesSent += list.length;
          for (const message of list) tally.queue.writeOps += queueOperations(message.body);
          return timedSend(() => target.sendBatch(list, options));
        };
      return bound(target, prop);
    },
  });
}

function countingMessage(message: Message<QueueMessage>): Message<QueueMessage> {
  return new Proxy(message, {
    get(target, prop) {
      if (prop === "ack")
        return () => {
          tally.queue.deleteOps += queueOperations(target.body);
          target.ack();
        };
      if (prop === "retry")
        return (options?: QueueRetryOptions) => {
          tally.queue.retries += 1;
          target.retry(options);
        };
      return bound(target, prop);
    },
  });
}

function countingBatch(batch: MessageBatch<QueueMessage>): MessageBatch<QueueMessage> {
  for (const message of batch.messages) tally.queue.readOps += queueOperations(message.body);
  const messages = batch.messages.map(countingMessage);
  return new Proxy(batch, {
    get(target, prop) {
      if (prop === "messages") return messages;
      if (prop === "ackAll" || prop === "retryAll") throw new Error(`bench meter: ${prop} is not counted`);
      return bound(target, prop);
    },
  });
}

// ---- Durable Objects ----------------------------------------------------------------------------

/** Each object's SQLite database size (`sql.databaseSize`, what storage is billed on) after its latest write. */
const databaseBytes = new Map<string, number>();

/** Requests in flight per object, and since when it has been busy: the union of busy spans is billed duration. */
const busy = new Map<string, { inFlight: number; since: number }>();

function trackActive<T>(objectKey: string, call: () => Promise<T>): Promise<T> {
  const state = busy.get(objectKey) ?? { inFlight: 0, since: Date.now() };
  if (state.inFlight === 0) state.since = Date.now();
  state.inFlight += 1;
  busy.set(objectKey, state);
  return call().finally(() => {
    state.inFlight -= 1;
    if (state.inFlight === 0) {
      tally.durableObjects.activeMs += Date.now() - state.since;
      busy.delete(objectKey);
    }
  });
}

/** Stub properties that are not RPC methods. */
const STUB_PLAIN_PROPERTIES = new Set(["id", "name", "then"]);

function countingStub<T extends Rpc.DurableObjectBranded | undefined>(stub: DurableObjectStub<T>, className: string): DurableObjectStub<T> {
  const objectKey = `${className}:${stub.id.toString()}`;
  return new Proxy(stub, {
    get(target, prop) {
      // Never `bind` here: on a stub every property, `bind` included, names a remote method.
      const value: unknown = Reflect.get(target, prop);
      if (typeof prop !== "string" || STUB_PLAIN_PROPERTIES.has(prop) || typeof value !== "function") return value;
      const method = value as (...args: unknown[]) => unknown;
      return (...args: unknown[]) => {
        const name = `${className}.${prop}`;
        add(tally.durableObjects.rpc, name);
        add(tally.durableObjects.requestsByObject, objectKey);
        tally.subrequests.durableObjectRpc += 1;
        const startedAt = Date.now();
        return trackActive(objectKey, async () => method(...args)).finally(() => add(tally.durableObjects.rpcMsByMethod, name, Date.now() - startedAt));
      };
    },
  });
}

function countingNamespace<T extends Rpc.DurableObjectBranded | undefined>(
  namespace: DurableObjectNamespace<T>,
  className: string,
): DurableObjectNamespace<T> {
  return new Proxy(namespace, {
    get(target, prop) {
      if (prop === "get")
        return (id: DurableObjectId, options?: DurableObjectNamespaceGetDurableObjectOptions) => countingStub(target.get(id, options), className);
      return bound(target, prop);
    },
  });
}

const countedEnvs = new WeakMap<Env, Env>();

function countingEnv(env: Env): Env {
  let counted = countedEnvs.get(env);
  if (!counted) {
    counted = {
      ...env,
      DELIVERIES: countingQueue(env.DELIVERIES),
      SUBSCRIPTIONS: countingNamespace(env.SUBSCRIPTIONS, "SubscriptionObject"),
      DIRECTORY: countingNamespace(env.DIRECTORY, "SubscriptionDirectory"),
      EVENTS: countingNamespace(env.EVENTS, "EventLedger"),
      SESSIONS: countingNamespace(env.SESSIONS, "SessionGate"),
      CATALOG: countingNamespace(env.CATALOG, "CatalogObject"),
    };
    countedEnvs.set(env, counted);
  }
  return counted;
}

/**
 * Meters an object in place: the base class insists on the real DurableObjectState, so the counting
 * methods are set as own properties of the real state and storage objects, shadowing the runtime's.
 * `waitUntil` work counts towards the object's active time.
 * SQL is tallied from workerd's per-cursor counters: a write statement runs to completion inside
 * `exec()`, so its rows written are final at once; a read's rows are counted when the same object runs
 * its next statement (by then the cursor has been consumed: the code never keeps one across statements).
 */
function meterState(ctx: DurableObjectState, className: string): DurableObjectState {
  const objectKey = `${className}:${ctx.id.toString()}`;
  const waitUntil = ctx.waitUntil.bind(ctx);
  Object.defineProperty(ctx, "waitUntil", { value: (work: Promise<unknown>) => waitUntil(trackActive(objectKey, () => work)) });
  const { storage } = ctx;
  const { sql } = storage;
  const exec = sql.exec.bind(sql);
  let reading: { statement: string; cursor: SqlStorageCursor<Record<string, SqlStorageValue>> }[] = [];
  const settleReads = () => {
    for (const { statement, cursor } of reading) {
      tally.durableObjects.rowsRead += cursor.rowsRead;
      add(tally.durableObjects.rowsReadByStatement, statement, cursor.rowsRead);
    }
    reading = [];
  };
  Object.defineProperty(sql, "exec", {
    value: (query: string, ...bindings: unknown[]) => {
      settleReads();
      const cursor = exec(query, ...bindings);
      // Miniflare's own bookkeeping (the object's name), which Cloudflare does not do or bill.
      if (query.includes(MINIFLARE_TABLE_PREFIX)) return cursor;
      const statement = query.replace(/\s+/g, " ").trim().slice(0, STATEMENT_LABEL_LENGTH);
      tally.durableObjects.rowsWritten += cursor.rowsWritten;
      add(tally.durableObjects.rowsWrittenByStatement, statement, cursor.rowsWritten);
      if (cursor.rowsWritten > 0) databaseBytes.set(objectKey, sql.databaseSize);
      reading.push({ statement, cursor });
      return cursor;
    },
  });
  const setAlarm = storage.setAlarm.bind(storage);
  Object.defineProperty(storage, "setAlarm", {
    value: (scheduledTime: number | Date, options?: DurableObjectSetAlarmOptions) => {
      tally.durableObjects.setAlarm += 1;
      return setAlarm(scheduledTime, options);
    },
  });
  return ctx;
}

function countedAlarm(className: string, ctx: DurableObjectState, alarm: () => Promise<void>): Promise<void> {
  add(tally.durableObjects.alarms, className);
  return trackActive(`${className}:${ctx.id.toString()}`, alarm);
}

export class SubscriptionObject extends BaseSubscriptionObject {
  constructor(ctx: DurableObjectState, env: Env) {
    super(meterState(ctx, "SubscriptionObject"), countingEnv(env));
  }

  override alarm(): Promise<void> {
    return countedAlarm("SubscriptionObject", this.ctx, () => super.alarm());
  }
}

export class EventLedger extends BaseEventLedger {
  constructor(ctx: DurableObjectState, env: Env) {
    super(meterState(ctx, "EventLedger"), countingEnv(env));
  }

  override alarm(): Promise<void> {
    return countedAlarm("EventLedger", this.ctx, () => super.alarm());
  }
}

export class SubscriptionDirectory extends BaseSubscriptionDirectory {
  constructor(ctx: DurableObjectState, env: Env) {
    super(meterState(ctx, "SubscriptionDirectory"), countingEnv(env));
  }
}

export class SessionGate extends BaseSessionGate {
  constructor(ctx: DurableObjectState, env: Env) {
    super(meterState(ctx, "SessionGate"), countingEnv(env));
  }
}

export class CatalogObject extends BaseCatalogObject {
  constructor(ctx: DurableObjectState, env: Env) {
    super(meterState(ctx, "CatalogObject"), countingEnv(env));
  }
}

// ---- the Worker -------------------------------------------------------------------------------------

export default {
  async fetch(request, env, ctx) {
    if (new URL(request.url).pathname === USAGE_PATH) {
      if (request.method === "DELETE") tally = newTally();
      let storedBytesNow = 0;
      for (const bytes of databaseBytes.values()) storedBytesNow += bytes;
      return Response.json({ ...tally, objectsBusyNow: busy.size, storedBytesNow });
    }
    tally.worker.httpRequests += 1;
    return doorbell.fetch(request, countingEnv(env), ctx);
  },
  async queue(batch, env) {
    tally.worker.queueInvocations += 1;
    await doorbell.queue(countingBatch(batch), countingEnv(env));
  },
} satisfies ExportedHandler<Env, QueueMessage>;
