// socket.io-client 2.x (Engine.IO protocol v3), installed as `socket.io-client-v2`, with
// every event recorded from the start, for the mounts that accept it (`allowEIO3`).
import io, { type Socket } from "socket.io-client-v2";
import { baseUrl } from "./eio.js";
import { type Entry, Recorded } from "./recorded.js";
import type { Mode, SioMount } from "./sio.js";
import { withTimeout } from "./util.js";

/** The events of the client itself (not sent by the server) that are recorded. */
const OWN_EVENTS = ["connect", "connect_error", "disconnect", "error", "pong", "reconnect"];

/** A socket.io-client 2.x socket whose every event is recorded from its creation. */
export class Client2 extends Recorded<Socket> {
  constructor(socket: Socket, nsp = "/") {
    super(socket, nsp, " (v2)");
    // 2.x has no onAny: every event packet passes through onevent.
    const onevent = socket.onevent.bind(socket);
    socket.onevent = (packet) => {
      const [event, ...args] = packet.data ?? [];
      this.record({ event: String(event), args });
      onevent(packet);
    };
    for (const event of OWN_EVENTS) {
      socket.on(event, (...args: unknown[]) => this.record({ event, args }));
    }
  }

  /** The next (not yet consumed) event of those named. */
  nextOf(events: string[], timeoutMs = 5_000): Promise<Entry> {
    return this.nextWhere((e) => events.includes(e.event), events.join("/"), timeoutMs);
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
