/**
 * The contract between the TypeScript side and the WebAssembly core
 * (`rust/wasm/src/lib.rs`): method signatures and the shape of the actions the core
 * returns. Times are milliseconds since the epoch; binary data is `Uint8Array`.
 */

/** Actions of the Engine.IO layer. */
export type EngineAction =
  | { type: "opened"; sid: string; transport: "polling" | "websocket" }
  | { type: "message"; sid: string; text?: string; binary?: Uint8Array }
  | { type: "closed"; sid: string; reason: string }
  | { type: "respond"; req: number; status: number; contentType: string; body: string }
  | { type: "wsSend"; sid: string; text?: string; binary?: Uint8Array }
  | { type: "wsSendMany"; sids: string[]; text?: string; binary?: Uint8Array }
  | { type: "wsClose"; sid: string; code: number; reason: string }
  | { type: "persist"; sid: string; nextPingAt: number; pongDeadline?: number }
  | { type: "setAlarm"; at: number };

/** Actions of the Socket.IO layer (only `SocketCore` returns them). */
export type SocketAction =
  /** Engine session `sid` asks to join namespace `nsp`; `auth` is the JSON text of the CONNECT payload. */
  | { type: "connect"; sid: string; nsp: string; auth?: string }
  /** An EVENT/BINARY_EVENT for socket `socketId`: `data` is the JSON array text as received. */
  | { type: "event"; socketId: string; data: string; ackId?: number; binaries?: Uint8Array[] }
  /** An ACK/BINARY_ACK for an emit of ours with ack id `id`. */
  | { type: "ack"; socketId: string; id: number; data: string; binaries?: Uint8Array[] }
  /** The connection of `socketId` sent an invalid packet and is about to close. */
  | { type: "error"; socketId: string; message: string }
  /** Close engine session `sid` now (`close`): its sockets' `error` listeners have run. */
  | { type: "closeConnection"; sid: string }
  /**
   * A change to apply to storage. `roomsChanged` carries no change itself: room
   * memberships changed, and `takeRoomChanges()` returns them (to write before the turn
   * ends); it comes once until they are taken.
   */
  | {
      type: "store";
      op: "socketAdded" | "socketRemoved" | "roomsChanged" | "ackReserved";
      id: string;
      sid?: string;
      nsp?: string;
      upTo?: number;
    }
  /** Socket `socketId` is gone from the core (rooms already left there). */
  | { type: "disconnect"; socketId: string; reason: string };

/**
 * The room changes of one stored socket since the last `takeRoomChanges()`: rows to add
 * and to remove (a join and a leave of the same room in between cancel out).
 */
export interface RoomChanges {
  /** The socket. */
  id: string;
  /** Its namespace. */
  nsp: string;
  /** Rooms it joined (rows to add). */
  joined: string[];
  /** Rooms it left (rows to remove). */
  left: string[];
}

/** Every action. */
export type CoreAction = EngineAction | SocketAction;

/** Routing verdict of {@link EngineCoreLike.classify}. */
export type Classified =
  | { route: "handshake"; transport: "polling" | "websocket" }
  | { route: "poll" | "post" | "upgrade" | "closeAtOnce"; sid: string }
  | { error: { status: number; body: string } };

/** Methods shared by the bare engine core and the Socket.IO core. */
export interface EngineCoreLike {
  classify(
    method: string,
    transport: string | undefined,
    eio: string | undefined,
    sid: string | undefined,
    websocketUpgrade: boolean,
  ): Classified;
  open(now: number, transport: string, req: number | undefined, random: Uint8Array): CoreAction[];
  /** Brings back a session from its snapshot (with its stored sockets, for SocketCore). */
  restore(now: number, snapshot: unknown, rows: unknown): CoreAction[];
  poll(now: number, sid: string, req: number): CoreAction[];
  post(
    now: number,
    sid: string,
    req: number,
    contentType: string | undefined,
    body: Uint8Array,
  ): CoreAction[];
  beginUpgrade(
    now: number,
    sid: string,
  ): CoreAction[] | { error: { status: number; body: string } };
  wsText(now: number, sid: string, text: string): CoreAction[];
  wsBinary(now: number, sid: string, bytes: Uint8Array): CoreAction[];
  wsClosed(now: number, sid: string, error: boolean): CoreAction[];
  /** Sends a raw Engine.IO message (bare engine use). */
  sendText(sid: string, text: string): CoreAction[];
  /** Sends a raw binary Engine.IO message (bare engine use). */
  sendBinary(sid: string, bytes: Uint8Array): CoreAction[];
  flush(): CoreAction[];
  needsFlush(): boolean;
  /** Closes engine session `sid` from the server side ("forced close"). */
  close(sid: string): CoreAction[];
  tick(now: number): CoreAction[];
  setKnownAlarm(at: number | undefined): void;
  clientsCount(): number;
  hasSession(sid: string): boolean;
  free(): void;
}

/** Result of an emit: the ack id when one was asked for, the recipients of a broadcast with ack. */
export interface EmitResult {
  ackId?: number;
  recipients?: string[];
  actions: CoreAction[];
}

/** The Socket.IO core (`SocketCore` in WASM): the engine methods plus these. */
export interface SocketCoreLike extends EngineCoreLike {
  /**
   * Accepts the pending CONNECT of engine session `sid` to `nsp`: creates a socket with
   * an id made of `random` (15 bytes) and sends the CONNECT answer. `id` is undefined
   * when the engine session is gone.
   */
  accept(sid: string, nsp: string, random: Uint8Array): { id?: string; actions: CoreAction[] };
  /** Refuses a CONNECT with a CONNECT_ERROR carrying `dataJson` (`{"message":...,"data":...}`). */
  connectError(sid: string, nsp: string, dataJson: string): CoreAction[];
  /** Sends an EVENT (BINARY_EVENT when `binaries` is non-empty) to one socket. */
  emitToSocket(
    socketId: string,
    dataJson: string,
    binaries: Uint8Array[],
    withAck: boolean,
    volatile: boolean,
  ): EmitResult;
  /**
   * Sends an EVENT to the sockets of `nsp` in any of `rooms` (all sockets when empty)
   * and in none of `except`. The packet is encoded once.
   */
  broadcast(
    nsp: string,
    rooms: string[],
    except: string[],
    dataJson: string,
    binaries: Uint8Array[],
    withAck: boolean,
    volatile: boolean,
  ): EmitResult;
  /** Answers the client's ack `id` with ACK/BINARY_ACK. */
  ack(socketId: string, id: number, dataJson: string, binaries: Uint8Array[]): CoreAction[];
  /** Adds a socket to rooms. */
  join(socketId: string, rooms: string[]): CoreAction[];
  /** Removes a socket from a room. */
  leave(socketId: string, room: string): CoreAction[];
  /**
   * The room changes of stored sockets since the last call, forgotten by the core once
   * returned; announced by a `roomsChanged` store action.
   */
  takeRoomChanges(): RoomChanges[];
  /**
   * Disconnects a socket: sends DISCONNECT and returns a `disconnect` action with reason
   * "server namespace disconnect"; with `close`, every socket of its engine session is
   * disconnected that way and the engine session is closed.
   */
  disconnectSocket(socketId: string, close: boolean): CoreAction[];
  /** Ids of the sockets of `nsp` in any of `rooms` (all when empty) and none of `except`. */
  socketsIn(nsp: string, rooms: string[], except: string[]): string[];
  /** The rooms of a socket (its own id included). */
  roomsOf(socketId: string): string[];
  /** Every room of `nsp` with its members: `[room, socketIds][]`. */
  roomsIn(nsp: string): [string, string[]][];
  /** Loads stored sockets (`[{ id, sid, nsp, rooms }]`) of sessions the engine knows. */
  restoreSockets(rows: unknown): void;
  /** Resumes ack id allocation of `nsp` at `next`. */
  restoreAckIds(nsp: string, next: number): void;
  /** Whether the socket layer knows engine session `sid`. */
  hasClient(sid: string): boolean;
}
