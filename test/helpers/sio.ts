// Socket.IO helpers: the official socket.io-client (with every event recorded
// from the start so nothing is missed), raw Socket.IO over a raw WebSocket,
// and small utilities shared by test/e2e/socketio-*.test.ts.
import {
  io,
  Manager,
  type ManagerOptions,
  type Socket,
  type SocketOptions,
} from "socket.io-client";
import { baseUrl, clientsCount, type Mount, type OpenPayload, parseOpen, wsUrl } from "./eio.js";
import { type Entry, Recorded } from "./recorded.js";
import { waitUntil, withTimeout } from "./util.js";
import { describeFrame, type Frame, WsClient } from "./ws-client.js";

/** The Socket.IO mounts of the fixture. */
export type SioMount =
  | "socket.io"
  | "sio"
  | "hib"
  | "shard"
  | "shard-hib"
  | "renamed"
  | "recover"
  | "recover-short"
  | "shard-recover"
  | "sched"
  | "sched-hib"
  | "inst"
  | "msgpack"
  | "msgpack-named"
  | "msgpack-hib"
  | "sio3"
  | "hib3";

/** How socket.io-client reaches the server. */
export interface Mode {
  name: string;
  transports?: Array<"websocket" | "polling">;
  /** Transport in use once the connection has settled. */
  settled: "websocket" | "polling";
}

export const MODES: Mode[] = [
  { name: "websocket", transports: ["websocket"], settled: "websocket" },
  { name: "polling", transports: ["polling"], settled: "polling" },
  { name: "polling then upgrade", transports: undefined, settled: "websocket" },
];

/** A short random suffix for room and namespace names. */
export function uid(): string {
  return Math.random().toString(36).slice(2, 10);
}

/** Bytes of a binary value received by socket.io-client (Buffer, ArrayBuffer or a view). */
export function bytes(value: unknown): number[] {
  if (value instanceof ArrayBuffer) return [...new Uint8Array(value)];
  if (ArrayBuffer.isView(value)) {
    return [...new Uint8Array(value.buffer, value.byteOffset, value.byteLength)];
  }
  throw new Error(`expected binary data, got ${describe(value)}`);
}

/** True for any binary value socket.io-client may hand out. */
export function isBinary(value: unknown): boolean {
  return value instanceof ArrayBuffer || ArrayBuffer.isView(value);
}

function describe(value: unknown): string {
  try {
    const text = JSON.stringify(value);
    return text === undefined ? String(value) : text.slice(0, 200);
  } catch {
    return String(value);
  }
}

/**
 * A socket.io-client socket whose every event (including connect,
 * connect_error and disconnect) is recorded from creation on, so tests can
 * await them in order without racing the listener registration.
 */
export class Client extends Recorded<Socket> {
  constructor(socket: Socket, nsp = "/") {
    super(socket, nsp);
    socket.onAny((event: string, ...args: unknown[]) => this.record({ event, args }));
    for (const event of ["connect", "connect_error", "disconnect"]) {
      socket.on(event as "connect", (...args: unknown[]) => this.record({ event, args }));
    }
  }

  /** Unconsumed events named `event`, without waiting (and consumes them). */
  take(event: string): unknown[][] {
    const taken: unknown[][] = [];
    for (let i = 0; i < this.log.length; ) {
      const entry = this.log[i] as Entry;
      if (entry.event === event) {
        taken.push(entry.args);
        this.log.splice(i, 1);
      } else {
        i += 1;
      }
    }
    return taken;
  }

  /** Resolves once connected; rejects with the connect_error if there is one. */
  async connected(timeoutMs = 5_000): Promise<this> {
    if (this.socket.connected) return this;
    const outcome = await withTimeout(
      new Promise<Entry>((resolve) => {
        const first = this.log.find((e) => e.event === "connect" || e.event === "connect_error");
        if (first) return resolve(first);
        this.waiters.push({
          match: (e) => e.event === "connect" || e.event === "connect_error",
          resolve: (e) => {
            this.log.push(e);
            resolve(e);
          },
        });
      }),
      timeoutMs,
      `connecting ${this.nsp}`,
    );
    if (outcome.event === "connect_error") {
      throw new Error(`connect_error: ${(outcome.args[0] as Error).message}`);
    }
    return this;
  }

  /** Name of the engine transport currently in use. */
  get transport(): string {
    return this.socket.io.engine.transport.name;
  }
}

export interface ClientOptions extends Partial<ManagerOptions & SocketOptions> {
  mode?: Mode;
  /** Base URL of the worker (default: the fixture's, from the global setup). */
  base?: string;
}

/** Creates socket.io-client sockets and closes all of them in closeAll(). */
export class Clients {
  private readonly managers = new Set<Manager>();
  private readonly raws: RawSio[] = [];

  /** A new socket with its own Manager (forceNew), not awaited. */
  create(mount: SioMount, nsp = "/", options: ClientOptions = {}): Client {
    const { mode, base, ...rest } = options;
    const socket = io(`${base ?? baseUrl()}${nsp}`, {
      path: `/${mount}/`,
      forceNew: true,
      reconnection: false,
      transports: mode?.transports,
      ...rest,
    });
    this.managers.add(socket.io);
    return new Client(socket, nsp);
  }

  /** Like create(), then waits for "connect" (throws on connect_error). */
  connect(mount: SioMount, nsp = "/", options: ClientOptions = {}): Promise<Client> {
    return this.create(mount, nsp, options).connected();
  }

  /** A Manager shared by several namespaces (multiplexing on one engine connection). */
  manager(mount: SioMount, options: ClientOptions = {}): Manager {
    const { mode, base, ...rest } = options;
    const manager = new Manager(base ?? baseUrl(), {
      path: `/${mount}/`,
      reconnection: false,
      transports: mode?.transports,
      ...rest,
    });
    this.managers.add(manager);
    return manager;
  }

  /** Wraps a socket of a shared Manager. */
  socketOf(manager: Manager, nsp: string, options: Partial<SocketOptions> = {}): Client {
    return new Client(manager.socket(nsp, options), nsp);
  }

  /** A raw WebSocket engine session on a Socket.IO mount. */
  async raw(
    mount: SioMount,
    options: { autoPong?: boolean; query?: Record<string, string> } = {},
  ): Promise<RawSio> {
    const raw = await RawSio.open(mount, options);
    this.raws.push(raw);
    return raw;
  }

  async closeAll(): Promise<void> {
    for (const manager of this.managers) {
      for (const socket of Object.values(
        (manager as unknown as { nsps: Record<string, Socket> }).nsps,
      )) {
        socket.disconnect();
      }
      manager.engine?.close();
      manager.reconnection(false);
    }
    this.managers.clear();
    await Promise.all(this.raws.splice(0).map((r) => r.close()));
  }
}

/** Socket.IO packets by hand over a raw WebSocket (one engine session). */
export class RawSio {
  private constructor(
    readonly ws: WsClient,
    readonly open: OpenPayload,
    private readonly autoPong: boolean,
  ) {}

  static async open(
    mount: SioMount,
    { autoPong = true, query = {} }: { autoPong?: boolean; query?: Record<string, string> } = {},
  ): Promise<RawSio> {
    const ws = await WsClient.connect(
      wsUrl(mount, { EIO: "4", transport: "websocket", ...query }),
      {
        autoPong,
      },
    );
    const open = parseOpen(await ws.nextText());
    return new RawSio(ws, open, autoPong);
  }

  send(frame: string | Uint8Array): void {
    this.ws.send(frame);
  }

  /** Next frame other than a ping (pings are never answered here unless autoPong). */
  async next(timeoutMs = 3_000): Promise<Frame> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const frame = await this.ws.next(Math.max(1, deadline - Date.now()));
      if (!this.autoPong && frame === "2") continue;
      return frame;
    }
  }

  async nextText(timeoutMs = 3_000): Promise<string> {
    const frame = await this.next(timeoutMs);
    if (typeof frame !== "string") throw new Error(`expected text, got ${describeFrame(frame)}`);
    return frame;
  }

  async nextBinary(timeoutMs = 3_000): Promise<Buffer> {
    const frame = await this.next(timeoutMs);
    if (typeof frame === "string") throw new Error(`expected binary, got ${describeFrame(frame)}`);
    return frame;
  }

  /**
   * Sends a CONNECT (`40`, `40/nsp,`, with an optional auth payload) and
   * returns the raw answer.
   */
  async connectRaw(nsp = "/", auth?: unknown): Promise<string> {
    const prefix = nsp === "/" ? "" : `${nsp},`;
    this.send(`40${prefix}${auth === undefined ? "" : JSON.stringify(auth)}`);
    return this.nextText();
  }

  /** CONNECT that must succeed; returns the socket id. */
  async connect(nsp = "/", auth?: unknown): Promise<string> {
    const answer = await this.connectRaw(nsp, auth);
    const prefix = nsp === "/" ? "40" : `40${nsp},`;
    if (!answer.startsWith(prefix)) throw new Error(`CONNECT ${nsp} answered ${answer}`);
    return (JSON.parse(answer.slice(prefix.length)) as { sid: string }).sid;
  }

  /** Resolves once the server has closed the connection. */
  waitClosed(timeoutMs = 3_000): Promise<unknown> {
    return this.ws.waitClosed(timeoutMs);
  }

  get isOpen(): boolean {
    return this.ws.isOpen;
  }

  close(): Promise<void> {
    return this.ws.close();
  }
}

/** Engine sessions currently open on a Socket.IO mount (`/__stats`). */
export function engineCount(mount: SioMount): Promise<number> {
  return clientsCount(mount as unknown as Mount);
}

/**
 * Waits until the engine session count of the mount stops changing (two equal
 * reads 150 ms apart) and returns it.
 */
export async function stableEngineCount(mount: SioMount, timeoutMs = 8_000): Promise<number> {
  let previous = -1;
  const value = await waitUntil(
    async () => {
      const count = await engineCount(mount);
      const same = count === previous;
      previous = count;
      return { count, same };
    },
    (v) => v.same,
    { timeoutMs, intervalMs: 150, what: `a stable clientsCount on /${mount}/` },
  );
  return value.count;
}

/** Waits until the client runs on the transport its mode settles on (after the upgrade, if any). */
export async function settled(client: Client, mode: Mode, timeoutMs = 5_000): Promise<void> {
  if (client.transport === mode.settled) return;
  await withTimeout(
    new Promise<void>((resolve) => client.socket.io.engine.once("upgrade", () => resolve())),
    timeoutMs,
    `waiting for the upgrade to ${mode.settled}`,
  );
  if (client.transport !== mode.settled) {
    throw new Error(`expected transport ${mode.settled}, got ${client.transport}`);
  }
}
