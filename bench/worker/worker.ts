/**
 * Benchmark worker, served by `wrangler dev` during `npm run bench`.
 *
 * - `/socket.io/?do=<name>&cls=<bench|wake|recover|msgpack>[&shards=N]`: socket.io-durable with the same
 *   handlers as the Node server of the benchmark (`bench/node-server.mjs`), in the
 *   Durable Object named `<name>` (on N shards: `<name>` and its shard objects).
 * - `/bare/?do=<name>`: the limit: a bare Durable Object WebSocket echo (hibernation
 *   API, no protocol, no WebAssembly). A text message starting with `B` is sent to
 *   every other WebSocket of the object instead (the bare fan-out).
 * - `/__counters?cls=..&do=..[&shards=N][&reset=1]`: cost counters of one object (with
 *   `shards`, summed over the server's N shards), read without waking it (they live in
 *   module scope, outside the object).
 * - `/__health`: readiness.
 *
 * The cost counters come from wrapping, not from the library: before the Socket.IO
 * server is constructed, the methods of its `ctx.storage` (and of `storage.sql` and
 * `storage.kv`) are replaced in place by counting ones, which also add up the rows
 * they touch; `fetch`, `webSocketMessage`, `webSocketClose` and `alarm` are counted
 * by overrides, and `WebSocket.prototype.serializeAttachment` is wrapped to count
 * attachment writes.
 */
import { DurableObject } from "cloudflare:workers";
import { routeSocketIo, type ServerOptions, SocketIoServer } from "../../ts/index.js";
import { shardName } from "../../ts/shards.js";
import { loadCore, SocketCore } from "../../ts/shim/wasm.js";
import { handlers } from "./handlers.js";

// ---- counters --------------------------------------------------------------------

interface Counters {
  /** Times an object was constructed (1 + evictions that were followed by a wake). */
  constructed: number;
  fetches: number;
  wsMessages: number;
  wsCloses: number;
  alarms: number;
  /** Storage calls by method name (`get`, `put`, `setAlarm`, `sql.exec`, ...). */
  calls: Record<string, number>;
  rowsRead: number;
  rowsWritten: number;
  /** `ws.serializeAttachment` calls (free, but bounded to 2 KB per socket). */
  attachments: number;
  /** RPC calls received from other shards and from the emitter. */
  rpcs: number;
}

function emptyCounters(): Counters {
  return {
    constructed: 0,
    fetches: 0,
    wsMessages: 0,
    wsCloses: 0,
    alarms: 0,
    calls: {},
    rowsRead: 0,
    rowsWritten: 0,
    attachments: 0,
    rpcs: 0,
  };
}

/** Counters by object id (hex). */
const counters = new Map<string, Counters>();
/** The counters of the object whose event is being handled (for attachment writes). */
let current: Counters | null = null;

function countersOf(id: string): Counters {
  let c = counters.get(id);
  if (!c) {
    c = emptyCounters();
    counters.set(id, c);
  }
  return c;
}

/** Adds the counters of `c` to `sum` (every number, and the calls by method). */
function addCounters(sum: Counters, c: Counters): void {
  for (const [k, v] of Object.entries(c.calls)) sum.calls[k] = (sum.calls[k] ?? 0) + v;
  const into = sum as unknown as Record<string, number>;
  for (const [k, v] of Object.entries(c)) if (typeof v === "number") into[k] = (into[k] ?? 0) + v;
}

function bump(c: Counters, name: string): void {
  c.calls[name] = (c.calls[name] ?? 0) + 1;
}

function keyCount(arg: unknown): number {
  if (Array.isArray(arg)) return arg.length;
  if (arg !== null && typeof arg === "object") return Object.keys(arg).length;
  return 1;
}

/** Rows a key-value call reads and writes (the SQLite backend stores one row per key). */
function kvRows(method: string, args: unknown[]): [read: number, written: number] {
  switch (method) {
    case "get":
      return [keyCount(args[0]), 0];
    case "put":
      return [0, typeof args[0] === "string" ? 1 : keyCount(args[0])];
    case "delete":
      return [0, keyCount(args[0])];
    default:
      return [0, 0];
  }
}

/** Names of the methods of an object, along its prototype chain. */
function methodNames(target: object): string[] {
  const names = new Set<string>();
  for (let o: object | null = target; o && o !== Object.prototype; o = Object.getPrototypeOf(o)) {
    for (const name of Object.getOwnPropertyNames(o)) {
      if (name === "constructor") continue;
      const d = Object.getOwnPropertyDescriptor(o, name);
      if (d && typeof d.value === "function") names.add(name);
    }
  }
  return [...names];
}

/** Objects already counted (the runtime hands out the same storage object each time). */
const patched = new WeakSet<object>();

/**
 * Replaces every method of `target` by one that counts its calls and the rows they
 * touch, in place: the runtime refuses anything but its own `DurableObjectState`, so a
 * proxy cannot stand in for it.
 */
function countMethods(target: object, c: Counters, prefix: string): void {
  if (patched.has(target)) return;
  patched.add(target);
  const record = target as Record<string, unknown>;
  for (const method of methodNames(target)) {
    const original = record[method] as (...a: unknown[]) => unknown;
    const name = `${prefix}${method}`;
    record[method] = function (this: unknown, ...args: unknown[]) {
      // wrangler dev's own wrapper records the object's name in SQLite on each start;
      // that does not happen in production.
      if (name === "sql.exec" && String(args[0]).includes("__miniflare")) {
        bump(c, "sql.exec by wrangler dev");
        return original.apply(this, args);
      }
      bump(c, name);
      const [read, written] = prefix === "sql." ? [0, 0] : kvRows(method, args);
      c.rowsRead += read;
      c.rowsWritten += written;
      const result = original.apply(this, args);
      if (name === "sql.exec" && result && typeof result === "object") {
        // Callers read the cursor right away; its counts are final once they are done.
        // (Holding on to cursors any longer would hold their memory too.)
        const cursor = result as { rowsRead: number; rowsWritten: number };
        queueMicrotask(() => {
          c.rowsRead += cursor.rowsRead;
          c.rowsWritten += cursor.rowsWritten;
        });
      }
      if (name === "list" && result instanceof Promise) {
        void result.then(
          (m: Map<unknown, unknown>) => {
            c.rowsRead += m.size;
          },
          () => {},
        );
      }
      return result;
    };
  }
}

/** Counts the storage calls of the object of `ctx` (storage, storage.sql, storage.kv). */
function instrument(ctx: DurableObjectState): Counters {
  const c = countersOf(ctx.id.toString());
  c.constructed++;
  current = c;
  const storage = ctx.storage;
  countMethods(storage, c, "");
  for (const sub of ["sql", "kv"] as const) {
    try {
      const inner = (storage as unknown as Record<string, unknown>)[sub];
      if (inner && typeof inner === "object") countMethods(inner, c, `${sub}.`);
    } catch {
      // not available on this backend
    }
  }
  return c;
}

const serialize = WebSocket.prototype.serializeAttachment;
WebSocket.prototype.serializeAttachment = function (this: WebSocket, value: unknown) {
  if (current) current.attachments++;
  return serialize.call(this, value);
};

// ---- the Socket.IO server ------------------------------------------------------------

class CountedSocketIo extends SocketIoServer<Env> {
  private readonly counted: Counters;

  constructor(ctx: DurableObjectState, env: Env) {
    instrument(ctx);
    super(ctx, env);
    this.counted = countersOf(ctx.id.toString());
  }

  override setup(io: this["io"]): void {
    handlers(io);
  }

  override async fetch(request: Request): Promise<Response> {
    current = this.counted;
    this.counted.fetches++;
    return super.fetch(request);
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    current = this.counted;
    this.counted.wsMessages++;
    return super.webSocketMessage(ws, message);
  }

  override async webSocketClose(
    ws: WebSocket,
    code: number,
    reason: string,
    wasClean: boolean,
  ): Promise<void> {
    current = this.counted;
    this.counted.wsCloses++;
    return super.webSocketClose(ws, code, reason, wasClean);
  }

  override async alarm(): Promise<void> {
    current = this.counted;
    this.counted.alarms++;
    return super.alarm();
  }

  override async socketIoShard(request: Parameters<SocketIoServer["socketIoShard"]>[0]) {
    current = this.counted;
    this.counted.rpcs++;
    return super.socketIoShard(request);
  }

  override async socketIoServer(request: Parameters<SocketIoServer["socketIoServer"]>[0]) {
    current = this.counted;
    this.counted.rpcs++;
    return super.socketIoServer(request);
  }

  override async socketIoShards(count: number): Promise<void> {
    current = this.counted;
    this.counted.rpcs++;
    return super.socketIoShards(count);
  }

  override async socketIoShardsReach(reach: number, routed: number): Promise<number> {
    current = this.counted;
    this.counted.rpcs++;
    return super.socketIoShardsReach(reach, routed);
  }
}

/** socket.io-durable with Socket.IO's default options (pingInterval 25 s). */
export class BenchSocketIo extends CountedSocketIo {
  static override options: ServerOptions = {};
}

/** socket.io-durable with connection state recovery on (Socket.IO's default window). */
export class RecoverSocketIo extends CountedSocketIo {
  static override options: ServerOptions = { connectionStateRecovery: {} };
}

/** socket.io-durable speaking msgpack (`socket.io-msgpack-parser`'s wire format). */
export class MsgpackSocketIo extends CountedSocketIo {
  static override options: ServerOptions = { parser: "msgpack" };
}

/**
 * The same server for the wake benchmark: a two-minute ping interval, so that the
 * object is evicted (after ~10-15 s idle under `wrangler dev`) before the first
 * heartbeat alarm would wake it.
 */
export class WakeSocketIo extends CountedSocketIo {
  static override options: ServerOptions = { pingInterval: 120_000, pingTimeout: 60_000 };
}

// ---- the bare limit --------------------------------------------------------------------

/** A bare Durable Object WebSocket echo: hibernation API, no protocol, no WebAssembly. */
export class BareEcho extends DurableObject<Env> {
  private readonly counted: Counters;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.counted = countersOf(ctx.id.toString());
    this.counted.constructed++;
  }

  override async fetch(request: Request): Promise<Response> {
    this.counted.fetches++;
    if (request.headers.get("Upgrade")?.toLowerCase() !== "websocket") {
      return new Response("expected a WebSocket", { status: 426 });
    }
    const pair = new WebSocketPair();
    this.ctx.acceptWebSocket(pair[1]);
    return new Response(null, { status: 101, webSocket: pair[0] });
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    this.counted.wsMessages++;
    if (typeof message === "string" && message.startsWith("B")) {
      for (const other of this.ctx.getWebSockets()) {
        if (other !== ws) {
          try {
            other.send(message);
          } catch {
            // closing
          }
        }
      }
      return;
    }
    ws.send(message);
  }

  override async webSocketClose(ws: WebSocket): Promise<void> {
    this.counted.wsCloses++;
    try {
      ws.close();
    } catch {
      // already closed
    }
  }
}

/**
 * The bare echo plus the Socket.IO core's work for each message, and nothing else: one
 * engine session of the core stands for every WebSocket of the object, each message
 * goes through `wsText` and its acknowledgement through `ack`, and the ack frame the core
 * writes is sent back. Between it and the bare echo lies the core's cost per message
 * (the WebAssembly calls and what crosses); between it and socket.io-durable, the
 * JavaScript layer's (driver, app API, listeners).
 */
export class CoreEcho extends DurableObject<Env> {
  readonly #core: SocketCore;
  readonly #sid: string;
  readonly #id: string;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    loadCore();
    const core = new SocketCore({});
    const now = Date.now();
    const opened = core
      .open(now, "websocket", undefined, crypto.getRandomValues(new Uint8Array(15)))
      .find((a) => a.type === "opened");
    this.#sid = opened?.sid ?? "";
    core.wsText(now, this.#sid, "40");
    this.#id = core.accept(this.#sid, "/", crypto.getRandomValues(new Uint8Array(15))).id ?? "";
    this.#core = core;
  }

  override async fetch(): Promise<Response> {
    const pair = new WebSocketPair();
    this.ctx.acceptWebSocket(pair[1]);
    return new Response(null, { status: 101, webSocket: pair[0] });
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    if (typeof message !== "string") return;
    const event = this.#core.wsText(Date.now(), this.#sid, message)[0];
    if (event?.type !== "event" || event.ackId === undefined) return;
    const answer = this.#core.ack(this.#id, event.ackId, JSON.stringify(event.args.slice(1)), []);
    for (const a of answer)
      if (a.type === "wsSend" && typeof a.frame === "string") ws.send(a.frame);
  }
}

// ---- routing -------------------------------------------------------------------

interface Env {
  BENCH: DurableObjectNamespace<BenchSocketIo>;
  WAKE: DurableObjectNamespace<WakeSocketIo>;
  RECOVER: DurableObjectNamespace<RecoverSocketIo>;
  MSGPACK: DurableObjectNamespace<MsgpackSocketIo>;
  BARE: DurableObjectNamespace<BareEcho>;
  CORE: DurableObjectNamespace<CoreEcho>;
}

type AnyNamespace = Env[keyof Env];

function namespaceOf(env: Env, cls: string | null): AnyNamespace | null {
  switch (cls ?? "bench") {
    case "bench":
      return env.BENCH;
    case "wake":
      return env.WAKE;
    case "recover":
      return env.RECOVER;
    case "msgpack":
      return env.MSGPACK;
    case "bare":
      return env.BARE;
    case "core":
      return env.CORE;
    default:
      return null;
  }
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const url = new URL(request.url);
    const q = url.searchParams;
    const name = q.get("do") ?? "default";
    if (url.pathname === "/__health") return new Response("ok");
    if (url.pathname === "/__counters") {
      const ns = namespaceOf(env, q.get("cls"));
      if (!ns) return new Response("unknown class", { status: 404 });
      // With `shards=N`, the sum over the N shards of the server.
      const shards = Math.max(1, Number(q.get("shards") ?? 1) || 1);
      const sum = emptyCounters();
      for (let k = 0; k < shards; k++) {
        const c = countersOf(ns.idFromName(shardName(name, k)).toString());
        addCounters(sum, c);
        if (q.get("reset") === "1") {
          const constructed = c.constructed;
          Object.assign(c, emptyCounters(), { constructed });
        }
      }
      return new Response(JSON.stringify(sum), {
        headers: { "Content-Type": "application/json" },
      });
    }
    if (url.pathname === "/bare" || url.pathname.startsWith("/bare/")) {
      return env.BARE.get(env.BARE.idFromName(name)).fetch(request);
    }
    if (url.pathname === "/core" || url.pathname.startsWith("/core/")) {
      return env.CORE.get(env.CORE.idFromName(name)).fetch(request);
    }
    const ns = namespaceOf(env, q.get("cls"));
    if (!ns) return new Response("unknown class", { status: 404 });
    const shards = Number(q.get("shards") ?? 1) || 1;
    const routed = await routeSocketIo(request, ns, { name, shards });
    return routed ?? new Response("Not found", { status: 404 });
  },
} satisfies ExportedHandler<Env>;
