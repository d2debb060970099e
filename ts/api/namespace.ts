/**
 * `Namespace`: a channel of its own over the shared connection, with its sockets,
 * rooms, middlewares and `connection` listeners. `ParentNamespace`: the namespace
 * behind `io.of(RegExp | function)`, which creates child namespaces on demand.
 */
// biome-ignore-all lint/suspicious/noExplicitAny: `SocketData` defaults to `any` as in Socket.IO

import type { FoundSession } from "../shim/recovery.js";
import { RoomsAdapter } from "./adapter.js";
import type { RemoteSocket } from "./broadcast-operator.js";
import { BroadcastOperator } from "./broadcast-operator.js";
import {
  reportShardFailure,
  type ServerSideAnswer,
  type ShardRequest,
  tellAll,
} from "./cluster.js";
import { decode, decodeValue, encode } from "./codec.js";
import { eventName, type Listener, safeCall, TypedEmitter } from "./emitter.js";
import { type Middleware, runMiddlewares } from "./middleware.js";
import type { Server } from "./server.js";
import { type Handshake, Socket } from "./socket.js";
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
} from "./typed-events.js";

/** How long `serverSideEmit` waits for the other shards' answers (Socket.IO's default). */
const SERVER_SIDE_TIMEOUT = 5000;

/** An error a middleware passes to `next` to refuse a connection; `data` reaches the client. */
export interface ExtendedError extends Error {
  /** Extra details sent to the client with the `connect_error`. */
  data?: any;
}

/** Events the library emits on a namespace. */
export interface NamespaceReservedEvents<
  ListenEvents extends EventsMap,
  EmitEvents extends EventsMap,
  ServerSideEvents extends EventsMap,
  SocketData,
> {
  /** A socket connected (after the middlewares let it in). */
  connect: (socket: Socket<ListenEvents, EmitEvents, ServerSideEvents, SocketData>) => void;
  /** Same as `connect`. */
  connection: (socket: Socket<ListenEvents, EmitEvents, ServerSideEvents, SocketData>) => void;
}

/** Events the library emits on the server (on its main namespace). */
export interface ServerReservedEvents<
  ListenEvents extends EventsMap,
  EmitEvents extends EventsMap,
  ServerSideEvents extends EventsMap,
  SocketData,
> extends NamespaceReservedEvents<ListenEvents, EmitEvents, ServerSideEvents, SocketData> {
  /** A namespace was created (by `io.of(name)` or for a parent namespace). */
  new_namespace: (
    namespace: Namespace<ListenEvents, EmitEvents, ServerSideEvents, SocketData>,
  ) => void;
}

/** Middleware of a namespace: sees each socket before it connects. */
export type NamespaceMiddleware<
  ListenEvents extends EventsMap,
  EmitEvents extends EventsMap,
  ServerSideEvents extends EventsMap,
  SocketData,
> = (
  socket: Socket<ListenEvents, EmitEvents, ServerSideEvents, SocketData>,
  next: (err?: ExtendedError) => void,
) => void | Promise<void>;

const ID_BYTES = 15;

/**
 * What a middleware refused with, as the JSON of its `message` and of its `data` (each
 * `undefined` when absent or not JSON), from which the core writes the CONNECT_ERROR.
 */
function refusalOf(err: unknown): { message: string | undefined; data: string | undefined } {
  if (err === null || typeof err !== "object") {
    return { message: JSON.stringify(String(err)), data: undefined };
  }
  const e = err as ExtendedError;
  const json = (value: unknown): string | undefined => {
    try {
      return JSON.stringify(value);
    } catch {
      return undefined;
    }
  };
  return { message: json(e.message), data: json(e.data) };
}

/**
 * A namespace: its own sockets, rooms, middlewares and listeners. Get one with
 * `io.of(name)`; the main namespace `/` is `io.sockets`.
 */
export class Namespace<
  ListenEvents extends EventsMap = DefaultEventsMap,
  EmitEvents extends EventsMap = ListenEvents,
  ServerSideEvents extends EventsMap = DefaultEventsMap,
  SocketData = any,
> extends TypedEmitter<
  ServerSideEvents,
  NamespaceReservedEvents<ListenEvents, EmitEvents, ServerSideEvents, SocketData>
> {
  /** The namespace's name, e.g. `/` or `/admin`. */
  readonly name: string;
  /** The server. */
  readonly server: Server<ListenEvents, EmitEvents, ServerSideEvents, SocketData>;
  /** The sockets whose JavaScript side exists, by id. @internal */
  readonly _live = new Map<
    string,
    Socket<ListenEvents, EmitEvents, ServerSideEvents, SocketData>
  >();
  #complete = false;

  /**
   * The connected sockets of this namespace, by id. After the object was evicted from
   * memory, the first read rebuilds the sockets that have not spoken since (reading
   * their stored state), so the map is complete.
   */
  get sockets(): Map<string, Socket<ListenEvents, EmitEvents, ServerSideEvents, SocketData>> {
    if (!this.#complete) {
      this.#complete = true;
      const core = this.server._core;
      for (const id of core.socketsIn(this.name, [], [])) {
        if (!this._live.has(id)) core.rebuild(id);
      }
    }
    return this._live;
  }
  /**
   * The rooms of the namespace (read only; use `join`/`leave` to change them), and
   * their events (`create-room`, `join-room`, `leave-room`, `delete-room`).
   */
  readonly adapter: RoomsAdapter;

  /** @internal */
  readonly _fns: Middleware<
    Socket<ListenEvents, EmitEvents, ServerSideEvents, SocketData>,
    ExtendedError
  >[] = [];
  /** The parent namespace this one was created for. @internal */
  _parent: ParentNamespace<ListenEvents, EmitEvents, ServerSideEvents, SocketData> | undefined;
  /** Sockets with catch-all listeners of outgoing events. */
  readonly #outgoing = new Set<Socket<ListenEvents, EmitEvents, ServerSideEvents, SocketData>>();

  /** @internal */
  constructor(
    server: Server<ListenEvents, EmitEvents, ServerSideEvents, SocketData>,
    name: string,
  ) {
    super();
    this.server = server;
    this.name = name;
    this.adapter = new RoomsAdapter(this);
  }

  /** Names a listener of `ev` in error reports: with the namespace. */
  protected override listenerOf(ev: string | symbol): string {
    return `a listener of ${eventName(ev)} (namespace ${JSON.stringify(this.name)})`;
  }

  /**
   * Adds a middleware that runs for each socket before it connects, in order. Call
   * `next()` to go on, `next(err)` to refuse: the client gets a `connect_error` with
   * `err.message` and `err.data`. A middleware may be async; one that throws refuses
   * the socket with what it threw.
   */
  use(fn: NamespaceMiddleware<ListenEvents, EmitEvents, ServerSideEvents, SocketData>): this {
    this._fns.push(fn);
    return this;
  }

  // ---- broadcasting ---------------------------------------------------------------

  #operator(): BroadcastOperator<
    DecorateAcknowledgementsWithMultipleResponses<EmitEvents>,
    SocketData
  > {
    return new BroadcastOperator(this);
  }

  /** Targets room(s). */
  to(
    room: string | string[],
  ): BroadcastOperator<DecorateAcknowledgementsWithMultipleResponses<EmitEvents>, SocketData> {
    return this.#operator().to(room);
  }

  /** Same as {@link to}. */
  in(
    room: string | string[],
  ): BroadcastOperator<DecorateAcknowledgementsWithMultipleResponses<EmitEvents>, SocketData> {
    return this.#operator().in(room);
  }

  /** Targets every socket but those in room(s). */
  except(
    room: string | string[],
  ): BroadcastOperator<DecorateAcknowledgementsWithMultipleResponses<EmitEvents>, SocketData> {
    return this.#operator().except(room);
  }

  /** Accepted for compatibility; compression is up to the runtime. */
  compress(
    compress: boolean,
  ): BroadcastOperator<DecorateAcknowledgementsWithMultipleResponses<EmitEvents>, SocketData> {
    return this.#operator().compress(compress);
  }

  /** The next emit may be dropped for clients that cannot take it right now. */
  get volatile(): BroadcastOperator<
    DecorateAcknowledgementsWithMultipleResponses<EmitEvents>,
    SocketData
  > {
    return this.#operator().volatile;
  }

  /** Only this server (one object is the whole server: same as no flag). */
  get local(): BroadcastOperator<
    DecorateAcknowledgementsWithMultipleResponses<EmitEvents>,
    SocketData
  > {
    return this.#operator().local;
  }

  /**
   * Waits at most `ms` for the acknowledgements of the next emit:
   * `nsp.timeout(1000).emit("ev", (err, responses) => ...)`.
   */
  timeout(
    ms: number,
  ): BroadcastOperator<
    DecorateAcknowledgements<DecorateAcknowledgementsWithMultipleResponses<EmitEvents>>,
    SocketData
  > {
    return this.#operator().timeout(ms);
  }

  /**
   * Sends an event to every socket of the namespace.
   *
   * @returns `true`
   * @throws when `ev` is a reserved event name
   */
  emit<Ev extends EventNamesWithoutAck<EmitEvents>>(
    ev: Ev,
    ...args: EventParams<EmitEvents, Ev>
  ): boolean {
    return new BroadcastOperator<EmitEvents, SocketData>(this).emit(ev, ...args);
  }

  /**
   * Sends an event to every socket and resolves with one answer per socket (rejects
   * on timeout after `timeout(ms)`).
   */
  emitWithAck<Ev extends EventNamesWithAck<EmitEvents>>(
    ev: Ev,
    ...args: AllButLast<EventParams<EmitEvents, Ev>>
  ): Promise<FirstNonErrorArg<Last<EventParams<EmitEvents, Ev>>>[]> {
    const op = new BroadcastOperator<EventsMap, SocketData>(this);
    return op.emitWithAck(ev as string, ...(args as unknown[])) as Promise<
      FirstNonErrorArg<Last<EventParams<EmitEvents, Ev>>>[]
    >;
  }

  /** Sends a `message` event to every socket. */
  send(...args: EventParams<EmitEvents, "message">): this {
    new BroadcastOperator<EventsMap, SocketData>(this).emit("message", ...args);
    return this;
  }

  /** Same as {@link send}. */
  write(...args: EventParams<EmitEvents, "message">): this {
    return this.send(...args);
  }

  /**
   * Sends an event to the listeners of this namespace (`nsp.on(ev)`, `io.on(ev)` for
   * `/`) on every other shard of the server; they get the arguments, and an
   * acknowledgement function when the last argument here is a callback. The callback
   * gets `(null, responses)`, one per other shard, or an error with the responses so
   * far when a shard does not answer within 5 s (Socket.IO's cluster timeout) or fails.
   * An unsharded server has no other shard: the callback gets `(null, [])` at once.
   *
   * @throws when `ev` is a reserved event name
   */
  serverSideEmit<Ev extends EventNames<ServerSideEvents>>(
    ev: Ev,
    ...args: EventParams<ServerSideEvents, Ev>
  ): boolean {
    this.server._core.assertEmittable(ev as string);
    const data: unknown[] = [ev, ...args];
    let ack: Listener | undefined;
    if (typeof data[data.length - 1] === "function") ack = data.pop() as Listener;
    const { json, binaries } = encode(data);
    void this._serverSideEmit(json, binaries, ack, false);
    return true;
  }

  /** {@link serverSideEmit} as a promise of the other shards' answers. */
  serverSideEmitWithAck<Ev extends EventNamesWithAck<ServerSideEvents>>(
    ev: Ev,
    ...args: AllButLast<EventParams<ServerSideEvents, Ev>>
  ): Promise<FirstNonErrorArg<Last<EventParams<ServerSideEvents, Ev>>>[]> {
    return new Promise((resolve, reject) => {
      const done = (err: (Error & { responses?: unknown[] }) | null, responses: unknown[]) => {
        if (err) {
          err.responses = responses;
          reject(err);
        } else resolve(responses as never);
      };
      (this.serverSideEmit as (...a: unknown[]) => boolean)(ev, ...(args as unknown[]), done);
    });
  }

  /**
   * Runs the listeners of an encoded server-side event on the other shards (and here,
   * with `here`, for the emitter); with `ack`, gathers one answer per shard that ran
   * them. Resolves once every shard is done.
   * @internal
   */
  _serverSideEmit(
    json: string,
    binaries: Uint8Array[],
    ack: Listener | undefined,
    here: boolean,
  ): Promise<void> {
    const peers = this.server._shards.others();
    const timeout = SERVER_SIDE_TIMEOUT;
    const request: ShardRequest = {
      type: "serverSideEmit",
      nsp: this.name,
      json,
      binaries,
      ack: ack ? { timeout } : undefined,
    };
    if (!ack) {
      if (here) this._serverSideEvent(json, binaries, undefined);
      return tellAll(peers, request);
    }
    const responses: unknown[] = [];
    let expected = peers.length + (here ? 1 : 0);
    let failure: Error | undefined;
    let finished = false;
    const finish = (err: Error | null) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      safeCall(ack, undefined, [err, responses], () => {
        return `the acknowledgement callback of serverSideEmit (namespace ${JSON.stringify(this.name)})`;
      });
    };
    const settle = () => {
      if (responses.length >= expected) finish(failure ?? null);
    };
    const timer = setTimeout(() => {
      finish(new Error(`timeout reached: missing ${expected - responses.length} responses`));
    }, timeout);
    if (here) {
      this._serverSideEvent(json, binaries, (response) => {
        responses.push(response);
        settle();
      });
    }
    const replies = peers.map((peer) =>
      peer.request(request).then(
        (reply) => {
          const answer = reply as ServerSideAnswer;
          if (answer.answered) {
            responses.push(decodeValue(answer.json ?? "[null]", answer.binaries ?? []));
            settle();
          }
        },
        (e: unknown) => {
          reportShardFailure(peer.index, e);
          failure ??= new Error(`shard ${peer.index} failed: ${String(e)}`);
          expected--;
          settle();
        },
      ),
    );
    settle();
    return Promise.all(replies).then(() => undefined);
  }

  /**
   * Runs this shard's listeners of an encoded server-side event; `answer` (if any) is
   * handed to them as the acknowledgement function and called at most once.
   * @internal
   */
  _serverSideEvent(
    json: string,
    binaries: Uint8Array[],
    answer: ((response: unknown) => void) | undefined,
  ): void {
    const [ev, ...args] = decode(json, binaries);
    if (typeof ev !== "string") return;
    if (answer) {
      let sent = false;
      args.push((response: unknown) => {
        if (sent) return;
        sent = true;
        answer(response);
      });
    }
    this.emitUntyped(ev, args);
  }

  /** The sockets of the namespace. */
  fetchSockets(): Promise<RemoteSocket<EmitEvents, SocketData>[]> {
    return new BroadcastOperator<EmitEvents, SocketData>(this).fetchSockets();
  }

  /** Ids of the sockets of the namespace (prefer {@link fetchSockets}). */
  allSockets(): Promise<Set<string>> {
    return new BroadcastOperator<EmitEvents, SocketData>(this).allSockets();
  }

  /** Makes every socket join room(s). */
  socketsJoin(room: string | string[]): void {
    new BroadcastOperator<EmitEvents, SocketData>(this).socketsJoin(room);
  }

  /** Makes every socket leave room(s). */
  socketsLeave(room: string | string[]): void {
    new BroadcastOperator<EmitEvents, SocketData>(this).socketsLeave(room);
  }

  /** Disconnects every socket; with `close`, their whole connections. */
  disconnectSockets(close = false): void {
    new BroadcastOperator<EmitEvents, SocketData>(this).disconnectSockets(close);
  }

  // ---- driven by the server -------------------------------------------------------

  /** The concrete namespaces a broadcast on this one reaches. @internal */
  _targets(): Namespace<ListenEvents, EmitEvents, ServerSideEvents, SocketData>[] {
    return [this];
  }

  /** Registers a socket with catch-all outgoing listeners, or forgets it. @internal */
  _watchOutgoing(
    socket: Socket<ListenEvents, EmitEvents, ServerSideEvents, SocketData>,
    on: boolean,
  ): void {
    if (on) this.#outgoing.add(socket);
    else this.#outgoing.delete(socket);
  }

  /** Tells the outgoing listeners of the sockets a broadcast reaches. @internal */
  _notifyOutgoing(rooms: string[], except: string[], values: () => unknown[]): void {
    if (this.#outgoing.size === 0) return;
    const core = this.server._core;
    let data: unknown[] | undefined;
    for (const socket of [...this.#outgoing]) {
      if (core.isTargeted(socket.id, rooms, except)) {
        data ??= values();
        socket._notifyOutgoing(data);
      }
    }
  }

  /** Emits `new_namespace` (on the main namespace). @internal */
  _emitNewNamespace(nsp: Namespace<ListenEvents, EmitEvents, ServerSideEvents, SocketData>): void {
    this.emitUntyped("new_namespace", [nsp]);
  }

  /**
   * Engine session `sid` asks to join: runs the middlewares, then accepts or refuses.
   * @internal
   */
  _add(sid: string, auth: Record<string, unknown>, handshake: Omit<Handshake, "auth">): void {
    // Connection state recovery: the client names its kept session (pid, offset).
    const found = this.server._core.findSession(this.name, auth);
    if (!(found instanceof Promise)) {
      this.#join(sid, auth, handshake, found);
      return;
    }
    found.then(
      (f) => this.#join(sid, auth, handshake, f),
      (e: unknown) => {
        reportError(e);
        this.#join(sid, auth, handshake, null);
      },
    );
  }

  #join(
    sid: string,
    auth: Record<string, unknown>,
    handshake: Omit<Handshake, "auth">,
    found: FoundSession | null,
  ): void {
    const core = this.server._core;
    const random = crypto.getRandomValues(
      new Uint8Array(core.recovering ? 2 * ID_BYTES : ID_BYTES),
    );
    const socket = new Socket(
      this,
      sid,
      { ...handshake, auth },
      found ? found.session.id : core.socketIdOf(sid, this.name, random.subarray(0, ID_BYTES)),
    );
    if (found) {
      let data: unknown = {};
      try {
        data = JSON.parse(found.session.data);
      } catch {
        // stored by us; unreadable only if damaged: start from empty data
      }
      socket._recovering(data as SocketData, found.session.rooms);
      socket._since = found.since ?? found.session.since;
    }
    const connect = (err?: Error): void => {
      if (err) {
        socket._abort();
        const refusal = refusalOf(err);
        this.server._debug?.(
          `connection of session ${sid} to ${this.name} refused: ${refusal.message}${refusal.data === undefined ? "" : ` (data ${refusal.data})`}`,
        );
        core.connectRefused(sid, this.name, refusal.message, refusal.data);
        return;
      }
      const accepted = (id: string, pid: string | undefined): void => {
        socket._accept(id, pid);
        this._live.set(id, socket);
        this.server._track(socket);
      };
      const ok = found
        ? core.acceptRecovered(sid, this.name, found, accepted)
        : core.accept(sid, this.name, random, accepted);
      if (!ok) {
        // The connection is gone (or already joined this namespace): drop silently.
        socket._abort();
        return;
      }
      this.server._debug?.(
        `socket ${socket.id} of session ${sid} ${found ? "recovered in" : "connected to"} ${this.name}`,
      );
      this.emitReserved("connect", socket);
      this.emitReserved("connection", socket);
    };
    if (found && this.server._skipMiddlewaresOnRecovery) connect();
    else runMiddlewares(this._fns.slice(), socket, connect);
  }

  /** A socket rebuilt from storage after an eviction (see `Server._rebuild`). @internal */
  _rebuild(sid: string, id: string, handshake: Handshake, data: unknown, rooms: string[]): void {
    const socket = new Socket(this, sid, handshake, id);
    socket._rebuilt(data as SocketData, rooms);
    this._live.set(id, socket);
    this.server._track(socket);
    this.emitReserved("connect", socket);
    this.emitReserved("connection", socket);
  }

  /** A socket left. @internal */
  _remove(socket: Socket<ListenEvents, EmitEvents, ServerSideEvents, SocketData>): void {
    this._live.delete(socket.id);
    this.#outgoing.delete(socket);
    this.server._untrack(socket);
    if (this._parent && this._live.size === 0 && this.server._cleanupEmptyChildNamespaces) {
      this._parent._removeChild(this);
    }
  }
}

/**
 * The namespace behind `io.of(RegExp)` and `io.of((name, auth, next) => ...)`. When a
 * client asks for a namespace that does not exist and matches, a child namespace is
 * created with the parent's middlewares and `connection` listeners (as registered at
 * that moment). Emitting on the parent reaches every child.
 */
export class ParentNamespace<
  ListenEvents extends EventsMap = DefaultEventsMap,
  EmitEvents extends EventsMap = ListenEvents,
  ServerSideEvents extends EventsMap = DefaultEventsMap,
  SocketData = any,
> extends Namespace<ListenEvents, EmitEvents, ServerSideEvents, SocketData> {
  readonly #children = new Set<Namespace<ListenEvents, EmitEvents, ServerSideEvents, SocketData>>();

  /** The child namespaces created so far. */
  get children(): ReadonlySet<Namespace<ListenEvents, EmitEvents, ServerSideEvents, SocketData>> {
    return this.#children;
  }

  /** @internal */
  override _targets(): Namespace<ListenEvents, EmitEvents, ServerSideEvents, SocketData>[] {
    this.server._rebuildChildren();
    return [...this.#children];
  }

  /** Creates the child namespace `name`. @internal */
  _createChild(name: string): Namespace<ListenEvents, EmitEvents, ServerSideEvents, SocketData> {
    const child = new Namespace(this.server, name);
    child._fns.push(...this._fns);
    for (const l of this.listeners("connect")) child.on("connect", l);
    for (const l of this.listeners("connection")) child.on("connection", l);
    child._parent = this;
    this.#children.add(child);
    this.server._nsps.set(name, child);
    this.server.sockets._emitNewNamespace(child);
    return child;
  }

  /** Forgets an empty child (`cleanupEmptyChildNamespaces`). @internal */
  _removeChild(child: Namespace<ListenEvents, EmitEvents, ServerSideEvents, SocketData>): void {
    this.#children.delete(child);
    if (this.server._nsps.get(child.name) === child) this.server._nsps.delete(child.name);
  }
}
