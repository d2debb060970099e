/**
 * `Socket`: one client in one namespace.
 */
// biome-ignore-all lint/suspicious/noExplicitAny: `SocketData` defaults to `any` as in Socket.IO

import type { Core } from "../shim/core.js";
import { type BroadcastFlags, BroadcastOperator } from "./broadcast-operator.js";
import { encode } from "./codec.js";
import { eventName, type Listener, reportError, safeCall, TypedEmitter } from "./emitter.js";
import type { EngineSocket } from "./engine.js";
import { type Middleware, runMiddlewares } from "./middleware.js";
import type { Namespace } from "./namespace.js";
import type { Server } from "./server.js";
import type {
  AllButLast,
  DecorateAcknowledgements,
  DecorateAcknowledgementsWithMultipleResponses,
  DefaultEventsMap,
  EventNames,
  EventNamesWithAck,
  EventParams,
  EventsMap,
  FirstNonErrorArg,
  Last,
  ReservedOrUserEventNames,
  ReservedOrUserListener,
} from "./typed-events.js";

/** Why a socket left its namespace (Socket.IO's reason strings). */
export type DisconnectReason =
  // the connection ended
  | "transport error"
  | "transport close"
  | "forced close"
  | "ping timeout"
  | "parse error"
  // the Socket.IO layer
  | "server shutting down"
  | "forced server close"
  | "client namespace disconnect"
  | "server namespace disconnect";

/** What the client sent when it connected. */
export interface Handshake {
  /** Headers of the handshake request, by lowercase name. */
  headers: Record<string, string>;
  /** When the connection was made, as `Date#toString()` prints it. */
  time: string;
  /** The client's IP address (`CF-Connecting-IP`; `127.0.0.1` when absent). */
  address: string;
  /** Whether the request carried an `Origin` header (a cross-origin page). */
  xdomain: boolean;
  /** Whether the connection uses TLS (`https:` / `wss:`). */
  secure: boolean;
  /** When the connection was made, in milliseconds since the epoch. */
  issued: number;
  /** Path and query of the handshake request. */
  url: string;
  /** Query parameters of the handshake request (repeated names give an array). */
  query: Record<string, string | string[]>;
  /** The `auth` object the client passed for this namespace (`{}` when none). */
  auth: { [key: string]: any };
}

/** Events the library emits on a socket. */
export interface SocketReservedEvents {
  /** The socket is leaving; `socket.rooms` can still be read. */
  disconnecting: (reason: DisconnectReason, description?: any) => void;
  /** The socket left. */
  disconnect: (reason: DisconnectReason, description?: any) => void;
  /** A `socket.use()` middleware refused a packet, or the client broke the protocol. */
  error: (err: Error) => void;
}

/**
 * The connection a socket rides on, as Socket.IO's `socket.client` shows it (its
 * `id`, `conn` and `request`; one connection carries a socket per namespace).
 */
export interface Client {
  /** The connection's id: the Engine.IO session id. */
  readonly id: string;
  /** The Engine.IO session. */
  readonly conn: EngineSocket;
  /** The handshake request (see `EngineSocket.request`). */
  readonly request: Request | undefined;
}

/** An incoming event as `socket.use()` middlewares see it: `[name, ...args]`. */
export type Event = [string, ...any[]];

/**
 * How long an emit with an acknowledgement callback but no `timeout` keeps the object
 * in memory waiting for the answer. After that the object may be evicted, and an
 * answer arriving later finds no callback (it is ignored).
 */
export const ACK_KEEP_AWAKE_MS = 60_000;

/** A pending acknowledgement of one of our emits. */
export interface PendingAck {
  /** Called with the client's answer. */
  answer(args: unknown[]): void;
  /** Called when the socket disconnects first. */
  gone?(): void;
}

type State = "pending" | "connected" | "closed";

/**
 * One client connected to one namespace. Listen to what it sends with `on`, send to
 * it with `emit`, group sockets with rooms (`join`, `leave`) and broadcast with `to`.
 *
 * Instances are made by the server; apps get them in `connection` listeners and
 * middlewares.
 */
export class Socket<
  ListenEvents extends EventsMap = DefaultEventsMap,
  EmitEvents extends EventsMap = ListenEvents,
  ServerSideEvents extends EventsMap = DefaultEventsMap,
  SocketData = any,
> extends TypedEmitter<ListenEvents, SocketReservedEvents> {
  /**
   * The socket's id, public and distinct from the connection's session id. Known in
   * middlewares already.
   */
  readonly id: string;
  /** The namespace the socket belongs to. */
  readonly nsp: Namespace<ListenEvents, EmitEvents, ServerSideEvents, SocketData>;
  /** What the client sent when it connected. */
  readonly handshake: Handshake;
  #data: SocketData = {} as SocketData;
  /** Whether `data` was ever handed out, so that it may have changed in place. */
  #dataExposed = false;

  /**
   * Free-form data of the app, returned by `fetchSockets()` too. Saved with the socket
   * at the end of a turn that read or set it and changed its JSON.
   */
  get data(): SocketData {
    this.#dataExposed = true;
    this.#core.dataTouched(this.id);
    return this.#data;
  }

  set data(value: SocketData) {
    this.#data = value;
    this.#dataExposed = true;
    this.#core.dataTouched(this.id);
  }

  /**
   * Whether `data` was ever read or set, so that it may have changed since it was saved
   * (one never handed out cannot have). @internal
   */
  _dataExposed(): boolean {
    return this.#dataExposed;
  }

  /** `data` without counting as a read (for storing it). @internal */
  _rawData(): SocketData {
    return this.#data;
  }
  /**
   * The rooms the socket is in, its own id included. Read it; change it with `join`
   * and `leave`.
   */
  readonly rooms: Set<string>;
  /**
   * Whether this socket is one the client had before: restored after the Durable Object
   * was evicted from memory (its id, rooms, `data` and handshake are the ones it had,
   * and the `connection` listeners run again for it, middlewares not), or recovered
   * after its client lost the connection and came back (connection state recovery:
   * its id, rooms and `data` are back and it got the events it missed).
   */
  readonly recovered: boolean = false;

  /** The engine session the socket rides on. @internal */
  readonly _sid: string;
  /**
   * Its private session id (connection state recovery; known to this start when it
   * connected in it, else in storage). @internal
   */
  _pid: string | undefined;
  /**
   * When it moved here from another shard (recovered there): this shard's offset at its
   * arrival (connection state recovery). @internal
   */
  _since: number | undefined;

  #state: State = "pending";
  readonly #core: Core;
  readonly #acks = new Map<number, PendingAck>();
  readonly #fns: Middleware<Event>[] = [];
  #flags: BroadcastFlags = {};
  #any: Listener[] | undefined;
  #anyOutgoing: Listener[] | undefined;

  /** @internal */
  constructor(
    nsp: Namespace<ListenEvents, EmitEvents, ServerSideEvents, SocketData>,
    sid: string,
    handshake: Handshake,
    id: string,
  ) {
    super();
    this.nsp = nsp;
    this._sid = sid;
    this.handshake = handshake;
    this.id = id;
    this.rooms = new Set([id]);
    this.#core = nsp.server._core;
  }

  /** The server. */
  get server(): Server<ListenEvents, EmitEvents, ServerSideEvents, SocketData> {
    return this.nsp.server;
  }

  /**
   * The Engine.IO session this socket rides on: `conn.transport.name` (`"polling"`,
   * then `"websocket"` after an upgrade), `readyState`, the `upgrade` and `close`
   * events.
   */
  get conn(): EngineSocket {
    return this.nsp.server.engine._socket(this._sid);
  }

  /** The connection (see {@link Client}). */
  get client(): Client {
    const conn = this.conn;
    return {
      id: conn.id,
      conn,
      get request() {
        return conn.request;
      },
    };
  }

  /** The handshake request (see `EngineSocket.request`). */
  get request(): Request | undefined {
    return this.conn.request;
  }

  /** Whether the socket is connected (`false` in middlewares, and after it left). */
  get connected(): boolean {
    return this.#state === "connected";
  }

  /** The opposite of {@link connected}. */
  get disconnected(): boolean {
    return this.#state !== "connected";
  }

  /**
   * Adds a listener for an event the client sends, or for a reserved event
   * (`disconnecting`, `disconnect`, `error`). Binary values sent by the client reach
   * the listener as `Uint8Array`. When the client asked for an acknowledgement, the
   * last argument is a function to call with the answer (once).
   */
  override on<Ev extends ReservedOrUserEventNames<SocketReservedEvents, ListenEvents>>(
    ev: Ev,
    listener: ReservedOrUserListener<SocketReservedEvents, ListenEvents, Ev>,
  ): this {
    return super.on(ev, listener as never);
  }

  // ---- sending --------------------------------------------------------------------

  /**
   * Sends an event to this client. Any JSON-serialisable values and binary data
   * (`ArrayBuffer`, typed arrays, `DataView`) can be sent. When the last argument is
   * a function, it is called with the client's acknowledgement (after
   * `timeout(ms)`: with an error first, when the client did not answer in time).
   *
   * @returns `true`
   * @throws when `ev` is a reserved event name
   */
  emit<Ev extends EventNames<EmitEvents>>(ev: Ev, ...args: EventParams<EmitEvents, Ev>): boolean {
    this.#core.assertEmittable(ev);
    this.#send([ev, ...args]);
    return true;
  }

  /**
   * Sends an event and resolves with the client's acknowledgement. After
   * `timeout(ms)` the promise rejects when the client did not answer in time.
   */
  emitWithAck<Ev extends EventNamesWithAck<EmitEvents>>(
    ev: Ev,
    ...args: AllButLast<EventParams<EmitEvents, Ev>>
  ): Promise<FirstNonErrorArg<Last<EventParams<EmitEvents, Ev>>>> {
    const withError = this.#flags.timeout !== undefined;
    return new Promise((resolve, reject) => {
      this.#core.assertEmittable(ev);
      const cb = withError
        ? (err: unknown, value: unknown) => (err ? reject(err) : resolve(value as never))
        : (value: unknown) => resolve(value as never);
      this.#send([ev, ...args, cb]);
    });
  }

  /** Sends a `message` event (like `WebSocket#send`). */
  send(...args: EventParams<EmitEvents, "message">): this {
    this.#send(["message", ...args]);
    return this;
  }

  /** Same as {@link send}. */
  write(...args: EventParams<EmitEvents, "message">): this {
    this.#send(["message", ...args]);
    return this;
  }

  /**
   * Sets a timeout for the acknowledgement of the next `emit`: its callback gets an
   * error first (`null` when the client answered in time).
   */
  timeout(
    ms: number,
  ): Socket<ListenEvents, DecorateAcknowledgements<EmitEvents>, ServerSideEvents, SocketData> {
    this.#flags.timeout = ms;
    return this as unknown as Socket<
      ListenEvents,
      DecorateAcknowledgements<EmitEvents>,
      ServerSideEvents,
      SocketData
    >;
  }

  /** The next `emit` may be dropped when the client cannot take it right now. */
  get volatile(): this {
    this.#flags.volatile = true;
    return this;
  }

  /** Accepted for compatibility: compression is up to the runtime. */
  compress(compress: boolean): this {
    this.#flags.compress = compress;
    return this;
  }

  #send(data: unknown[]): void {
    const flags = this.#flags;
    this.#flags = {};
    let ack: Listener | undefined;
    if (typeof data[data.length - 1] === "function") ack = data.pop() as Listener;
    this._notifyOutgoing(data);
    const { json, binaries } = encode(data);
    const ackId = this.#core.emitToSocket(
      this.id,
      json,
      binaries,
      ack !== undefined,
      flags.volatile === true,
    );
    if (ack) this.#expectAck(ackId, ack, flags.timeout);
  }

  #expectAck(id: number | undefined, ack: Listener, timeout: number | undefined): void {
    if (timeout === undefined) {
      if (id === undefined) return;
      // A callback lives in memory only: a pending timer keeps the object from being
      // evicted while the client answers, for ACK_KEEP_AWAKE_MS at most.
      const keepAwake = setTimeout(() => {}, ACK_KEEP_AWAKE_MS);
      this.#acks.set(id, {
        answer: (args) => {
          clearTimeout(keepAwake);
          safeCall(ack, this, args, () => this.#about("an acknowledgement callback"));
        },
        gone: () => clearTimeout(keepAwake),
      });
      return;
    }
    const timer = setTimeout(() => {
      if (id !== undefined) this.#acks.delete(id);
      safeCall(ack, this, [new Error("operation has timed out")], () =>
        this.#about("an acknowledgement callback"),
      );
    }, timeout);
    if (id !== undefined) {
      this.#acks.set(id, {
        answer: (args) => {
          clearTimeout(timer);
          safeCall(ack, this, [null, ...args], () => this.#about("an acknowledgement callback"));
        },
      });
    }
  }

  // ---- broadcasting from this socket ----------------------------------------------

  #operator(): BroadcastOperator<
    DecorateAcknowledgementsWithMultipleResponses<EmitEvents>,
    SocketData
  > {
    const flags = this.#flags;
    this.#flags = {};
    return new BroadcastOperator(this.nsp, new Set(), new Set([this.id]), flags);
  }

  /** Broadcasts to room(s), this socket excluded. */
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

  /** Broadcasts to every socket of the namespace but those in room(s) and this one. */
  except(
    room: string | string[],
  ): BroadcastOperator<DecorateAcknowledgementsWithMultipleResponses<EmitEvents>, SocketData> {
    return this.#operator().except(room);
  }

  /** Broadcasts to every socket of the namespace but this one. */
  get broadcast(): BroadcastOperator<
    DecorateAcknowledgementsWithMultipleResponses<EmitEvents>,
    SocketData
  > {
    return this.#operator();
  }

  /** Same as {@link broadcast} (one object serves the whole server). */
  get local(): BroadcastOperator<
    DecorateAcknowledgementsWithMultipleResponses<EmitEvents>,
    SocketData
  > {
    return this.#operator().local;
  }

  // ---- rooms ----------------------------------------------------------------------

  /**
   * Joins room(s). Works in middlewares too (applied once the socket connects); does
   * nothing after the socket left.
   */
  join(rooms: string | string[]): void {
    if (this.#state === "closed") return;
    const list = Array.isArray(rooms) ? rooms : [rooms];
    for (const r of list) this.rooms.add(r);
    if (this.#state === "connected") this.nsp.adapter._addAll(this.id, list);
  }

  /** Leaves a room. */
  leave(room: string): void {
    if (this.#state === "closed") return;
    this.rooms.delete(room);
    if (this.#state === "connected") this.nsp.adapter._del(this.id, room);
  }

  // ---- leaving --------------------------------------------------------------------

  /**
   * Disconnects this socket from its namespace; with `close`, closes the whole
   * connection (every namespace of the client).
   */
  disconnect(close = false): this {
    if (this.#state !== "connected") return this;
    this.#core.disconnectSocket(this.id, close);
    return this;
  }

  // ---- middlewares and catch-all listeners ----------------------------------------

  /**
   * Adds a middleware for incoming events: it gets `[event, ...args]` and calls
   * `next()` to let the packet through or `next(err)` to drop it (the socket then
   * emits `error` with `err`).
   */
  use(fn: (event: Event, next: (err?: Error) => void) => void | Promise<void>): this {
    this.#fns.push(fn);
    return this;
  }

  /** Adds a listener for every incoming event: `(event, ...args)`. */
  onAny(listener: (...args: any[]) => void): this {
    this.#any ??= [];
    this.#any.push(listener);
    return this;
  }

  /** Like {@link onAny}, but the listener runs before the others. */
  prependAny(listener: (...args: any[]) => void): this {
    this.#any ??= [];
    this.#any.unshift(listener);
    return this;
  }

  /** Removes a catch-all listener, or all of them. */
  offAny(listener?: (...args: any[]) => void): this {
    this.#any = removeFrom(this.#any, listener);
    return this;
  }

  /** The catch-all listeners of incoming events. */
  listenersAny(): ((...args: any[]) => void)[] {
    return this.#any ?? [];
  }

  /**
   * Adds a listener for every event sent to this client, by `emit` or by a broadcast:
   * `(event, ...args)` (acknowledgements not included).
   */
  onAnyOutgoing(listener: (...args: any[]) => void): this {
    this.#anyOutgoing ??= [];
    this.#anyOutgoing.push(listener);
    this.nsp._watchOutgoing(this, true);
    return this;
  }

  /** Like {@link onAnyOutgoing}, but the listener runs before the others. */
  prependAnyOutgoing(listener: (...args: any[]) => void): this {
    this.#anyOutgoing ??= [];
    this.#anyOutgoing.unshift(listener);
    this.nsp._watchOutgoing(this, true);
    return this;
  }

  /** Removes a catch-all listener of outgoing events, or all of them. */
  offAnyOutgoing(listener?: (...args: any[]) => void): this {
    this.#anyOutgoing = removeFrom(this.#anyOutgoing, listener);
    if (!this.#anyOutgoing?.length) this.nsp._watchOutgoing(this, false);
    return this;
  }

  /** The catch-all listeners of outgoing events. */
  listenersAnyOutgoing(): ((...args: any[]) => void)[] {
    return this.#anyOutgoing ?? [];
  }

  // ---- driven by the server -------------------------------------------------------

  /** Tells the catch-all listeners of outgoing events. @internal */
  _notifyOutgoing(data: unknown[]): void {
    const list = this.#anyOutgoing;
    if (!list || list.length === 0) return;
    const where = () => this.#about(`a listener of outgoing ${eventName(String(data[0]))}`);
    for (const fn of list.slice()) safeCall(fn, this, data, where);
  }

  /** The core accepted the socket under `id` (with its private session id). @internal */
  _accept(id: string, pid?: string): void {
    this._pid = pid;
    const provisional = this.id;
    const hadOwnRoom = this.rooms.has(provisional);
    if (id !== provisional) (this as { id: string }).id = id;
    // The own room after those joined in middlewares, in the order Node adds them.
    this.rooms.delete(provisional);
    this.rooms.add(id);
    this.#state = "connected";
    // Rooms joined in middlewares first, then the socket's own room, as in Node.
    const extra = [...this.rooms].filter((r) => r !== id);
    if (extra.length > 0) this.nsp.adapter._addAll(id, extra, this.recovered);
    this.nsp.adapter._connected(id);
    if (!hadOwnRoom) this.leave(id);
  }

  /**
   * The socket is the recovery of a kept session (connection state recovery): its
   * `data` and rooms are back before its middlewares run. @internal
   */
  _recovering(data: SocketData, rooms: string[]): void {
    (this as { recovered: boolean }).recovered = true;
    this.#data = data;
    for (const r of rooms) this.rooms.add(r);
  }

  /** The socket comes back from storage, already connected. @internal */
  _rebuilt(data: SocketData, rooms: string[]): void {
    (this as { recovered: boolean }).recovered = true;
    this.#data = data;
    for (const r of rooms) this.rooms.add(r);
    this.#state = "connected";
  }

  /** The socket was refused or its connection ended before it connected. @internal */
  _abort(): void {
    this.#state = "closed";
    this.rooms.clear();
  }

  /** An event from the client: `[name, ...args, ack?]`. @internal */
  _onEvent(args: unknown[]): void {
    const any = this.#any;
    if (any && any.length > 0) {
      const where = () => this.#about(`a catch-all listener of ${eventName(String(args[0]))}`);
      for (const fn of any.slice()) safeCall(fn, this, args, where);
    }
    const fns = this.#fns;
    if (fns.length === 0) {
      this.#dispatch(args);
      return;
    }
    runMiddlewares(fns.slice(), args as Event, (err) => {
      if (err) this._onError(err);
      else this.#dispatch(args);
    });
  }

  #dispatch(args: unknown[]): void {
    if (this.#state !== "connected") return;
    const name = args[0];
    this.emitUntyped(typeof name === "number" ? String(name) : (name as string), args.slice(1));
  }

  /** Names a listener of `ev` in error reports: with the socket id and the namespace. */
  protected override listenerOf(ev: string | symbol): string {
    return this.#about(`a listener of ${eventName(ev)}`);
  }

  #about(what: string): string {
    return `${what} (socket ${this.id}, namespace ${JSON.stringify(this.nsp.name)})`;
  }

  /** Emits `error` (nothing happens without a listener). @internal */
  _onError(err: unknown): void {
    this.emitReserved("error", err as Error);
  }

  /** The client's answer to our ack `id`. @internal */
  _onAck(id: number, args: unknown[]): void {
    const pending = this.#acks.get(id);
    if (!pending) return;
    this.#acks.delete(id);
    pending.answer(args);
  }

  /** Waits for the client's answer to ack `id` of a broadcast. @internal */
  _expectAck(id: number, pending: PendingAck): void {
    this.#acks.set(id, pending);
  }

  /** Stops waiting for ack `id`. @internal */
  _forgetAck(id: number): void {
    this.#acks.delete(id);
  }

  /** The socket left (the core already forgot it). @internal */
  _onClose(reason: DisconnectReason): void {
    if (this.#state !== "connected") return;
    this.emitReserved("disconnecting", reason, undefined);
    this.nsp.adapter._delAll(this.id, this.rooms);
    this.rooms.clear();
    this.nsp._remove(this);
    this.#state = "closed";
    const pending = [...this.#acks.values()];
    this.#acks.clear();
    for (const p of pending) {
      try {
        p.gone?.();
      } catch (e) {
        reportError(e, () => this.#about("an acknowledgement callback"));
      }
    }
    this.emitReserved("disconnect", reason, undefined);
  }
}

function removeFrom(
  list: Listener[] | undefined,
  listener: Listener | undefined,
): Listener[] | undefined {
  if (!list) return list;
  if (!listener) return [];
  const i = list.indexOf(listener);
  if (i >= 0) list.splice(i, 1);
  return list;
}
