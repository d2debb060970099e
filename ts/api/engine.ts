/**
 * The Engine.IO layer as the app sees it: `io.engine` (`Engine`) with engine.io's server
 * events (`connection`, `connection_error`, `initial_headers`, `headers`), and one
 * `EngineSocket` per session (`socket.conn`) with its transport, `readyState` and its
 * events (`upgrading`, `upgrade`, `packet`, `packetCreate`, `close`).
 *
 * The protocol itself runs in the core; the driver tells this module what happened, and
 * asks it only when someone listens: packets are decoded for `packet` / `packetCreate`
 * once a listener of them was added (`watchingPackets`), headers are copied into an
 * object only when `headers` or `initial_headers` has listeners.
 */
import type { EngineCloseReason } from "../shim/engine-driver.js";
import { TypedEmitter } from "./emitter.js";
import type { HandshakeBase } from "./handshake.js";
import type { ReservedOrUserEventNames, ReservedOrUserListener } from "./typed-events.js";

/** Name of an Engine.IO transport. */
export type TransportName = "polling" | "websocket";

/** An Engine.IO transport, as engine.io's events hand it out: its `name`. */
export interface EngineTransport {
  /** `"polling"` or `"websocket"`. */
  readonly name: TransportName;
}

const TRANSPORTS: Record<TransportName, EngineTransport> = {
  polling: Object.freeze({ name: "polling" }),
  websocket: Object.freeze({ name: "websocket" }),
};

/** Names of the Engine.IO packet types, by their digit. */
const PACKET_TYPES = ["open", "close", "ping", "pong", "message", "upgrade", "noop"] as const;

/** Type of an Engine.IO packet. */
export type EnginePacketType = (typeof PACKET_TYPES)[number];

/** An Engine.IO packet, as the `packet` and `packetCreate` events hand it out. */
export interface EnginePacket {
  /** The packet's type. */
  type: EnginePacketType;
  /** Its data: the text after the type, or the bytes of a binary message. */
  data?: string | Uint8Array;
}

/** Why a connection was refused, as engine.io's `connection_error` event describes it. */
export interface EngineConnectionError {
  /** The refused request. */
  req: Request;
  /** The Engine.IO error code (0 unknown transport, 1 unknown sid, 2 bad handshake method, 3 bad request, 4 forbidden, 5 unsupported protocol version). */
  code: number;
  /** The error message sent to the client (`"Session ID unknown"`, ...). */
  message: string;
  /** Details: `{ transport }`, `{ sid }`, `{ method }`, `{ name, ... }`, `{ message }` or `{ protocol }`, by code. */
  context: Record<string, unknown>;
}

/** Response headers handed to `initial_headers` / `headers` listeners, by name (lowercase). */
export type EngineHeaders = Record<string, string | string[]>;

/** Events of `io.engine`. */
export interface EngineReservedEvents {
  /** A session opened (its handshake answered); also for a session revived after an eviction, with `recovered` true. */
  connection: (socket: EngineSocket) => void;
  /** A request was refused with an Engine.IO error. */
  connection_error: (err: EngineConnectionError) => void;
  /** The headers of a handshake response; listeners may change them. */
  initial_headers: (headers: EngineHeaders, req: Request) => void;
  /** The headers of every Engine.IO response (the handshake's too); listeners may change them. */
  headers: (headers: EngineHeaders, req: Request) => void;
}

/** Events of an Engine.IO session (`socket.conn`). */
export interface EngineSocketReservedEvents {
  /** A WebSocket attached for an upgrade from long-polling. */
  upgrading: (transport: EngineTransport) => void;
  /** The session moved to WebSocket. */
  upgrade: (transport: EngineTransport) => void;
  /** A packet arrived from the client (heartbeats included). */
  packet: (packet: EnginePacket) => void;
  /** A packet is sent to the client (heartbeats included). */
  packetCreate: (packet: EnginePacket) => void;
  /** The session closed. */
  close: (reason: EngineCloseReason, description?: unknown) => void;
}

/** What an `EngineSocket` asks of its server. @internal */
export interface EngineHost {
  /** The handshake details of session `sid`, if known in this start. */
  handshakeOf(sid: string): HandshakeBase | undefined;
  /** Closes session `sid`. */
  close(sid: string): void;
  /** Someone listens to packets: the driver starts telling of them. */
  watchPackets(): void;
}

/** State of a session, with engine.io's names (a session here is never half-open or closing). */
export type EngineReadyState = "open" | "closed";

/** The event names of an Engine.IO session (`socket.conn`): its own, none of the app's. */
type ConnEventNames = ReservedOrUserEventNames<EngineSocketReservedEvents, Record<never, never>>;

/** The listener of event `Ev` of an Engine.IO session. */
type ConnListener<Ev extends ConnEventNames> = ReservedOrUserListener<
  EngineSocketReservedEvents,
  Record<never, never>,
  Ev
>;

/**
 * One Engine.IO session (engine.io's `Socket`): `socket.conn` of every Socket.IO socket
 * it carries. After an eviction a session's object is made again when first needed
 * (`recovered` is then true).
 */
export class EngineSocket extends TypedEmitter<Record<never, never>, EngineSocketReservedEvents> {
  /** The session id (`sid`). */
  readonly id: string;
  /** The Engine.IO protocol revision (always 4). */
  readonly protocol = 4;
  /** Whether this object was made for a session revived after an eviction. */
  readonly recovered: boolean;
  #transport: EngineTransport;
  #state: EngineReadyState = "open";
  #upgrading = false;
  readonly #host: EngineHost;
  #request: Request | undefined;

  /** @internal */
  constructor(host: EngineHost, sid: string, transport: TransportName, recovered: boolean) {
    super();
    this.#host = host;
    this.id = sid;
    this.#transport = TRANSPORTS[transport];
    this.recovered = recovered;
  }

  /** The current transport: `transport.name` is `"polling"`, then `"websocket"` after an upgrade. */
  get transport(): EngineTransport {
    return this.#transport;
  }

  /** `"open"`, then `"closed"` once the session ended. */
  get readyState(): EngineReadyState {
    return this.#state;
  }

  /** Whether the session moved from long-polling to WebSocket. */
  get upgraded(): boolean {
    return this.#upgraded;
  }
  #upgraded = false;

  /** Whether an upgrade to WebSocket is in progress. */
  get upgrading(): boolean {
    return this.#upgrading;
  }

  /**
   * The handshake request, made again from the handshake details (its url and headers:
   * the original is not kept, so that a session costs no more memory than its
   * handshake). `undefined` while no socket of a session revived after an eviction has
   * been revived, or when the request named no host.
   */
  get request(): Request | undefined {
    if (this.#request) return this.#request;
    const h = this.#host.handshakeOf(this.id);
    const host = h?.headers.host;
    if (!h || !host) return undefined;
    try {
      this.#request = new Request(`${h.secure ? "https" : "http"}://${host}${h.url}`, {
        headers: h.headers,
      });
    } catch {
      return undefined;
    }
    return this.#request;
  }

  /** The client's IP address (`CF-Connecting-IP`), when the handshake is known. */
  get remoteAddress(): string | undefined {
    return this.#host.handshakeOf(this.id)?.address;
  }

  /** Closes the session from the server side: its Socket.IO sockets leave with "forced close". */
  close(): this {
    if (this.#state === "open") this.#host.close(this.id);
    return this;
  }

  override on<Ev extends ConnEventNames>(ev: Ev, listener: ConnListener<Ev>): this {
    this.#watch(ev);
    return super.on(ev, listener);
  }

  override once<Ev extends ConnEventNames>(ev: Ev, listener: ConnListener<Ev>): this {
    this.#watch(ev);
    return super.once(ev, listener);
  }

  override prependListener<Ev extends ConnEventNames>(ev: Ev, listener: ConnListener<Ev>): this {
    this.#watch(ev);
    return super.prependListener(ev, listener);
  }

  override prependOnceListener<Ev extends ConnEventNames>(
    ev: Ev,
    listener: ConnListener<Ev>,
  ): this {
    this.#watch(ev);
    return super.prependOnceListener(ev, listener);
  }

  #watch(ev: string | symbol): void {
    if (ev === "packet" || ev === "packetCreate") this.#host.watchPackets();
  }

  // ---- driven by the engine -------------------------------------------------------

  /** A WebSocket attached for an upgrade. @internal */
  _upgrading(): void {
    if (this.#state !== "open") return;
    this.#upgrading = true;
    this.emitReserved("upgrading", TRANSPORTS.websocket);
  }

  /** The upgrade attempt ended without upgrading. @internal */
  _upgradeFailed(): void {
    this.#upgrading = false;
  }

  /** The session moved to WebSocket. @internal */
  _upgraded(): void {
    if (this.#state !== "open") return;
    this.#upgrading = false;
    this.#upgraded = true;
    this.#transport = TRANSPORTS.websocket;
    this.emitReserved("upgrade", TRANSPORTS.websocket);
  }

  /** Packets arrived: a WebSocket frame, or (`polling`) a payload. @internal */
  _received(data: string | Uint8Array, polling: boolean): void {
    if (this.listenerCount("packet") === 0) return;
    for (const packet of packetsOf(data, polling)) this.emitReserved("packet", packet);
  }

  /** Packets are sent: a WebSocket frame, or (`polling`) a payload. @internal */
  _sent(data: string | Uint8Array, polling: boolean): void {
    if (this.listenerCount("packetCreate") === 0) return;
    for (const packet of packetsOf(data, polling)) this.emitReserved("packetCreate", packet);
  }

  /** The session closed. @internal */
  _closed(reason: EngineCloseReason): void {
    if (this.#state === "closed") return;
    this.#state = "closed";
    this.#upgrading = false;
    this.emitReserved("close", reason, undefined);
  }
}

/** The packets of a WebSocket frame, or of a long-polling payload. */
function packetsOf(data: string | Uint8Array, polling: boolean): EnginePacket[] {
  if (typeof data !== "string") return [{ type: "message", data }];
  if (!polling) return [packetOf(data)];
  const out: EnginePacket[] = [];
  for (const part of data.split("\u001e")) {
    if (part.startsWith("b")) out.push({ type: "message", data: base64Bytes(part.slice(1)) });
    else out.push(packetOf(part));
  }
  return out;
}

function packetOf(text: string): EnginePacket {
  const type = PACKET_TYPES[text.charCodeAt(0) - 48] ?? "message";
  return text.length > 1 ? { type, data: text.slice(1) } : { type };
}

function base64Bytes(b64: string): Uint8Array {
  try {
    return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  } catch {
    return new Uint8Array(0);
  }
}

/** Context of a `connection_error`, as engine.io gives it for each code. */
function errorContext(code: number, message: string, request: Request): Record<string, unknown> {
  const url = new URL(request.url);
  const q = url.searchParams;
  switch (code) {
    case 0:
      return { transport: q.get("transport") ?? undefined };
    case 1:
      return { sid: q.get("sid") ?? undefined };
    case 2:
      return { method: request.method };
    case 3:
      return q.has("sid")
        ? { name: "TRANSPORT_MISMATCH", transport: q.get("transport") ?? undefined }
        : { name: "TRANSPORT_HANDSHAKE_ERROR" };
    case 4:
      return { message };
    default:
      return { protocol: q.get("EIO") ?? undefined };
  }
}

/**
 * `io.engine`: engine.io's server events, the number of open sessions, and the
 * sessions' objects (`socket.conn`).
 */
export class Engine extends TypedEmitter<Record<never, never>, EngineReservedEvents> {
  readonly #count: () => number;
  readonly #host: EngineHost;
  /** The session objects made in this start, by sid. */
  readonly #sockets = new Map<string, EngineSocket>();

  /** @internal */
  constructor(host: EngineHost, count: () => number) {
    super();
    this.#host = host;
    this.#count = count;
  }

  /** Number of open Engine.IO sessions (connections) of this object. */
  get clientsCount(): number {
    return this.#count();
  }

  // ---- driven by the server -------------------------------------------------------

  /** The object of session `sid`, made if needed (a session opened before an eviction). @internal */
  _socket(sid: string): EngineSocket {
    let socket = this.#sockets.get(sid);
    if (!socket) {
      socket = new EngineSocket(this.#host, sid, "websocket", true);
      this.#sockets.set(sid, socket);
    }
    return socket;
  }

  /** The object of session `sid`, if made. @internal */
  _existing(sid: string): EngineSocket | undefined {
    return this.#sockets.get(sid);
  }

  /** Session `sid` opened over `transport` (its handshake answered). @internal */
  _opened(sid: string, transport: TransportName): void {
    const socket = new EngineSocket(this.#host, sid, transport, false);
    this.#sockets.set(sid, socket);
    this.emitReserved("connection", socket);
  }

  /** Session `sid` was revived after an eviction. @internal */
  _revived(sid: string): void {
    if (this.#sockets.has(sid) || this.listenerCount("connection") === 0) return;
    this.emitReserved("connection", this._socket(sid));
  }

  /** Session `sid` closed. @internal */
  _closed(sid: string, reason: EngineCloseReason): void {
    const socket = this.#sockets.get(sid);
    if (!socket) return;
    this.#sockets.delete(sid);
    socket._closed(reason);
  }

  /** A request was refused with the Engine.IO error `body` (`{"code":..,"message":..}`). @internal */
  _refused(request: Request, body: string): void {
    if (this.listenerCount("connection_error") === 0) return;
    let code = 3;
    let message = "Bad request";
    try {
      const parsed = JSON.parse(body) as { code?: unknown; message?: unknown };
      if (typeof parsed.code === "number") code = parsed.code;
      if (typeof parsed.message === "string") message = parsed.message;
    } catch {
      // not the core's JSON: keep the defaults
    }
    this.emitReserved("connection_error", {
      req: request,
      code,
      message,
      context: errorContext(code, message, request),
    });
  }

  /** Lets the listeners change the headers of a response to `request`. @internal */
  _headers(headers: Headers, request: Request, initial: boolean): void {
    const wantInitial = initial && this.listenerCount("initial_headers") > 0;
    if (!wantInitial && this.listenerCount("headers") === 0) return;
    const object: EngineHeaders = {};
    for (const [name, value] of headers) object[name] = value;
    if (wantInitial) this.emitReserved("initial_headers", object, request);
    this.emitReserved("headers", object, request);
    for (const name of [...headers.keys()]) {
      if (!(name in object) && !(name.toLowerCase() in object)) headers.delete(name);
    }
    for (const [name, value] of Object.entries(object)) {
      if (Array.isArray(value)) {
        headers.delete(name);
        for (const v of value) headers.append(name, String(v));
      } else if (value !== undefined && value !== null) {
        headers.set(name, String(value));
      }
    }
  }
}
