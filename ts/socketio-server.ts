/**
 * `SocketIoServer`: the Durable Object base class that user apps extend.
 *
 * ```ts
 * export class Chat extends SocketIoServer<Env, ClientToServer, ServerToClient> {
 *   static options = { pingInterval: 25_000, cors: { origin: "*" } };
 *
 *   setup(io: this["io"]) {
 *     io.on("connection", (socket) => {
 *       socket.on("say", (text, ack) => { socket.broadcast.emit("said", text); ack?.("ok"); });
 *     });
 *   }
 * }
 * ```
 */
// biome-ignore-all lint/suspicious/noExplicitAny: `SocketData` defaults to `any` as in Socket.IO

import type { ShardRequest } from "./api/cluster.js";
import { toJson } from "./api/codec.js";
import type { ServerOptions } from "./api/options.js";
import { Scheduler } from "./api/scheduler.js";
import { Server } from "./api/server.js";
import { type ServerRequest, serveServerRequest, serveShardRequest } from "./api/shard-service.js";
import type { Handshake } from "./api/socket.js";
import type { DefaultEventsMap, EventsMap } from "./api/typed-events.js";
import { debugLogs } from "./debug.js";
import { SHARDS_HEADER, shardCount, sidPrefix } from "./shards.js";
import { Core } from "./shim/core.js";
import { DRIVER, DrivenObject } from "./shim/driven-object.js";
import { EngineDriver, logFailure, type SocketAction } from "./shim/engine-driver.js";
import { resolveParser } from "./shim/parser.js";
import {
  type FoundSession,
  type KeptSession,
  RecoveryStore,
  type SocketPid,
} from "./shim/recovery.js";
import { Shards } from "./shim/shards.js";
import { SocketStore } from "./shim/store.js";
import { TaskStore } from "./shim/task-store.js";
import {
  coreOptions,
  loadCore,
  offsetFloor,
  type SessionSnapshot,
  SocketCore,
  type StoredSocketRow,
} from "./shim/wasm.js";

/**
 * A Socket.IO server in a Durable Object. Subclass it, set `static options`, and
 * register middlewares and listeners in {@link SocketIoServer.setup}.
 *
 * The event maps and the data type are written once, as type arguments of the class;
 * `setup(io: this["io"])` takes them from there (as does `this.io`, and the emitter
 * `socketIo(env.X)` of a binding typed with the class).
 *
 * `setup(io)` runs each time the object starts, and the object may be evicted from
 * memory whenever it is idle: state kept in variables of `setup` or of a `connection`
 * listener lasts only as long as the object stays in memory. Keep what must last in
 * `socket.data`, rooms, or the object's storage.
 *
 * @typeParam Env - the Worker's bindings
 * @typeParam ListenEvents - events the clients send
 * @typeParam EmitEvents - events the server sends
 * @typeParam ServerSideEvents - events between the shards of the server (`serverSideEmit`)
 * @typeParam SocketData - type of `socket.data`
 */
export class SocketIoServer<
  Env = unknown,
  ListenEvents extends EventsMap = DefaultEventsMap,
  EmitEvents extends EventsMap = ListenEvents,
  ServerSideEvents extends EventsMap = DefaultEventsMap,
  SocketData = any,
> extends DrivenObject<Env> {
  /** Server options; override in the subclass. */
  static options: ServerOptions = {};

  /** The Socket.IO server (the `io` of Socket.IO's documentation). */
  readonly io: Server<ListenEvents, EmitEvents, ServerSideEvents, SocketData>;

  readonly #driver: EngineDriver;

  protected override get [DRIVER](): EngineDriver {
    return this.#driver;
  }
  readonly #core: SocketCore;
  /** The durable copy of sockets, rooms, `socket.data` and handshakes. */
  readonly #store: SocketStore;
  /** The other shards of this server. */
  readonly #shards: Shards;
  /** The storage of connection state recovery, when it is on. */
  readonly #recovery: RecoveryStore | undefined;
  /** Sessions announced by `sessionKept`, written once their socket's listeners ran. */
  readonly #keeping = new Map<string, KeptSession>();
  /** The app's scheduled tasks (`io.schedule`), on the alarm beside the heartbeat. */
  readonly #tasks: TaskStore;
  /** Engine sessions whose stored sockets are loaded in the core. */
  readonly #loaded = new Set<string>();
  /** Whether every stored socket is loaded in the core (needed by broadcasts). */
  #indexLoaded: boolean;
  /** How many times this object has started (stored). */
  readonly #wakes: number;
  /** Sockets whose JavaScript side was rebuilt from storage in this start. */
  #rebuilt = 0;
  /** The `socket.data` last saved, per stored socket. */
  readonly #savedData = new Map<string, string>();
  /** Stored sockets whose `data` may have changed in the current turn. */
  readonly #touched = new Set<string>();
  /** Whether the room changes of this turn are due to be written. */
  #roomsChanged = false;
  /** Whether `setup()` threw or rejected: then every request is a server error. */
  #setupFailed = false;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    loadCore();
    const options = (this.constructor as typeof SocketIoServer).options ?? {};
    this.#store = new SocketStore(ctx.storage.sql);
    this.#wakes = Number(this.#store.getMeta("wakes") ?? 0) + 1;
    this.#store.setMeta("wakes", String(this.#wakes));
    if (this.#wakes > 1) console.log(`[socket.io-durable] object started (start #${this.#wakes})`);
    this.#shards = new Shards(ctx, env, this.#store, () =>
      this.#driver.turn(() => this.#driver.clientsCount()),
    );
    const core = new SocketCore({
      ...coreOptions({ ...options, parser: resolveParser(options.parser) }),
      sidPrefix: sidPrefix(this.#shards.index),
    });
    this.#core = core;
    for (const [nsp, next] of this.#store.ackFloors()) core.resumeAckIds(nsp, next);
    this.#indexLoaded = !this.#store.hasSockets();
    const logs = debugLogs(options.debug, env);
    const driver = new EngineDriver(
      ctx,
      core,
      options,
      {
        opened: (sid, request) => {
          this.#loaded.add(sid);
          this.io._engineOpened(sid, request);
        },
        closed: (sid, reason) => {
          this.#loaded.delete(sid);
          this.io._engineClosed(sid, reason);
          this.#shards.closed();
        },
        connection: (sid, transport) => this.io._engineConnection(sid, transport),
        refused: (request, body) => this.io.engine._refused(request, body),
        headers: (headers, request, initial) => this.io.engine._headers(headers, request, initial),
        upgrading: (sid) => this.io.engine._existing(sid)?._upgrading(),
        upgradeFailed: (sid) => this.io.engine._existing(sid)?._upgradeFailed(),
        upgraded: (sid) => this.io.engine._existing(sid)?._upgraded(),
        revived: (sid) => this.io.engine._revived(sid),
        socketAction: (action, binaries) => this.#onSocketAction(action, binaries),
        reviving: (att, load) => this.#reviving(att, load),
        isLoaded: (sid) => this.#indexLoaded || this.#loaded.has(sid),
        load: (sid) => this.#loadConnection(sid),
        turnEnd: () => this.#turnEnd(),
        otherRequest: (request) => this.onOtherRequest(request),
      },
      logs.engine,
    );
    this.#driver = driver;
    const window = core.recoveryWindow();
    this.#recovery =
      window === undefined
        ? undefined
        : new RecoveryStore(ctx.storage.sql, window, this.#store.counters, (at) =>
            driver.requestAlarm(at),
          );
    if (this.#recovery) driver.addAlarmWork(this.#recovery);
    this.#tasks = new TaskStore(ctx.storage.sql, this.#store.counters);
    const scheduler = new Scheduler(this.#tasks, {
      turn: (fn) => driver.turn(fn),
      requestAlarm: (at) => driver.requestAlarm(at),
    });
    driver.addAlarmWork(scheduler);
    this.io = new Server(
      new Core(core, {
        run: (actions) => driver.run(actions),
        endTurnSoon: () => driver.endTurnSoon(),
        loadIndex: () => this.#loadIndex(),
        reviveSessions: () => driver.reviveAll(Date.now()),
        rebuild: (id) => {
          this.#loadIndex();
          return this.io._socket(id) !== undefined || this.#rebuild(id);
        },
        storedNamespaces: () => {
          if (!this.#store.hasSockets()) return [];
          this.#loadIndex();
          return this.#store.namespaces();
        },
        dataTouched: (id) => {
          if (this.#savedData.has(id)) {
            this.#touched.add(id);
            driver.endTurnSoon();
          }
        },
        findSession: (pid, offset) => this.#findSession(pid, offset),
        forgetSession: (pid) => this.#recovery?.forget(pid),
        tapPackets: (tap) => {
          driver.packetTap = tap;
        },
      }),
      options,
      this.#shards,
      logs.socket,
      scheduler,
    );
    const ready = this.#startSetup();
    if (ready) {
      // Handled at once: the runtime may run the callback later than the rejection.
      const started = ready.then(undefined, (error: unknown) => this.#failSetup(error));
      void ctx.blockConcurrencyWhile(() => started);
    }
  }

  /** Runs `setup()`; what it throws is a failed setup. */
  #startSetup(): void | Promise<void> {
    try {
      return this.setup(this.io);
    } catch (error) {
      this.#failSetup(error);
    }
  }

  /**
   * `setup()` failed: logged once; until the object restarts every request is answered
   * `500 Internal Server Error` and every message closes its WebSocket (1011).
   */
  #failSetup(error: unknown): void {
    this.#setupFailed = true;
    console.error(
      "socket.io-durable: setup() failed; requests are answered 500 until the object restarts:",
      error,
    );
  }

  /**
   * The server's name: the `name` its router chose (`"default"` unless partitioned),
   * the same on every shard; `undefined` for an object that was reached by an id not
   * made from a name.
   */
  get name(): string | undefined {
    return this.#shards.server;
  }

  /**
   * Registers the app's middlewares and listeners on `io`. Runs on every start of the
   * object; when it returns a promise, requests wait for it.
   *
   * Override it as `setup(io: this["io"])`: TypeScript gives an overriding method's
   * parameters no type from the base class, and `this["io"]` is the server typed with
   * the class's type arguments. A `Server` of other type arguments (an untyped `Server`
   * in a typed class) does not compile.
   */
  setup(_io: this["io"]): void | Promise<void> {}

  /**
   * Requests routed by `routeSocketIo`; the shard count the router states is learned
   * first.
   */
  override fetch(request: Request): Promise<Response> {
    if (this.#setupFailed) {
      return Promise.resolve(
        new Response("Internal Server Error", {
          status: 500,
          headers: { "Content-Type": "text/plain; charset=utf-8" },
        }),
      );
    }
    const count = request.headers.get(SHARDS_HEADER);
    if (count !== null) {
      const learning = this.#shards.learn(shardCount(count));
      if (learning) return learning.then(() => super.fetch(request));
    }
    return super.fetch(request);
  }

  override webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    if (this.#setupFailed) {
      try {
        ws.close(1011, "Internal Error");
      } catch {
        // already closing
      }
      return Promise.resolve();
    }
    return super.webSocketMessage(ws, message);
  }

  override alarm(): Promise<void> {
    if (this.#setupFailed) return Promise.resolve();
    return super.alarm();
  }

  /**
   * RPC from another shard of this server: a broadcast, a query or a room change for
   * the sockets of this shard. Not for app code (use `socketIo(env.X)`).
   */
  async socketIoShard(request: ShardRequest): Promise<unknown> {
    return this.#driver.turn(() => serveShardRequest(this.io, request));
  }

  /**
   * RPC to shard 0 from another shard: its router routes to `count` shards, or (when
   * the shard is beyond that count) its last session closed.
   */
  async socketIoShards(count: number): Promise<void> {
    this.#shards.heard(shardCount(count));
  }

  /**
   * RPC from shard 0: broadcasts reach `reach` shards, the router routes to `routed`.
   * Answers this shard's session count when it is beyond `routed` (it drains), else 0.
   */
  async socketIoShardsReach(reach: number, routed: number): Promise<number> {
    return this.#shards.told(shardCount(reach), shardCount(routed));
  }

  /**
   * RPC from the emitter (`socketIo(env.X)`): carried out on every shard of the
   * server, from this one.
   */
  async socketIoServer(request: ServerRequest): Promise<unknown> {
    return this.#driver.turn(() => serveServerRequest(this.io, request));
  }

  /** Requests outside the Engine.IO path; 404 unless overridden. */
  protected onOtherRequest(_request: Request): Response | Promise<Response> {
    return new Response("Not found", { status: 404 });
  }

  /** Counters for tests and monitoring: wakes, revivals, storage use, stored tasks. */
  async stats(): Promise<Record<string, unknown>> {
    const clientsCount = this.#driver.turn(() => this.#driver.clientsCount());
    const storage = { ...this.#store.counters };
    return {
      clientsCount,
      shard: this.#shards.index,
      shards: this.#shards.count,
      shardsRouted: this.#shards.routed,
      wakes: this.#wakes,
      revivedSockets: this.#rebuilt,
      loadedConnections: this.#loaded.size,
      indexLoaded: this.#indexLoaded,
      storage,
      storedSockets: this.#store.socketCount(),
      storedRooms: this.#store.roomRowCount(),
      recovery: this.#recovery?.counts(),
      scheduledTasks: this.#tasks.count(),
    };
  }

  // ---- actions of the Socket.IO layer ---------------------------------------------

  #onSocketAction(action: SocketAction, binaries: Uint8Array[]): void {
    const store = this.#store;
    switch (action.type) {
      case "socketAdded": {
        const socket = this.io._socket(action.id);
        const data = toJson(socket?._rawData() ?? {});
        store.addSocket(action.id, action.sid, action.nsp, toJson(socket?.handshake ?? {}), data);
        this.#savedData.set(action.id, data);
        if (socket?._pid) {
          this.#recovery?.setPid(action.id, { pid: socket._pid, since: socket._since });
        }
        return;
      }
      case "socketRemoved":
        store.removeSocket(action.id);
        this.#recovery?.removePid(action.id);
        this.#savedData.delete(action.id);
        this.#touched.delete(action.id);
        return;
      case "packetStored":
        this.#recovery?.storePacket(
          action.offset,
          action.nsp,
          action.rooms,
          action.except,
          action.data,
          action.binaries?.map((i) => binaries[i] ?? new Uint8Array(0)),
        );
        return;
      case "sessionKept": {
        // Written after the socket's `disconnecting` and `disconnect` listeners ran, with
        // the `socket.data` they leave (Socket.IO saves it after `disconnecting`).
        const socket = this.io._socket(action.id);
        const p = socket?._pid
          ? { pid: socket._pid, since: socket._since }
          : this.#recovery?.pidOf(action.id);
        if (p) this.#keeping.set(action.id, { ...action, pid: p.pid, since: p.since, data: "" });
        return;
      }
      case "roomsChanged":
        this.#roomsChanged = true;
        this.#driver.endTurnSoon();
        return;
      case "ackReserved":
        store.setMeta(`ack:${action.nsp}`, String(action.upTo));
        return;
      case "event":
      case "ack":
      case "error":
      case "disconnect": {
        const id = action.socketId;
        const known = this.io._socket(id) ?? (this.#rebuild(id) ? this.io._socket(id) : undefined);
        if (!known) {
          if (action.type === "disconnect") this.#keep(id, undefined);
          return;
        }
        this.io._onAction(action, binaries);
        if (action.type === "disconnect") this.#keep(id, known);
        // A socket's own listeners may change its data in place, through a reference
        // kept since it was handed out.
        if (this.#savedData.has(action.socketId)) {
          const socket = this.io._socket(action.socketId);
          if (socket?._dataExposed()) this.#touched.add(action.socketId);
        }
        return;
      }
      default:
        this.io._onAction(action, binaries);
    }
  }

  /**
   * The end of a turn: the room changes the core collected and the `socket.data` that
   * changed reach storage together, before anything the turn sent is let out (the
   * output gate) and before any eviction.
   */
  #turnEnd(): void {
    if (this.#roomsChanged) {
      this.#roomsChanged = false;
      try {
        this.#store.applyRoomChanges(this.#core.takeRoomChanges());
      } catch (error) {
        logFailure("saving room changes", error);
      }
    }
    if (this.#touched.size === 0) return;
    for (const id of this.#touched) {
      const socket = this.io._socket(id);
      const saved = this.#savedData.get(id);
      if (!socket?._dataExposed() || saved === undefined) continue;
      const now = toJson(socket._rawData() ?? {});
      if (now === saved) continue;
      try {
        this.#store.setData(id, now);
        this.#savedData.set(id, now);
      } catch (error) {
        logFailure(`saving socket.data of ${id}`, error);
      }
    }
    this.#touched.clear();
  }

  // ---- hibernation ----------------------------------------------------------------
  // The driver revives engine sessions; this layer then loads the sockets it stored
  // (into the core) and rebuilds their JavaScript side on first use.

  /**
   * The stored sockets to revive with session `att.sid`. The alarm revives sessions only
   * to ping them (`load` false): their sockets stay in storage until the session speaks.
   */
  #reviving(att: SessionSnapshot, load: boolean): StoredSocketRow[] {
    if (!load) return [];
    this.#loaded.add(att.sid);
    return this.#store.socketsOf(att.sid);
  }

  /** Session `sid` is about to be used: its stored sockets must be in the core. */
  #loadConnection(sid: string): void {
    this.#loaded.add(sid);
    const rows = this.#store.socketsOf(sid);
    if (rows.length > 0) this.#core.loadSockets(rows);
  }

  /** Loads every stored socket into the core, dropping those of vanished sessions. */
  #loadIndex(): void {
    if (this.#indexLoaded) return;
    this.#indexLoaded = true;
    this.#driver.reviveAll(Date.now());
    const live = [];
    const gone = new Set<string>();
    for (const row of this.#store.allSockets()) {
      if (this.#core.hasSession(row.sid)) live.push(row);
      // Rows of a session with no WebSocket left are orphans. Sessions loaded in this
      // start that are gone are being closed: their rows leave with their disconnects
      // (the app's listeners may still need them).
      else if (!this.#loaded.has(row.sid) && this.ctx.getWebSockets(row.sid).length === 0) {
        gone.add(row.sid);
      }
    }
    for (const sid of gone) {
      // With recovery on, their sockets may come back: their sessions are kept.
      if (this.#recovery) for (const row of this.#store.socketsOf(sid)) this.#keepOrphan(row);
      this.#store.removeConnection(sid);
    }
    this.#core.loadSockets(live);
    for (const row of live) this.#loaded.add(row.sid);
  }

  // ---- connection state recovery --------------------------------------------------

  /** Writes the kept session of socket `id` (announced by `sessionKept`), if any. */
  #keep(id: string, socket: { _rawData(): unknown } | undefined): void {
    const pending = this.#keeping.get(id);
    if (!pending) return;
    this.#keeping.delete(id);
    const data = socket ? toJson(socket._rawData() ?? {}) : this.#storedData(id);
    this.#recovery?.keepSession({ ...pending, data });
  }

  /** The `socket.data` last saved of stored socket `id`, as JSON. */
  #storedData(id: string): string {
    return this.#savedData.get(id) ?? this.#store.socket(id)?.data ?? "{}";
  }

  /**
   * The kept session `pid`, with the events stored after `offset`: kept here, or on
   * another shard (asked over RPC; then this shard's own events from the moment it
   * asked are added, and the socket keeps that moment as its `since`).
   */
  #findSession(pid: string, offset: number): FoundSession | null | Promise<FoundSession | null> {
    const recovery = this.#recovery;
    if (!recovery) return null;
    const here = this.#findHere(pid, offset);
    if (here || this.#shards.others().length === 0) return here;
    const since = offsetFloor(Date.now());
    return this.#shards.takeSession(pid, offset).then((found) => {
      if (!found) return null;
      const own = this.#driver.turn(() => recovery.from(found.session.nsp, since));
      return { ...found, after: [...found.after, ...own], since };
    });
  }

  /**
   * The kept session `pid` of this shard. A stored socket whose connection vanished
   * without a close (the object restarted under it, as in a deploy) is kept first, as if
   * it had just lost its connection.
   */
  #findHere(pid: string, offset: number): FoundSession | null {
    const recovery = this.#recovery;
    if (!recovery) return null;
    const now = Date.now();
    const found = recovery.find(pid, offset, now);
    if (found) return found;
    const stored = recovery.socketOfPid(pid);
    const record = stored === undefined ? null : this.#store.socket(stored.id);
    if (!stored || !record || this.#core.hasSession(record.sid)) return null;
    if (this.ctx.getWebSockets(record.sid).length > 0) return null;
    const row = this.#store.socketsOf(record.sid).find((r) => r.id === record.id);
    if (!row) return null;
    this.#keepOrphan(row, stored, record.data);
    this.#store.removeSocket(row.id);
    return recovery.find(pid, offset, now);
  }

  /**
   * RPC from another shard (connection state recovery): the kept session `pid` if this
   * shard has it, handed over (its row goes).
   */
  async socketIoTakeSession(pid: string, offset: number): Promise<FoundSession | null> {
    return this.#driver.turn(() => {
      const found = this.#findHere(pid, offset);
      if (found) this.#recovery?.forget(pid);
      return found;
    });
  }

  /**
   * Keeps the session of a stored socket whose connection vanished in a restart (its pid
   * and data read from storage unless given).
   */
  #keepOrphan(row: StoredSocketRow, p?: SocketPid, data?: string): void {
    const recovery = this.#recovery;
    const known = p ?? recovery?.pidOf(row.id);
    if (!recovery || !known) return;
    recovery.keepSession({
      id: row.id,
      pid: known.pid,
      since: known.since,
      nsp: row.nsp,
      rooms: [row.id, ...row.rooms],
      data: data ?? this.#storedData(row.id),
      at: Date.now(),
    });
    recovery.removePid(row.id);
  }

  /** Rebuilds the JavaScript side of a stored socket; false if it cannot be. */
  #rebuild(id: string): boolean {
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
    const rooms = this.#core.roomsOf(id);
    if (!this.io._rebuild(id, record.sid, record.nsp, handshake, data, rooms)) {
      this.#driver.run(this.#core.disconnectSocket(id, false));
      return false;
    }
    this.#rebuilt++;
    return true;
  }
}
