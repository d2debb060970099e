/**
 * `Server` (`io`): the entry point of the app-facing API. It owns the namespaces and
 * turns the socket actions of the core into calls on them.
 */
// biome-ignore-all lint/suspicious/noExplicitAny: `SocketData` defaults to `any` as in Socket.IO

import type { DebugLog } from "../debug.js";
import type { Core } from "../shim/core.js";
import type { EngineCloseReason, SocketAction } from "../shim/engine-driver.js";
import type { BroadcastOperator, RemoteSocket } from "./broadcast-operator.js";
import { NO_SHARDS, type ShardLink } from "./cluster.js";
import { authOf, encode, withAttachments } from "./codec.js";
import { type Listener, reportError, TypedEmitter } from "./emitter.js";
import { Engine, type TransportName } from "./engine.js";
import { type HandshakeBase, handshakeOf, unknownHandshake } from "./handshake.js";
import {
  Namespace,
  type NamespaceMiddleware,
  ParentNamespace,
  type ServerReservedEvents,
} from "./namespace.js";
import type { ServerOptions } from "./options.js";
import type { ScheduledTask, ScheduleOptions, Scheduler, TaskHandler } from "./scheduler.js";
import type { Handshake, Socket } from "./socket.js";
import type {
  AllButLast,
  DecorateAcknowledgements,
  DecorateAcknowledgementsWithMultipleResponses,
  DefaultEventsMap,
  EventNames,
  EventNamesWithAck,
  EventNamesWithoutAck,
  EventParams,
  EventsMap,
  FirstNonErrorArg,
  Last,
  ReservedOrUserEventNames,
  ReservedOrUserListener,
} from "./typed-events.js";

/**
 * Decides whether a namespace that does not exist yet may be created for a client:
 * call `next(null, true)` to accept.
 */
export type ParentNspNameMatchFn = (
  name: string,
  auth: { [key: string]: any },
  next: (err: Error | null, success: boolean) => void,
) => void;

/** What the app can see of the Engine.IO layer: `io.engine` (see {@link Engine}). */
export type EngineInfo = Engine;

/** The emitter methods the server forwards to its main namespace. */
interface UntypedEmitter {
  on(ev: string | symbol, listener: Listener): unknown;
  once(ev: string | symbol, listener: Listener): unknown;
  prependListener(ev: string | symbol, listener: Listener): unknown;
  prependOnceListener(ev: string | symbol, listener: Listener): unknown;
  off(ev: string | symbol, listener?: Listener): unknown;
  removeAllListeners(ev?: string | symbol): unknown;
  listeners(ev: string | symbol): Listener[];
  listenerCount(ev: string | symbol): number;
  eventNames(): (string | symbol)[];
}

const INVALID_NAMESPACE = JSON.stringify({ message: "Invalid namespace" });

/** The event names of the main namespace that `Server`'s listener methods take. */
type MainEventNames<
  L extends EventsMap,
  E extends EventsMap,
  S extends EventsMap,
  D,
> = ReservedOrUserEventNames<ServerReservedEvents<L, E, S, D>, S>;

/** The listener of event `Ev` of the main namespace. */
type MainListener<
  L extends EventsMap,
  E extends EventsMap,
  S extends EventsMap,
  D,
  Ev extends MainEventNames<L, E, S, D>,
> = ReservedOrUserListener<ServerReservedEvents<L, E, S, D>, S, Ev>;

/**
 * The Socket.IO server of a `SocketIoServer` object, handed to `setup(io)`. The
 * methods shared with {@link Namespace} (`on("connection")`, `use`, `emit`, `to`, ...)
 * act on the main namespace `/`.
 */
export class Server<
  ListenEvents extends EventsMap = DefaultEventsMap,
  EmitEvents extends EventsMap = ListenEvents,
  ServerSideEvents extends EventsMap = DefaultEventsMap,
  SocketData = any,
> extends TypedEmitter<
  ServerSideEvents,
  ServerReservedEvents<ListenEvents, EmitEvents, ServerSideEvents, SocketData>
> {
  /**
   * Type-only, never set: ties the type to its event maps and data both ways, so that
   * a `Server` of other maps (an untyped `Server` too) is not taken for this one, nor
   * this one for it: `setup(io: Server)` in a typed class is a type error instead of a
   * server that accepts any emit. `Server<any, any, any, any>` takes any server.
   */
  declare readonly "~eventMaps"?: (
    maps: [ListenEvents, EmitEvents, ServerSideEvents, SocketData],
  ) => [ListenEvents, EmitEvents, ServerSideEvents, SocketData];
  /** The main namespace, `/`. */
  readonly sockets: Namespace<ListenEvents, EmitEvents, ServerSideEvents, SocketData>;
  /**
   * The Engine.IO layer: `clientsCount`, engine.io's events (`connection`,
   * `connection_error`, `initial_headers`, `headers`) and each session's object.
   */
  readonly engine: Engine;

  /** @internal */
  readonly _core: Core;
  /** The server's other shards. @internal */
  readonly _shards: ShardLink;
  /** The `socket.io-durable:socket` debug log, when it is on. @internal */
  readonly _debug: DebugLog | undefined;
  /** The concrete namespaces, by name. @internal */
  readonly _nsps = new Map<
    string,
    Namespace<ListenEvents, EmitEvents, ServerSideEvents, SocketData>
  >();
  /** @internal */
  readonly _cleanupEmptyChildNamespaces: boolean;
  /** Whether a recovered socket skips the middlewares (connection state recovery). @internal */
  readonly _skipMiddlewaresOnRecovery: boolean;

  readonly #parents = new Map<
    ParentNspNameMatchFn,
    ParentNamespace<ListenEvents, EmitEvents, ServerSideEvents, SocketData>
  >();
  readonly #parentsByRegExp = new Map<
    RegExp,
    ParentNamespace<ListenEvents, EmitEvents, ServerSideEvents, SocketData>
  >();
  #parentCount = 0;
  /** Every connected socket, by id. */
  readonly #byId = new Map<
    string,
    Socket<ListenEvents, EmitEvents, ServerSideEvents, SocketData>
  >();
  /** Handshake details of the open engine sessions. */
  readonly #handshakes = new Map<string, HandshakeBase>();
  /** The object's scheduled tasks. */
  readonly #scheduler: Scheduler | undefined;

  /** @internal */
  constructor(
    core: Core,
    options: ServerOptions = {},
    shards: ShardLink = NO_SHARDS,
    debug?: DebugLog,
    scheduler?: Scheduler,
  ) {
    super();
    this._core = core;
    this.#scheduler = scheduler;
    this._debug = debug;
    this._shards = shards;
    this._cleanupEmptyChildNamespaces = options.cleanupEmptyChildNamespaces === true;
    this._skipMiddlewaresOnRecovery = options.connectionStateRecovery?.skipMiddlewares !== false;
    let tapped = false;
    this.engine = new Engine(
      {
        handshakeOf: (sid) => this.#handshakes.get(sid),
        close: (sid) => core.closeConnection(sid),
        watchPackets: () => {
          if (tapped) return;
          tapped = true;
          core.tapPackets({
            received: (sid, data, polling) => this.engine._existing(sid)?._received(data, polling),
            sent: (sid, data, polling) => this.engine._existing(sid)?._sent(data, polling),
          });
        },
      },
      () => core.clientsCount(),
    );
    this.sockets = this.of("/");
  }

  // ---- namespaces -----------------------------------------------------------------

  /**
   * The namespace `name` (created on first use; `/` is added in front when missing).
   * With a RegExp or a function, a parent namespace: namespaces that clients ask for
   * and that match are created on demand, with the parent's middlewares and
   * `connection` listeners. `fn`, when given, is added as a `connection` listener.
   */
  of(
    name: string | RegExp | ParentNspNameMatchFn,
    fn?: (socket: Socket<ListenEvents, EmitEvents, ServerSideEvents, SocketData>) => void,
  ): Namespace<ListenEvents, EmitEvents, ServerSideEvents, SocketData> {
    if (typeof name === "function" || name instanceof RegExp) {
      const parent = new ParentNamespace<ListenEvents, EmitEvents, ServerSideEvents, SocketData>(
        this,
        `/_${this.#parentCount++}`,
      );
      if (typeof name === "function") {
        this.#parents.set(name, parent);
      } else {
        const re = name;
        this.#parents.set((n, _auth, next) => next(null, testRegExp(re, n)), parent);
        this.#parentsByRegExp.set(re, parent);
      }
      if (fn) parent.on("connect", fn);
      return parent;
    }
    const full = name.startsWith("/") ? name : `/${name}`;
    let nsp = this._nsps.get(full);
    if (!nsp) {
      for (const [re, parent] of this.#parentsByRegExp) {
        if (testRegExp(re, full)) {
          nsp = parent._createChild(full);
          break;
        }
      }
    }
    if (!nsp) {
      nsp = new Namespace(this, full);
      this._nsps.set(full, nsp);
      if (full !== "/") this.sockets._emitNewNamespace(nsp);
    }
    if (fn) nsp.on("connect", fn);
    return nsp;
  }

  // ---- listeners: those of the main namespace -------------------------------------

  /**
   * Adds a listener on the main namespace: `connection` (a socket connected) or
   * `new_namespace` (a namespace was created).
   */
  override on<Ev extends MainEventNames<ListenEvents, EmitEvents, ServerSideEvents, SocketData>>(
    ev: Ev,
    listener: MainListener<ListenEvents, EmitEvents, ServerSideEvents, SocketData, Ev>,
  ): this {
    this.#main().on(ev, listener as Listener);
    return this;
  }

  override once<Ev extends MainEventNames<ListenEvents, EmitEvents, ServerSideEvents, SocketData>>(
    ev: Ev,
    listener: MainListener<ListenEvents, EmitEvents, ServerSideEvents, SocketData, Ev>,
  ): this {
    this.#main().once(ev, listener as Listener);
    return this;
  }

  override off<Ev extends MainEventNames<ListenEvents, EmitEvents, ServerSideEvents, SocketData>>(
    ev: Ev,
    listener?: MainListener<ListenEvents, EmitEvents, ServerSideEvents, SocketData, Ev>,
  ): this {
    this.#main().off(ev, listener as Listener | undefined);
    return this;
  }

  override prependListener<
    Ev extends MainEventNames<ListenEvents, EmitEvents, ServerSideEvents, SocketData>,
  >(
    ev: Ev,
    listener: MainListener<ListenEvents, EmitEvents, ServerSideEvents, SocketData, Ev>,
  ): this {
    this.#main().prependListener(ev, listener as Listener);
    return this;
  }

  override prependOnceListener<
    Ev extends MainEventNames<ListenEvents, EmitEvents, ServerSideEvents, SocketData>,
  >(
    ev: Ev,
    listener: MainListener<ListenEvents, EmitEvents, ServerSideEvents, SocketData, Ev>,
  ): this {
    this.#main().prependOnceListener(ev, listener as Listener);
    return this;
  }

  override removeAllListeners(
    ev?: ReservedOrUserEventNames<
      ServerReservedEvents<ListenEvents, EmitEvents, ServerSideEvents, SocketData>,
      ServerSideEvents
    >,
  ): this {
    this.#main().removeAllListeners(ev);
    return this;
  }

  override listeners<
    Ev extends MainEventNames<ListenEvents, EmitEvents, ServerSideEvents, SocketData>,
  >(
    ev: Ev,
  ): ReservedOrUserListener<
    ServerReservedEvents<ListenEvents, EmitEvents, ServerSideEvents, SocketData>,
    ServerSideEvents,
    Ev
  >[] {
    return this.#main().listeners(ev) as never[];
  }

  override listenerCount(
    ev: ReservedOrUserEventNames<
      ServerReservedEvents<ListenEvents, EmitEvents, ServerSideEvents, SocketData>,
      ServerSideEvents
    >,
  ): number {
    return this.#main().listenerCount(ev);
  }

  override eventNames(): (string | symbol)[] {
    return this.#main().eventNames();
  }

  /** The main namespace seen as an untyped emitter. */
  #main(): UntypedEmitter {
    return this.sockets as unknown as UntypedEmitter;
  }

  /** The main namespace without its event typing. */
  #loose(): Namespace {
    return this.sockets as unknown as Namespace;
  }

  // ---- the main namespace's API ---------------------------------------------------

  /** Adds a middleware to the main namespace (see {@link Namespace.use}). */
  use(fn: NamespaceMiddleware<ListenEvents, EmitEvents, ServerSideEvents, SocketData>): this {
    this.sockets.use(fn);
    return this;
  }

  /** Targets room(s) of the main namespace. */
  to(
    room: string | string[],
  ): BroadcastOperator<DecorateAcknowledgementsWithMultipleResponses<EmitEvents>, SocketData> {
    return this.sockets.to(room);
  }

  /** Same as {@link to}. */
  in(
    room: string | string[],
  ): BroadcastOperator<DecorateAcknowledgementsWithMultipleResponses<EmitEvents>, SocketData> {
    return this.sockets.in(room);
  }

  /** Targets every socket of the main namespace but those in room(s). */
  except(
    room: string | string[],
  ): BroadcastOperator<DecorateAcknowledgementsWithMultipleResponses<EmitEvents>, SocketData> {
    return this.sockets.except(room);
  }

  /** Sends an event to every socket of the main namespace. */
  emit<Ev extends EventNamesWithoutAck<EmitEvents>>(
    ev: Ev,
    ...args: EventParams<EmitEvents, Ev>
  ): boolean {
    return this.#loose().emit(ev as string, ...(args as unknown[]));
  }

  /** Sends an event to every socket of the main namespace and gathers their answers. */
  emitWithAck<Ev extends EventNamesWithAck<EmitEvents>>(
    ev: Ev,
    ...args: AllButLast<EventParams<EmitEvents, Ev>>
  ): Promise<FirstNonErrorArg<Last<EventParams<EmitEvents, Ev>>>[]> {
    return this.#loose().emitWithAck(ev as string, ...(args as unknown[])) as Promise<never[]>;
  }

  /** Sends a `message` event to every socket of the main namespace. */
  send(...args: EventParams<EmitEvents, "message">): this {
    this.sockets.send(...args);
    return this;
  }

  /** Same as {@link send}. */
  write(...args: EventParams<EmitEvents, "message">): this {
    this.sockets.send(...args);
    return this;
  }

  /** Waits at most `ms` for the acknowledgements of the next emit. */
  timeout(
    ms: number,
  ): BroadcastOperator<
    DecorateAcknowledgements<DecorateAcknowledgementsWithMultipleResponses<EmitEvents>>,
    SocketData
  > {
    return this.sockets.timeout(ms);
  }

  /** The next emit may be dropped for clients that cannot take it right now. */
  get volatile(): BroadcastOperator<
    DecorateAcknowledgementsWithMultipleResponses<EmitEvents>,
    SocketData
  > {
    return this.sockets.volatile;
  }

  /** Only this server (one object is the whole server: same as no flag). */
  get local(): BroadcastOperator<
    DecorateAcknowledgementsWithMultipleResponses<EmitEvents>,
    SocketData
  > {
    return this.sockets.local;
  }

  /** Accepted for compatibility; compression is up to the runtime. */
  compress(
    compress: boolean,
  ): BroadcastOperator<DecorateAcknowledgementsWithMultipleResponses<EmitEvents>, SocketData> {
    return this.sockets.compress(compress);
  }

  /** The sockets of the main namespace. */
  fetchSockets(): Promise<RemoteSocket<EmitEvents, SocketData>[]> {
    return this.sockets.fetchSockets();
  }

  /** Ids of the sockets of the main namespace (prefer {@link fetchSockets}). */
  allSockets(): Promise<Set<string>> {
    return this.sockets.allSockets();
  }

  /** Makes every socket of the main namespace join room(s). */
  socketsJoin(room: string | string[]): void {
    this.sockets.socketsJoin(room);
  }

  /** Makes every socket of the main namespace leave room(s). */
  socketsLeave(room: string | string[]): void {
    this.sockets.socketsLeave(room);
  }

  /** Disconnects every socket of the main namespace; with `close`, their connections. */
  disconnectSockets(close = false): void {
    this.sockets.disconnectSockets(close);
  }

  /**
   * Sends an event to the `io.on(ev)` listeners of every other shard of the server
   * (see {@link Namespace.serverSideEmit}).
   */
  serverSideEmit<Ev extends EventNames<ServerSideEvents>>(
    ev: Ev,
    ...args: EventParams<ServerSideEvents, Ev>
  ): boolean {
    return this.#loose().serverSideEmit(ev as string, ...(args as unknown[]));
  }

  /**
   * Sends an event to the `io.on(ev)` listeners of every other shard and resolves with
   * one answer per shard (see {@link Namespace.serverSideEmitWithAck}).
   */
  serverSideEmitWithAck<Ev extends EventNamesWithAck<ServerSideEvents>>(
    ev: Ev,
    ...args: AllButLast<EventParams<ServerSideEvents, Ev>>
  ): Promise<FirstNonErrorArg<Last<EventParams<ServerSideEvents, Ev>>>[]> {
    return this.#loose().serverSideEmitWithAck(ev as string, ...(args as unknown[])) as Promise<
      never[]
    >;
  }

  // ---- scheduled tasks --------------------------------------------------------------

  /**
   * Registers the handler of the scheduled tasks named `name` (one per name; a second
   * registration replaces the first). Register handlers in `setup(io)`: they live in
   * memory and `setup` runs again on every start. The handler gets the task's payload
   * and the task; it may be async. What it throws or rejects with is logged, and the
   * task is not run again for that time.
   */
  onSchedule<Payload = any>(name: string, handler: TaskHandler<Payload>): this {
    this.#tasks().on(name, handler as TaskHandler);
    return this;
  }

  /**
   * Schedules a task of this object: its handler (see {@link onSchedule}) runs with
   * `payload` at `when.at`, after `when.delay` ms, and/or every `when.every` ms. The task
   * is stored (one row; `payload` as JSON) and survives the object's eviction. With
   * `when.id`, the task of that id is replaced; without, a new task with a new id is
   * added. Returns the task as stored.
   */
  schedule<Payload = any>(
    name: string,
    when: ScheduleOptions,
    payload?: Payload,
  ): ScheduledTask<Payload> {
    return this.#tasks().schedule(name, when, payload) as ScheduledTask<Payload>;
  }

  /** The tasks of this object (those named `name`, if given), soonest first. */
  schedules(name?: string): ScheduledTask[] {
    return this.#tasks().list(name);
  }

  /** Cancels the task `id`; whether there was one. */
  cancelSchedule(id: string): boolean {
    return this.#tasks().cancel(id);
  }

  /** Cancels every task named `name`; how many there were. */
  cancelSchedules(name: string): number {
    return this.#tasks().cancelNamed(name);
  }

  #tasks(): Scheduler {
    if (!this.#scheduler) throw new Error("this server has no scheduler");
    return this.#scheduler;
  }

  // ---- driven by the Durable Object -----------------------------------------------

  /** Engine session `sid` opened with `request`. @internal */
  _engineOpened(sid: string, request: Request): void {
    try {
      this.#handshakes.set(sid, handshakeOf(request));
    } catch (e) {
      reportError(e);
    }
  }

  /** The handshake of engine session `sid` was answered. @internal */
  _engineConnection(sid: string, transport: TransportName): void {
    this.engine._opened(sid, transport);
  }

  /** Engine session `sid` closed. @internal */
  _engineClosed(sid: string, reason: EngineCloseReason): void {
    this.engine._closed(sid, reason);
    this.#handshakes.delete(sid);
  }

  /**
   * The namespace of this name, concrete or parent, if this start has it (child
   * namespaces of stored sockets are recreated first). @internal
   */
  _namespaceNamed(
    name: string,
  ): Namespace<ListenEvents, EmitEvents, ServerSideEvents, SocketData> | undefined {
    for (const parent of this.#parents.values()) if (parent.name === name) return parent;
    const nsp = this._nsps.get(name);
    if (nsp) return nsp;
    this._rebuildChildren();
    return this._nsps.get(name);
  }

  /** The socket with this id, if its JavaScript side exists. @internal */
  _socket(id: string): Socket<ListenEvents, EmitEvents, ServerSideEvents, SocketData> | undefined {
    return this.#byId.get(id);
  }

  /**
   * Rebuilds the JavaScript side of a socket the core knows from storage (after the
   * object was evicted): `recovered` is true, middlewares do not run again, the
   * `connection` listeners do. Returns false when its namespace no longer exists.
   * @internal
   */
  _rebuild(
    id: string,
    sid: string,
    nspName: string,
    handshake: Handshake,
    data: unknown,
    rooms: string[],
  ): boolean {
    if (this.#byId.has(id)) return true;
    const nsp = this._nsps.get(nspName) ?? this.#parentSync(nspName, handshake.auth);
    if (!nsp) return false;
    if (!this.#handshakes.has(sid)) {
      const { auth: _auth, ...base } = handshake;
      this.#handshakes.set(sid, base as HandshakeBase);
    }
    nsp._rebuild(sid, id, handshake, data, rooms);
    return true;
  }

  #childrenRebuilt = false;

  /**
   * Recreates the child namespaces of stored sockets (after an eviction), so that an
   * emit on a parent namespace reaches children whose sockets have not spoken yet.
   * @internal
   */
  _rebuildChildren(): void {
    if (this.#childrenRebuilt) return;
    this.#childrenRebuilt = true;
    for (const name of this._core.storedNamespaces()) {
      if (!this._nsps.has(name)) this.#parentSync(name, {});
    }
  }

  /** A parent namespace that accepts `name` without waiting, creating the child. */
  #parentSync(
    name: string,
    auth: Record<string, unknown>,
  ): Namespace<ListenEvents, EmitEvents, ServerSideEvents, SocketData> | null {
    let found: Namespace<ListenEvents, EmitEvents, ServerSideEvents, SocketData> | null = null;
    let answered = false;
    this.#findParent(name, auth, (nsp) => {
      answered = true;
      found = nsp;
    });
    return answered ? found : null;
  }

  /** A socket connected. @internal */
  _track(socket: Socket<ListenEvents, EmitEvents, ServerSideEvents, SocketData>): void {
    this.#byId.set(socket.id, socket);
  }

  /** A socket left. @internal */
  _untrack(socket: Socket<ListenEvents, EmitEvents, ServerSideEvents, SocketData>): void {
    if (this.#byId.get(socket.id) === socket) this.#byId.delete(socket.id);
  }

  /** Carries out a socket action of the core. @internal */
  _onAction(action: SocketAction, binaries: Uint8Array[]): void {
    try {
      switch (action.type) {
        case "connect":
          this.#onConnect(action.sid, action.nsp, authOf(action.auth));
          break;
        case "event":
          this.#onEvent(action.socketId, action.args, action.ackId, attachments(action, binaries));
          break;
        case "ack":
          this.#onAck(action.socketId, action.id, action.args, attachments(action, binaries));
          break;
        case "error":
          this.#byId.get(action.socketId)?._onError(new Error(action.message));
          break;
        case "closeConnection":
          this._core.closeConnection(action.sid);
          break;
        case "disconnect": {
          const socket = this.#byId.get(action.socketId);
          this._debug?.(
            `socket ${action.socketId} disconnected from ${socket?.nsp.name ?? "?"} (${action.reason})`,
          );
          socket?._onClose(action.reason);
          break;
        }
      }
    } catch (e) {
      reportError(e);
    }
  }

  #onConnect(sid: string, name: string, auth: Record<string, unknown>): void {
    const handshake = this.#handshakes.get(sid) ?? unknownHandshake();
    const nsp = this._nsps.get(name);
    if (nsp) {
      nsp._add(sid, auth, handshake);
      return;
    }
    this.#findParent(name, auth, (found) => {
      if (found) {
        found._add(sid, auth, handshake);
        return;
      }
      this._debug?.(`connection of session ${sid} to ${name} refused: no such namespace`);
      this._core.connectError(sid, name, INVALID_NAMESPACE);
    });
  }

  /** Asks the parent namespaces in turn; the first that accepts creates the child. */
  #findParent(
    name: string,
    auth: Record<string, unknown>,
    done: (nsp: Namespace<ListenEvents, EmitEvents, ServerSideEvents, SocketData> | null) => void,
  ): void {
    const entries = [...this.#parents];
    const step = (i: number): void => {
      const entry = entries[i];
      if (!entry) {
        done(null);
        return;
      }
      const [match, parent] = entry;
      let answered = false;
      const next = (err: Error | null, allow: boolean): void => {
        if (answered) return;
        answered = true;
        if (err || !allow) {
          step(i + 1);
          return;
        }
        // The namespace may have been created meanwhile (async match function).
        done(this._nsps.get(name) ?? parent._createChild(name));
      };
      try {
        match(name, auth, next);
      } catch (e) {
        reportError(e);
        next(e as Error, false);
      }
    };
    step(0);
  }

  #onEvent(
    socketId: string,
    args: unknown[],
    ackId: number | undefined,
    binaries: Uint8Array[] | undefined,
  ): void {
    const socket = this.#byId.get(socketId);
    if (!socket) return;
    withAttachments(args, binaries);
    if (ackId !== undefined) args.push(this.#ackFunction(socket, ackId));
    socket._onEvent(args);
  }

  #onAck(socketId: string, id: number, args: unknown[], binaries: Uint8Array[] | undefined): void {
    const socket = this.#byId.get(socketId);
    if (!socket) return;
    withAttachments(args, binaries);
    socket._onAck(id, args);
  }

  /** The acknowledgement function handed to a listener: answers once. */
  #ackFunction(
    socket: Socket<ListenEvents, EmitEvents, ServerSideEvents, SocketData>,
    id: number,
  ): (...args: unknown[]) => void {
    let sent = false;
    const core = this._core;
    return (...args: unknown[]): void => {
      if (sent) return;
      sent = true;
      if (!socket.connected) return;
      const { json, binaries } = encode(args);
      core.ack(socket.id, id, json, binaries);
    };
  }
}

/** `re.test(s)`, unaffected by the state of a global or sticky RegExp. */
function testRegExp(re: RegExp, s: string): boolean {
  re.lastIndex = 0;
  return re.test(s);
}

/** The attachments of an event or ack, from the output's binaries. */
function attachments(
  action: { binaries?: number[] },
  binaries: Uint8Array[],
): Uint8Array[] | undefined {
  return action.binaries?.map((i) => binaries[i] ?? new Uint8Array(0));
}
