// socket.io-client 2.x (Engine.IO protocol v3), installed as `socket.io-client-v2`, with
// every event recorded from the start, for the mounts that accept it (`allowEIO3`).
import io, { type Socket } from "socket.io-client-v2";
import { baseUrl } from "./eio.js";
import type { Mode, SioMount } from "./sio.js";
import { withTimeout } from "./util.js";

interface Entry {
  event: string;
  args: unknown[];
}

/** The events of the client itself (not sent by the server) that are recorded. */
const OWN_EVENTS = ["connect", "connect_error", "disconnect", "error", "pong", "reconnect"];

/** A socket.io-client 2.x socket whose every event is recorded from its creation. */
export class Client2 {
  readonly history: Entry[] = [];
  private readonly log: Entry[] = [];
  private readonly waiters: Array<{ match: (e: Entry) => boolean; resolve: (e: Entry) => void }> =
    [];

  constructor(
    readonly socket: Socket,
    readonly nsp = "/",
  ) {
    const onevent = socket.onevent.bind(socket);
    socket.onevent = (packet) => {
      const [event, ...args] = packet.data ?? [];
      this.push({ event: String(event), args });
      onevent(packet);
    };
    for (const event of OWN_EVENTS) {
      socket.on(event, (...args: unknown[]) => this.push({ event, args }));
    }
  }

  private push(entry: Entry): void {
    this.history.push(entry);
    const index = this.waiters.findIndex((w) => w.match(entry));
    if (index >= 0) {
      const [waiter] = this.waiters.splice(index, 1);
      waiter?.resolve(entry);
    } else {
      this.log.push(entry);
    }
  }

  /** The arguments of the next (not yet consumed) `event`. */
  async next(event: string, timeoutMs = 5_000): Promise<unknown[]> {
    return (await this.nextOf([event], timeoutMs)).args;
  }

  /** The next (not yet consumed) event of those named. */
  nextOf(events: string[], timeoutMs = 5_000): Promise<Entry> {
    const match = (e: Entry): boolean => events.includes(e.event);
    const index = this.log.findIndex(match);
    if (index >= 0) {
      const [entry] = this.log.splice(index, 1);
      if (entry) return Promise.resolve(entry);
    }
    let waiter: { match: (e: Entry) => boolean; resolve: (e: Entry) => void } | undefined;
    const promise = new Promise<Entry>((resolve) => {
      waiter = { match, resolve };
      this.waiters.push(waiter);
    });
    return withTimeout(
      promise,
      timeoutMs,
      `waiting for ${events.join("/")} on ${this.nsp} (v2)`,
    ).catch((error: unknown) => {
      const i = waiter ? this.waiters.indexOf(waiter) : -1;
      if (i >= 0) this.waiters.splice(i, 1);
      throw error;
    });
  }

  /** The first argument of the next `event`. */
  async next1<T = unknown>(event: string, timeoutMs = 5_000): Promise<T> {
    return (await this.next(event, timeoutMs))[0] as T;
  }

  /** How many `event` were received so far. */
  count(event: string): number {
    return this.history.filter((e) => e.event === event).length;
  }

  /** Emits and resolves with the ack's arguments. */
  request(event: string, ...args: unknown[]): Promise<unknown[]> {
    return withTimeout(
      new Promise<unknown[]>((resolve) => {
        this.socket.emit(event, ...args, (...answer: unknown[]) => resolve(answer));
      }),
      5_000,
      `ack of "${event}" on ${this.nsp} (v2)`,
    );
  }

  /** Emits and resolves with the ack's first argument. */
  async call<T = unknown>(event: string, ...args: unknown[]): Promise<T> {
    return (await this.request(event, ...args))[0] as T;
  }

  get id(): string {
    const id = this.socket.id;
    if (!id) throw new Error("v2 socket has no id (not connected)");
    return id;
  }

  /** The engine session id. */
  get engineId(): string {
    const id = this.socket.io.engine?.id;
    if (!id) throw new Error("v2 socket has no engine");
    return id;
  }

  /** The name of the engine transport in use. */
  get transport(): string {
    return this.socket.io.engine?.transport.name ?? "none";
  }

  /** Waits until the client runs on the transport its mode settles on. */
  async settled(mode: Mode, timeoutMs = 5_000): Promise<void> {
    const engine = this.socket.io.engine;
    if (!engine || engine.transport.name === mode.settled) return;
    await withTimeout(
      new Promise<void>((resolve) => engine.once("upgrade", () => resolve())),
      timeoutMs,
      `waiting for the v2 client's upgrade to ${mode.settled}`,
    );
  }
}

export interface Client2Options {
  mode?: Mode;
  query?: Record<string, string>;
  reconnection?: boolean;
}

/** Creates socket.io-client 2.x sockets and closes them all in closeAll(). */
export class Clients2 {
  private readonly sockets: Socket[] = [];

  /** A new socket with its own Manager, not awaited. */
  create(mount: SioMount, nsp = "/", options: Client2Options = {}): Client2 {
    const socket = io(`${baseUrl()}${nsp}`, {
      path: `/${mount}/`,
      forceNew: true,
      reconnection: options.reconnection ?? false,
      reconnectionDelay: 100,
      ...(options.mode?.transports ? { transports: options.mode.transports } : {}),
      ...(options.query ? { query: options.query } : {}),
    });
    this.sockets.push(socket);
    return new Client2(socket, nsp);
  }

  /** Like create(), then waits for "connect" (throws on an error or connect_error). */
  async connect(mount: SioMount, nsp = "/", options: Client2Options = {}): Promise<Client2> {
    const client = this.create(mount, nsp, options);
    const outcome = await client.nextOf(["connect", "error", "connect_error"]);
    if (outcome.event !== "connect") {
      throw new Error(`v2 client on ${nsp}: ${outcome.event} ${String(outcome.args[0])}`);
    }
    return client;
  }

  closeAll(): void {
    for (const socket of this.sockets.splice(0)) {
      socket.io.reconnection(false);
      socket.close();
      socket.io.engine?.close();
    }
  }
}
