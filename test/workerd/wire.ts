/**
 * Helpers of the in-workerd tests: a client that speaks the Engine.IO/Socket.IO wire
 * protocol over a real WebSocket to the `/hib/` object, and `Incarnation`, a fresh
 * instance of the object's class built over the same storage and hibernated WebSockets
 * (what the runtime does after evicting the object), driven through its handlers.
 */
import { runInDurableObject, SELF } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { vi } from "vitest";
import type { HibServer } from "./worker.js";

/** What a hibernated WebSocket carries (the engine session and its heartbeat). */
export interface Attachment {
  sid: string;
  probe?: boolean;
  nextPingAt?: number;
  pongDeadline?: number;
}

/** The ping interval, ping timeout and ping slack of `HibServer`. */
export const PING_INTERVAL = 25_000;
export const PING_TIMEOUT = 20_000;
/** Pings go out this long before they are due (min(interval / 4, timeout / 2)). */
export const PING_SLACK = 6_250;

let objects = 0;

/** A name for a new object (each test gets its own storage). */
export function newObjectName(prefix: string): string {
  objects += 1;
  return `${prefix}-${objects}-${crypto.randomUUID()}`;
}

/** The stub of the object `name`. */
export function stubOf(name: string): DurableObjectStub<HibServer> {
  return env.HIB.get(env.HIB.idFromName(name));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The namespace prefix of a Socket.IO packet (`""` for the main namespace). */
function nspPrefix(nsp: string): string {
  return nsp === "/" ? "" : `${nsp},`;
}

/** Splits a Socket.IO packet (after the Engine.IO `4`): type, namespace, ack id, payload. */
export function parsePacket(
  frame: string,
): { type: number; nsp: string; id: number | null; data: unknown } | null {
  const m = /^4(\d)(\/[^,]*,)?(\d*)(.*)$/s.exec(frame);
  if (!m) return null;
  const nsp = m[2] ? m[2].slice(0, -1) : "/";
  return {
    type: Number(m[1]),
    nsp,
    id: m[3] ? Number(m[3]) : null,
    data: m[4] ? JSON.parse(m[4]) : undefined,
  };
}

/** Like {@link parsePacket}, for a frame known to be a Socket.IO packet. */
export function packetOf(frame: string): {
  type: number;
  nsp: string;
  id: number | null;
  data: unknown;
} {
  const packet = parsePacket(frame);
  if (!packet) throw new Error(`not a Socket.IO packet: ${frame}`);
  return packet;
}

/** A Socket.IO client over one WebSocket, at the level of frames. */
export class WireClient {
  readonly sid: string;
  readonly handshake: { sid: string; pingInterval: number; pingTimeout: number };
  /** Socket ids by namespace. */
  readonly ids = new Map<string, string>();
  /** Set when the server closed the WebSocket. */
  closeEvent: { code: number; reason: string } | null = null;
  readonly #ws: WebSocket;
  readonly #queue: string[];
  #waiters: (() => void)[] = [];
  #nextAck = 1;

  private constructor(ws: WebSocket, queue: string[], open: string) {
    this.#ws = ws;
    this.#queue = queue;
    this.handshake = JSON.parse(open.slice(1));
    this.sid = this.handshake.sid;
    ws.addEventListener("message", (event) => {
      this.#queue.push(typeof event.data === "string" ? event.data : "<binary>");
      this.#wake();
    });
    ws.addEventListener("close", (event) => {
      this.closeEvent = { code: event.code, reason: event.reason };
      this.#wake();
    });
  }

  /**
   * Opens an Engine.IO WebSocket session on the object `object` (through the worker's
   * `fetch`, as a browser would) and waits for its open packet.
   */
  static async open(
    object: string,
    options: {
      query?: Record<string, string | string[]>;
      headers?: Record<string, string>;
      /** The mount path (default `/hib/`). */
      path?: string;
    } = {},
  ): Promise<WireClient> {
    const params = new URLSearchParams({ EIO: "4", transport: "websocket", object });
    for (const [key, value] of Object.entries(options.query ?? {})) {
      for (const v of Array.isArray(value) ? value : [value]) params.append(key, v);
    }
    const response = await SELF.fetch(`https://sio.example${options.path ?? "/hib/"}?${params}`, {
      headers: { Upgrade: "websocket", ...options.headers },
    });
    const ws = response.webSocket;
    if (response.status !== 101 || !ws) {
      throw new Error(`handshake answered ${response.status}: ${await response.text()}`);
    }
    const early: string[] = [];
    let notify = () => {};
    const onEarly = (event: MessageEvent) => {
      early.push(String(event.data));
      notify();
    };
    ws.addEventListener("message", onEarly);
    ws.accept();
    const deadline = performance.now() + 5_000;
    while (early.length === 0) {
      if (performance.now() > deadline) throw new Error("no open packet");
      await Promise.race([new Promise<void>((r) => (notify = r)), sleep(50)]);
    }
    ws.removeEventListener("message", onEarly);
    const open = early.shift() as string;
    if (!open.startsWith("0")) throw new Error(`expected an open packet, got ${open}`);
    return new WireClient(ws, early, open);
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }

  /** Sends a raw Engine.IO frame over the WebSocket (the object's own handlers get it). */
  send(frame: string): void {
    this.#ws.send(frame);
  }

  /** Closes the WebSocket from the client side. */
  close(): void {
    try {
      this.#ws.close(1000, "done");
    } catch {
      // already closed
    }
  }

  /** The frames received and not consumed yet. */
  pending(): string[] {
    return [...this.#queue];
  }

  /** Waits for (and consumes) the first frame that `match` accepts. */
  async next(match: (frame: string) => boolean = () => true, timeoutMs = 3_000): Promise<string> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const i = this.#queue.findIndex(match);
      if (i >= 0) return this.#queue.splice(i, 1)[0] as string;
      const left = deadline - performance.now();
      if (left <= 0) {
        throw new Error(
          `no matching frame within ${timeoutMs} ms (pending: ${JSON.stringify(this.#queue)})`,
        );
      }
      await Promise.race([
        new Promise<void>((resolve) => this.#waiters.push(resolve)),
        sleep(Math.min(left, 50)),
      ]);
    }
  }

  /** Waits `ms` and returns what arrived meanwhile, without consuming it. */
  async idle(ms = 150): Promise<string[]> {
    await sleep(ms);
    return this.pending();
  }

  /** Waits for the server to close the WebSocket. */
  async closed(timeoutMs = 3_000): Promise<{ code: number; reason: string }> {
    const deadline = performance.now() + timeoutMs;
    while (!this.closeEvent) {
      if (performance.now() > deadline) throw new Error("the WebSocket was not closed");
      await Promise.race([new Promise<void>((resolve) => this.#waiters.push(resolve)), sleep(50)]);
    }
    return this.closeEvent;
  }

  /** The CONNECT frame for `nsp`. */
  static connectFrame(nsp: string, auth?: Record<string, unknown>): string {
    return `40${nspPrefix(nsp)}${auth ? JSON.stringify(auth) : ""}`;
  }

  /** Waits for the CONNECT answer of `nsp` and records the socket id. */
  async connected(nsp: string): Promise<string> {
    const frame = await this.next((f) => {
      const p = parsePacket(f);
      return p !== null && p.nsp === nsp && (p.type === 0 || p.type === 4);
    });
    const packet = packetOf(frame);
    if (packet.type !== 0) throw new Error(`connect to ${nsp} refused: ${frame}`);
    const id = (packet.data as { sid: string }).sid;
    this.ids.set(nsp, id);
    return id;
  }

  /** Joins namespace `nsp` through the object's own handlers; resolves to the socket id. */
  async connect(nsp = "/", auth?: Record<string, unknown>): Promise<string> {
    this.send(WireClient.connectFrame(nsp, auth));
    return this.connected(nsp);
  }

  /** An EVENT frame asking for an acknowledgement; `ackId` is what its answer carries. */
  eventFrame(nsp: string, event: string, ...args: unknown[]): { frame: string; ackId: number } {
    const ackId = this.#nextAck++;
    return { frame: `42${nspPrefix(nsp)}${ackId}${JSON.stringify([event, ...args])}`, ackId };
  }

  /** An EVENT frame without acknowledgement. */
  static emitFrame(nsp: string, event: string, ...args: unknown[]): string {
    return `42${nspPrefix(nsp)}${JSON.stringify([event, ...args])}`;
  }

  /** Waits for the ACK of `ackId` on `nsp` and returns its first argument. */
  async ackOf(nsp: string, ackId: number): Promise<unknown> {
    const frame = await this.next((f) => {
      const p = parsePacket(f);
      return p !== null && p.type === 3 && p.nsp === nsp && p.id === ackId;
    });
    return (packetOf(frame).data as unknown[])[0];
  }

  /** Emits `event` through the object's own handlers and returns the acknowledgement. */
  async call(nsp: string, event: string, ...args: unknown[]): Promise<unknown> {
    const { frame, ackId } = this.eventFrame(nsp, event, ...args);
    this.send(frame);
    return this.ackOf(nsp, ackId);
  }

  /** Waits for the event `event` on `nsp`; returns the packet (with the server's ack id). */
  async event(
    nsp: string,
    event: string,
    timeoutMs?: number,
  ): Promise<{ id: number | null; args: unknown[] }> {
    const frame = await this.next((f) => {
      const p = parsePacket(f);
      return p !== null && p.type === 2 && p.nsp === nsp && (p.data as unknown[])[0] === event;
    }, timeoutMs);
    const p = packetOf(frame);
    return { id: p.id, args: (p.data as unknown[]).slice(1) };
  }
}

/**
 * A new instance of the object's class over the same `DurableObjectState`: the same
 * SQLite storage, the same alarm and the same hibernated WebSockets, with nothing in
 * memory — what the runtime builds when an event arrives after an eviction. Its
 * handlers are called directly, in the object's context.
 */
export class Incarnation {
  readonly #stub: DurableObjectStub<HibServer>;
  readonly #instance: HibServer;

  private constructor(stub: DurableObjectStub<HibServer>, instance: HibServer) {
    this.#stub = stub;
    this.#instance = instance;
  }

  /** Builds the instance (its constructor runs, as on a wake). */
  static async start(stub: DurableObjectStub<HibServer>): Promise<Incarnation> {
    const instance = await runInDurableObject(stub, async (live: HibServer, state) => {
      const Class = live.constructor as new (ctx: DurableObjectState, e: typeof env) => HibServer;
      const fresh = new Class(state, env);
      // The constructor reads the alarm under blockConcurrencyWhile; let it finish.
      await state.storage.getAlarm();
      return fresh;
    });
    return new Incarnation(stub, instance);
  }

  /**
   * Runs `fn` with this instance, in the object's context; with `at`, `Date.now()`
   * returns `at` meanwhile (the instance's clock).
   */
  run<R>(
    fn: (instance: HibServer, state: DurableObjectState) => R | Promise<R>,
    at?: number,
  ): Promise<R> {
    return atTime(at, () =>
      runInDurableObject(this.#stub, (_live: HibServer, state) => fn(this.#instance, state)),
    );
  }

  /** The runtime's `webSocketMessage` event: `frame` arrived on the WebSocket of `client`. */
  message(client: WireClient, frame: string, at?: number): Promise<void> {
    return this.run(async (instance, state) => {
      const ws = state.getWebSockets(client.sid)[0];
      if (!ws) throw new Error(`no hibernated WebSocket tagged ${client.sid}`);
      await instance.webSocketMessage(ws, frame);
    }, at);
  }

  /** Emits `event` from `client` to this instance and returns the acknowledgement. */
  async call(client: WireClient, nsp: string, event: string, ...args: unknown[]): Promise<unknown> {
    const { frame, ackId } = client.eventFrame(nsp, event, ...args);
    await this.message(client, frame);
    return client.ackOf(nsp, ackId);
  }

  /**
   * The runtime's `alarm` event, at time `at` (the runtime clears the alarm before it
   * calls the handler).
   */
  alarm(at?: number): Promise<void> {
    return this.run(async (instance, state) => {
      await state.storage.deleteAlarm();
      await instance.alarm();
    }, at);
  }

  /** `stats()` of this instance. */
  stats(): Promise<Record<string, unknown>> {
    return this.run((instance) => instance.stats());
  }

  /** What the listeners of this instance saw. */
  runs(): Promise<HibServer["runs"]> {
    return this.run((instance) => structuredClone(instance.runs));
  }
}

/** Runs `fn` while `Date.now()` returns `at` (the object runs in this isolate too). */
export async function atTime<R>(at: number | undefined, fn: () => Promise<R>): Promise<R> {
  if (at === undefined) return fn();
  const spy = vi.spyOn(Date, "now").mockReturnValue(at);
  try {
    return await fn();
  } finally {
    spy.mockRestore();
  }
}

/** The attachment of the WebSocket of session `sid` (null when there is none). */
export function attachmentOf(
  stub: DurableObjectStub<HibServer>,
  sid: string,
): Promise<Attachment | null> {
  return runInDurableObject(stub, (_i: HibServer, state) => {
    const ws = state.getWebSockets(sid)[0];
    return ws ? (ws.deserializeAttachment() as Attachment | null) : null;
  });
}

/** The object's scheduled alarm. */
export function alarmOf(stub: DurableObjectStub<HibServer>): Promise<number | null> {
  return runInDurableObject(stub, (_i: HibServer, state) => state.storage.getAlarm());
}

/** Rows of the object's SQLite storage. */
export function rows<T extends Record<string, SqlStorageValue>>(
  stub: DurableObjectStub<HibServer>,
  query: string,
  ...bindings: SqlStorageValue[]
): Promise<T[]> {
  return runInDurableObject(stub, (_i: HibServer, state) =>
    state.storage.sql.exec<T>(query, ...bindings).toArray(),
  );
}

/** Number of stored sockets and room memberships. */
export async function storedCounts(
  stub: DurableObjectStub<HibServer>,
): Promise<{ sockets: number; rooms: number }> {
  const [s] = await rows<{ n: number }>(stub, "SELECT COUNT(*) AS n FROM sio_sockets");
  const [r] = await rows<{ n: number }>(stub, "SELECT COUNT(*) AS n FROM sio_rooms");
  return { sockets: Number(s?.n ?? 0), rooms: Number(r?.n ?? 0) };
}
