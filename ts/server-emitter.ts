/**
 * `socketIo(env.CHAT)`: the Socket.IO server seen from any Worker code outside it (a
 * `fetch` route, a cron, a queue consumer, another Durable Object). It broadcasts,
 * queries sockets, changes rooms and emits server-side events, on every shard.
 *
 * ```ts
 * await socketIo(env.CHAT).to("news").emit("headline", text);
 * await socketIo(env.CHAT, { name: "tenant-7" }).of("/admin").disconnectSockets(true);
 * await socketIo(env.CHAT, { jurisdiction: "eu" }).emit("notice", text);
 * ```
 *
 * Each call is one RPC to the server's shard 0, which carries it out on every shard
 * (as if one of its own listeners had made it) and resolves once they all did.
 */
// biome-ignore-all lint/suspicious/noExplicitAny: event maps and data default to `any` as in Socket.IO
import type { ShardRequest } from "./api/cluster.js";
import { decode, encode, fromJson } from "./api/codec.js";
import type { Server } from "./api/server.js";
import type { GatheredAnswers, ServerRequest, ShardSocketRecord } from "./api/shard-service.js";
import type { Handshake } from "./api/socket.js";
import type {
  AllButLast,
  DefaultEventsMap,
  EventNames,
  EventNamesWithAck,
  EventParams,
  EventsMap,
  FirstNonErrorArg,
  Last,
} from "./api/typed-events.js";
import { inJurisdiction, isServerName, shardName } from "./shards.js";

/** Options of {@link socketIo}. */
export interface EmitterOptions {
  /**
   * The server (partition) to reach: the name `routeSocketIo`'s `name` option gives its
   * requests (default `"default"`). The shard count is not repeated here: the server
   * knows it.
   */
  name?: string;
  /**
   * The jurisdiction the server's objects are in: the `jurisdiction` its router
   * (`routeSocketIo`) was given. Without it, a server made in a jurisdiction is not
   * reached (the same name outside of it is another, empty server).
   */
  jurisdiction?: DurableObjectJurisdiction;
}

/** The binding of a Socket.IO Durable Object class, as the emitter uses it. */
export interface EmitterNamespace {
  /** Derives the object id of a name. */
  idFromName(name: string): DurableObjectId;
  /** A stub of the object. */
  get(id: DurableObjectId): unknown;
  /** The subnamespace of a jurisdiction (needed by the `jurisdiction` option only). */
  jurisdiction?(jurisdiction: DurableObjectJurisdiction): EmitterNamespace;
}

/** The event maps of a `SocketIoServer` subclass. */
type EmitEventsOf<T> = T extends { io: Server<any, infer E, any, any> } ? E : DefaultEventsMap;
type ServerSideEventsOf<T> = T extends { io: Server<any, any, infer S, any> }
  ? S
  : DefaultEventsMap;
type SocketDataOf<T> = T extends { io: Server<any, any, any, infer D> } ? D : any;

interface ServerService {
  socketIoServer(request: ServerRequest): Promise<unknown>;
  socketIoShard(request: ShardRequest): Promise<unknown>;
}

/**
 * The Socket.IO server of a Durable Object binding, for code outside it. Typed with
 * the server's event maps when the binding is typed (`DurableObjectNamespace<Chat>`).
 */
export function socketIo<T extends Rpc.DurableObjectBranded | undefined = undefined>(
  namespace: DurableObjectNamespace<T> | EmitterNamespace,
  options: EmitterOptions = {},
): ServerEmitter<EmitEventsOf<T>, ServerSideEventsOf<T>, SocketDataOf<T>> {
  const name = options.name ?? "default";
  if (!isServerName(name)) throw new TypeError("socketIo: invalid server name");
  const ns = inJurisdiction(namespace as EmitterNamespace, options.jurisdiction, "socketIo");
  const shard = (index: number) =>
    ns.get(ns.idFromName(shardName(name, index))) as unknown as ServerService;
  return new ServerEmitter({ shard, nsp: "/", rooms: [], except: [], flags: {} });
}

interface EmitterState {
  shard(index: number): ServerService;
  nsp: string;
  rooms: string[];
  except: string[];
  flags: { volatile?: boolean; timeout?: number };
}

/** A socket as the emitter's `fetchSockets()` returns it; its methods act on its shard. */
export interface EmitterSocket<EmitEvents extends EventsMap, SocketData> {
  /** The socket's id. */
  readonly id: string;
  /** What the client sent when it connected. */
  readonly handshake: Handshake;
  /** The rooms the socket is in. */
  readonly rooms: Set<string>;
  /** The app's data of the socket. */
  readonly data: SocketData;
  /** The shard that holds it. */
  readonly shard: number;
  /** Sends an event to this client. */
  emit<Ev extends EventNames<EmitEvents>>(
    ev: Ev,
    ...args: EventParams<EmitEvents, Ev>
  ): Promise<void>;
  /** Joins room(s). */
  join(room: string | string[]): Promise<void>;
  /** Leaves room(s). */
  leave(room: string | string[]): Promise<void>;
  /** Disconnects the socket; with `close`, its whole connection. */
  disconnect(close?: boolean): Promise<void>;
}

/**
 * Targets sockets of a namespace (every socket, or those in the `to()` rooms and none
 * of the `except()` rooms) on every shard. Chaining returns a new emitter.
 */
export class ServerEmitter<
  EmitEvents extends EventsMap = DefaultEventsMap,
  ServerSideEvents extends EventsMap = DefaultEventsMap,
  SocketData = any,
> {
  readonly #s: EmitterState;

  /** @internal */
  constructor(state: EmitterState) {
    this.#s = state;
  }

  #with(change: Partial<EmitterState>): ServerEmitter<EmitEvents, ServerSideEvents, SocketData> {
    return new ServerEmitter({ ...this.#s, ...change });
  }

  /** The namespace `nsp` (`/` is added in front when missing). */
  of(nsp: string): ServerEmitter<EmitEvents, ServerSideEvents, SocketData> {
    return this.#with({ nsp: nsp.startsWith("/") ? nsp : `/${nsp}`, rooms: [], except: [] });
  }

  /** Also targets room(s). */
  to(room: string | string[]): ServerEmitter<EmitEvents, ServerSideEvents, SocketData> {
    return this.#with({ rooms: [...this.#s.rooms, ...list(room)] });
  }

  /** Same as {@link to}. */
  in(room: string | string[]): ServerEmitter<EmitEvents, ServerSideEvents, SocketData> {
    return this.to(room);
  }

  /** Leaves out the sockets in room(s). */
  except(room: string | string[]): ServerEmitter<EmitEvents, ServerSideEvents, SocketData> {
    return this.#with({ except: [...this.#s.except, ...list(room)] });
  }

  /** The packet may be dropped for clients that cannot take it right now. */
  get volatile(): ServerEmitter<EmitEvents, ServerSideEvents, SocketData> {
    return this.#with({ flags: { ...this.#s.flags, volatile: true } });
  }

  /** Waits at most `ms` for the acknowledgements of {@link emitWithAck}. */
  timeout(ms: number): ServerEmitter<EmitEvents, ServerSideEvents, SocketData> {
    return this.#with({ flags: { ...this.#s.flags, timeout: ms } });
  }

  #target() {
    return { nsp: this.#s.nsp, rooms: this.#s.rooms, except: this.#s.except };
  }

  #call(request: ServerRequest): Promise<unknown> {
    return this.#s.shard(0).socketIoServer(request);
  }

  /** An emit of `ev` with `args` (encoded once), gathering answers with `ack`. */
  #emitRequest(ev: unknown, args: unknown[], ack: boolean): Promise<unknown> {
    const { json, binaries } = encode([ev, ...args]);
    const { volatile, timeout } = this.#s.flags;
    return this.#call({
      type: "emit",
      event: String(ev),
      target: this.#target(),
      json,
      binaries,
      volatile: volatile === true,
      ack,
      timeout: ack ? timeout : undefined,
    });
  }

  /**
   * Sends an event to the targeted sockets of every shard; resolves once every shard
   * has sent it (rejects when `ev` is reserved or the server cannot be reached).
   */
  async emit<Ev extends EventNames<EmitEvents>>(
    ev: Ev,
    ...args: EventParams<EmitEvents, Ev>
  ): Promise<void> {
    await this.#emitRequest(ev, args, false);
  }

  /**
   * Sends an event and resolves with one answer per recipient; rejects when some did
   * not answer within `timeout(ms)` (the error's `responses` holds those that did).
   */
  async emitWithAck<Ev extends EventNamesWithAck<EmitEvents>>(
    ev: Ev,
    ...args: AllButLast<EventParams<EmitEvents, Ev>>
  ): Promise<FirstNonErrorArg<Last<EventParams<EmitEvents, Ev>>>[]> {
    return settle((await this.#emitRequest(ev, args, true)) as GatheredAnswers) as never;
  }

  /** The targeted sockets of every shard. */
  async fetchSockets(): Promise<EmitterSocket<EmitEvents, SocketData>[]> {
    const records = (await this.#call({
      type: "fetch",
      target: this.#target(),
    })) as ShardSocketRecord[];
    return records.map((r) => new OutsideSocket<EmitEvents, SocketData>(this.#s, r));
  }

  /** Makes the targeted sockets join room(s). */
  async socketsJoin(room: string | string[]): Promise<void> {
    await this.#call({ type: "join", target: this.#target(), rooms: list(room) });
  }

  /** Makes the targeted sockets leave room(s). */
  async socketsLeave(room: string | string[]): Promise<void> {
    await this.#call({ type: "leave", target: this.#target(), rooms: list(room) });
  }

  /** Disconnects the targeted sockets; with `close`, their whole connections. */
  async disconnectSockets(close = false): Promise<void> {
    await this.#call({ type: "disconnect", target: this.#target(), close });
  }

  /** A server-side emit of `ev` with `args`, gathering answers with `ack`. */
  #serverSideRequest(ev: unknown, args: unknown[], ack: boolean): Promise<unknown> {
    const { json, binaries } = encode([ev, ...args]);
    return this.#call({
      type: "serverSideEmit",
      event: String(ev),
      nsp: this.#s.nsp,
      json,
      binaries,
      ack,
    });
  }

  /** Runs the `io.of(nsp).on(ev)` listeners of every shard. */
  async serverSideEmit<Ev extends EventNames<ServerSideEvents>>(
    ev: Ev,
    ...args: EventParams<ServerSideEvents, Ev>
  ): Promise<void> {
    await this.#serverSideRequest(ev, args, false);
  }

  /**
   * Runs the listeners of every shard with an acknowledgement function; resolves with
   * one answer per shard (rejects after 5 s without all of them).
   */
  async serverSideEmitWithAck<Ev extends EventNamesWithAck<ServerSideEvents>>(
    ev: Ev,
    ...args: AllButLast<EventParams<ServerSideEvents, Ev>>
  ): Promise<FirstNonErrorArg<Last<EventParams<ServerSideEvents, Ev>>>[]> {
    return settle((await this.#serverSideRequest(ev, args, true)) as GatheredAnswers) as never;
  }
}

/** A socket the emitter fetched. */
class OutsideSocket<EmitEvents extends EventsMap, SocketData>
  implements EmitterSocket<EmitEvents, SocketData>
{
  readonly id: string;
  readonly handshake: Handshake;
  readonly rooms: Set<string>;
  readonly data: SocketData;
  readonly shard: number;
  readonly #state: EmitterState;

  constructor(state: EmitterState, record: ShardSocketRecord) {
    this.#state = state;
    this.id = record.id;
    this.handshake = record.handshake;
    this.rooms = new Set(record.rooms);
    this.data = fromJson(record.data) as SocketData;
    this.shard = record.shard;
  }

  #target() {
    return { nsp: this.#state.nsp, rooms: [this.id], except: [] };
  }

  async #call(request: ShardRequest): Promise<void> {
    await this.#state.shard(this.shard).socketIoShard(request);
  }

  emit<Ev extends EventNames<EmitEvents>>(
    ev: Ev,
    ...args: EventParams<EmitEvents, Ev>
  ): Promise<void> {
    const { json, binaries } = encode([ev, ...args]);
    return this.#call({ type: "emit", target: this.#target(), json, binaries, volatile: false });
  }

  join(room: string | string[]): Promise<void> {
    return this.#call({ type: "join", target: this.#target(), rooms: list(room) });
  }

  leave(room: string | string[]): Promise<void> {
    return this.#call({ type: "leave", target: this.#target(), rooms: list(room) });
  }

  disconnect(close = false): Promise<void> {
    return this.#call({ type: "disconnect", target: this.#target(), close });
  }
}

function list(room: string | string[]): string[] {
  return Array.isArray(room) ? room : [room];
}

/** The answers, or the error (with the answers that came in `responses`). */
function settle(answers: GatheredAnswers): unknown[] {
  const responses = decode(answers.json, answers.binaries);
  if (answers.error !== undefined) {
    throw Object.assign(new Error(answers.error), { responses });
  }
  return responses;
}
