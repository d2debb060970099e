/**
 * `SocketIoServer`: the Durable Object base class that user apps extend.
 *
 * ```ts
 * export class Chat extends SocketIoServer<Env> {
 *   static options = { pingInterval: 25_000, cors: { origin: "*" } };
 *
 *   setup(io: Server) {
 *     io.on("connection", (socket) => {
 *       socket.on("say", (text, ack) => { socket.broadcast.emit("said", text); ack?.("ok"); });
 *     });
 *   }
 * }
 * ```
 */
// biome-ignore-all lint/suspicious/noExplicitAny: `SocketData` defaults to `any` as in Socket.IO

import type { CoreHost } from "./api/host.js";
import type { ServerOptions } from "./api/options.js";
import { Server } from "./api/server.js";
import type { Handshake } from "./api/socket.js";
import type { DefaultEventsMap, EventsMap } from "./api/typed-events.js";
import type { EngineOptions } from "./options.js";
import type { EngineCoreLike, SocketAction, SocketCoreLike } from "./shim/core-types.js";
import {
  type Attachment,
  type EngineCloseReason,
  EngineIoServer,
  logFailure,
} from "./shim/engine-server.js";
import { SocketStore } from "./shim/store.js";
import { SocketCore } from "./shim/wasm.js";

/**
 * A Socket.IO server in a Durable Object. Subclass it, set `static options`, and
 * register middlewares and listeners in {@link SocketIoServer.setup}.
 *
 * `setup(io)` runs each time the object starts, and the object may be evicted from
 * memory whenever it is idle: state kept in variables of `setup` or of a `connection`
 * listener lasts only as long as the object stays in memory. Keep what must last in
 * `socket.data`, rooms, or the object's storage.
 *
 * @typeParam Env - the Worker's bindings
 * @typeParam ListenEvents - events the clients send
 * @typeParam EmitEvents - events the server sends
 * @typeParam ServerSideEvents - events between servers (not supported yet)
 * @typeParam SocketData - type of `socket.data`
 */
export class SocketIoServer<
  Env = unknown,
  ListenEvents extends EventsMap = DefaultEventsMap,
  EmitEvents extends EventsMap = ListenEvents,
  ServerSideEvents extends EventsMap = DefaultEventsMap,
  SocketData = any,
> extends EngineIoServer<Env> {
  /** Server options; override in the subclass. */
  static override options: ServerOptions = {};

  /** The Socket.IO server (the `io` of Socket.IO's documentation). */
  readonly io: Server<ListenEvents, EmitEvents, ServerSideEvents, SocketData>;

  /** The durable copy of sockets, rooms, `socket.data` and handshakes. */
  readonly #store: SocketStore;
  /** Engine sessions whose stored sockets are loaded in the core. */
  readonly #loaded = new Set<string>();
  /** Whether every stored socket is loaded in the core (needed by broadcasts). */
  #indexLoaded: boolean;
  /** How many times this object has started (stored). */
  readonly #wakes: number;
  /** Sockets whose JavaScript side was rebuilt from storage in this incarnation. */
  #revived = 0;
  /** The `socket.data` last saved, per stored socket. */
  readonly #savedData = new Map<string, string>();
  /** Sockets whose `data` may have changed in the current turn. */
  readonly #touched = new Set<string>();
  #dataCheckQueued = false;
  /** Whether the room changes of this turn are due to be written. */
  #roomsFlushQueued = false;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#store = new SocketStore(ctx.storage.sql);
    this.#wakes = Number(this.#store.getMeta("wakes") ?? 0) + 1;
    this.#store.setMeta("wakes", String(this.#wakes));
    if (this.#wakes > 1) console.log(`[socket.io-durable] object started (start #${this.#wakes})`);
    const core = this.core as SocketCoreLike;
    for (const [nsp, next] of this.#store.ackFloors()) core.restoreAckIds(nsp, next);
    this.#indexLoaded = !this.#store.hasSockets();
    // Queries that need every socket load the stored index first (once per start).
    const indexed = Object.create(core) as SocketCoreLike;
    indexed.broadcast = (...args) => {
      this.#ensureIndex();
      return core.broadcast(...args);
    };
    indexed.socketsIn = (...args) => {
      this.#ensureIndex();
      return core.socketsIn(...args);
    };
    indexed.roomsIn = (...args) => {
      this.#ensureIndex();
      return core.roomsIn(...args);
    };
    indexed.clientsCount = () => {
      this.restoreAll(Date.now());
      return core.clientsCount();
    };
    const host: CoreHost = {
      core: indexed,
      run: (actions) => {
        if (actions) this.run(actions);
      },
      queueFlush: () => this.queueFlush(),
      revive: (id) => {
        this.#ensureIndex();
        return this.io._socket(id) !== undefined || this.#revive(id);
      },
      storedNamespaces: () => {
        if (!this.#store.hasSockets()) return [];
        this.#ensureIndex();
        return this.#store.namespaces();
      },
    };
    const options = (this.constructor as typeof SocketIoServer).options ?? {};
    this.io = new Server(host, options);
    const ready = this.setup(this.io);
    if (ready) void ctx.blockConcurrencyWhile(() => ready);
  }

  /**
   * Registers the app's middlewares and listeners on `io`. Runs on every start of the
   * object; when it returns a promise, requests wait for it.
   */
  setup(
    _io: Server<ListenEvents, EmitEvents, ServerSideEvents, SocketData>,
  ): void | Promise<void> {}

  /** Builds the Socket.IO core. */
  protected override createCore(o: EngineOptions): EngineCoreLike {
    const s = o as ServerOptions;
    return new SocketCore({
      pingInterval: s.pingInterval,
      pingTimeout: s.pingTimeout,
      maxHttpBufferSize: s.maxHttpBufferSize,
      transports: s.transports,
      allowUpgrades: s.allowUpgrades,
      upgradeTimeout: s.upgradeTimeout,
      connectTimeout: s.connectTimeout,
    }) as unknown as SocketCoreLike;
  }

  protected override onEngineOpen(sid: string, request: Request): void {
    this.#loaded.add(sid);
    this.io._engineOpened(sid, request);
  }

  protected override onEngineClose(sid: string, _reason: EngineCloseReason): void {
    this.#loaded.delete(sid);
    this.io._engineClosed(sid);
  }

  protected override onSocketAction(action: SocketAction): void {
    switch (action.type) {
      case "store":
        this.#applyStore(action);
        return;
      case "event":
      case "ack":
      case "error":
      case "disconnect":
        if (!this.io._socket(action.socketId) && !this.#revive(action.socketId)) return;
        this.io._onAction(action);
        this.#touch(action.socketId);
        return;
      default:
        this.io._onAction(action);
    }
  }

  /** Counters for tests and monitoring: wakes, revivals, storage use. */
  override async stats(): Promise<Record<string, unknown>> {
    const base = await super.stats();
    const storage = { ...this.#store.counters };
    return {
      ...base,
      wakes: this.#wakes,
      revivedSockets: this.#revived,
      loadedConnections: this.#loaded.size,
      indexLoaded: this.#indexLoaded,
      storage,
      storedSockets: this.#store.socketCount(),
      storedRooms: this.#store.roomRowCount(),
    };
  }

  // ---- hibernation ----------------------------------------------------------------

  protected override restoreSession(now: number, att: Attachment, lazy: boolean): void {
    const expired = att.pongDeadline !== undefined && att.pongDeadline <= now;
    // The alarm restores sessions only to ping them: their sockets stay in storage
    // until the session speaks, unless it expired and its sockets must leave now.
    const rows = lazy || expired ? this.#store.socketsOf(att.sid) : [];
    if (lazy || expired) this.#loaded.add(att.sid);
    this.run(this.core.restore(now, att, rows));
  }

  protected override onSessionActive(sid: string): void {
    if (this.#loaded.has(sid) || this.#indexLoaded) return;
    this.#loaded.add(sid);
    const rows = this.#store.socketsOf(sid);
    if (rows.length > 0) (this.core as SocketCoreLike).restoreSockets(rows);
  }

  /** Loads every stored socket into the core, dropping those of vanished sessions. */
  #ensureIndex(): void {
    if (this.#indexLoaded) return;
    this.#indexLoaded = true;
    this.restoreAll(Date.now());
    const live = [];
    const gone = new Set<string>();
    for (const row of this.#store.allSockets()) {
      if (this.core.hasSession(row.sid)) live.push(row);
      // Rows of a session with no WebSocket left are orphans. Sessions loaded in this
      // incarnation that are gone are being closed: their rows leave with their
      // disconnects (the app's listeners may still need them).
      else if (!this.#loaded.has(row.sid) && this.ctx.getWebSockets(row.sid).length === 0) {
        gone.add(row.sid);
      }
    }
    for (const sid of gone) this.#store.removeConnection(sid);
    (this.core as SocketCoreLike).restoreSockets(live);
    for (const row of live) this.#loaded.add(row.sid);
  }

  /** Rebuilds the JavaScript side of a stored socket; false if it cannot be. */
  #revive(id: string): boolean {
    const record = this.#store.socket(id);
    if (!record) return false;
    let handshake: Handshake;
    let data: unknown;
    try {
      handshake = JSON.parse(record.handshake) as Handshake;
      data = JSON.parse(record.data);
    } catch {
      return false;
    }
    this.#savedData.set(id, record.data);
    const rooms = (this.core as SocketCoreLike).roomsOf(id);
    if (!this.io._revive(id, record.sid, record.nsp, handshake, data, rooms)) {
      this.run((this.core as SocketCoreLike).disconnectSocket(id, false));
      return false;
    }
    this.#revived++;
    return true;
  }

  #applyStore(a: Extract<SocketAction, { type: "store" }>): void {
    const store = this.#store;
    switch (a.op) {
      case "socketAdded": {
        const socket = this.io._socket(a.id);
        const data = stringify(socket?.data ?? {});
        store.addSocket(a.id, a.sid ?? "", a.nsp ?? "/", stringify(socket?.handshake ?? {}), data);
        this.#savedData.set(a.id, data);
        this.#touch(a.id);
        break;
      }
      case "socketRemoved":
        store.removeSocket(a.id);
        this.#savedData.delete(a.id);
        break;
      case "roomsChanged":
        this.#queueRoomsFlush();
        break;
      case "ackReserved":
        store.setMeta(`ack:${a.nsp ?? "/"}`, String(a.upTo ?? 0));
        break;
    }
  }

  /**
   * Writes the room changes the core collected, once the turn's synchronous work is over:
   * however many joins and leaves a turn makes, they reach storage together, before the
   * turn ends (so before anything it sends is let out, and before any eviction).
   */
  #queueRoomsFlush(): void {
    if (this.#roomsFlushQueued) return;
    this.#roomsFlushQueued = true;
    queueMicrotask(() => {
      this.#roomsFlushQueued = false;
      try {
        this.#store.applyRoomChanges((this.core as SocketCoreLike).takeRoomChanges());
      } catch (error) {
        logFailure("saving room changes", error);
      }
    });
  }

  /**
   * Saves `socket.data` of the sockets handled in this turn if it changed, once the
   * turn's synchronous work (listeners included) is over.
   */
  #touch(id: string): void {
    if (!this.#savedData.has(id)) return;
    this.#touched.add(id);
    if (this.#dataCheckQueued) return;
    this.#dataCheckQueued = true;
    queueMicrotask(() => {
      this.#dataCheckQueued = false;
      for (const touched of this.#touched) {
        const socket = this.io._socket(touched);
        const saved = this.#savedData.get(touched);
        if (!socket || saved === undefined || !socket.connected) continue;
        const now = stringify(socket.data ?? {});
        if (now !== saved) {
          try {
            this.#store.setData(touched, now);
            this.#savedData.set(touched, now);
          } catch (error) {
            logFailure(`saving socket.data of ${touched}`, error);
          }
        }
      }
      this.#touched.clear();
    });
  }
}

/** JSON text of a value; values JSON cannot represent are stored as `null`. */
function stringify(value: unknown): string {
  try {
    return JSON.stringify(value) ?? "null";
  } catch {
    return "null";
  }
}
