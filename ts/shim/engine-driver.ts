/**
 * `EngineDriver`: runs an Engine.IO (or Socket.IO) core inside a Durable Object.
 *
 * It turns runtime events into calls of the WebAssembly core and the core's actions
 * into runtime calls:
 *
 * | runtime event                      | core call                               |
 * | ---------------------------------- | --------------------------------------- |
 * | `fetch` handshake (polling / ws)   | `classify`, `allowRequest`, `open`      |
 * | `fetch` GET / POST with `sid`      | `poll` / `post`                         |
 * | `fetch` WebSocket with `sid`       | `beginUpgrade`                          |
 * | `webSocketMessage`                 | `wsText` / `wsBinary`                   |
 * | `webSocketClose`/`webSocketError`  | `wsClosed`                              |
 * | `alarm`                            | `tick`                                  |
 *
 * | core action | runtime call                                              |
 * | ----------- | --------------------------------------------------------- |
 * | `respond`   | resolves the held `fetch` with a `Response`               |
 * | `wsSend`    | `ws.send`                                                 |
 * | `wsClose`   | `ws.close`                                                |
 * | `persist`   | `ws.serializeAttachment` (survives hibernation)           |
 * | `setAlarm`  | `ctx.storage.setAlarm`                                    |
 *
 * WebSockets are accepted with `ctx.acceptWebSocket` (hibernation API) and tagged with
 * their session id. No timer keeps the object awake: the heartbeat runs on the alarm.
 *
 * **Engine.IO v3** (`allowEIO3`). Clients of protocol v3 ping the server (`2`) and expect
 * `3`: the driver has the runtime answer them (`setWebSocketAutoResponse`), so that an
 * idle v3 WebSocket does not wake the object. The core does not see those pings: when
 * it revives a v3 session, and on the alarm for the v3 sessions past their deadline
 * (`pingChecks`), the driver tells it when the runtime last answered one
 * (`getWebSocketAutoResponseTimestamp`).
 *
 * **Turns.** Each runtime event is one turn: the core's calls made during it (the app's
 * listeners included) are followed by one end-of-turn step, which runs the owner's
 * `turnEnd` (the Socket.IO layer writes its room changes and `socket.data` there) and
 * then answers held polls with what the turn queued. A core call made outside any
 * runtime event (a timer of the app, the continuation of an `await`) ends its own turn
 * in a microtask.
 *
 * **Hibernation.** The driver is the one owner of the sessions' way back after an
 * eviction. Words used throughout: a session is *revived* when its snapshot (the
 * WebSocket's attachment) is handed back to the core; the owner then *loads* what it
 * stored about that session (`reviving`, `using`).
 */
import { corsHeaders } from "../cors.js";
import type { DebugLog } from "../debug.js";
import { type EngineOptions, matchesPath, normalizePath, PATH_HEADER } from "../options.js";
import {
  type CoreAction,
  type CoreOutput,
  type EngineCore,
  forbidden,
  isHeartbeat,
  type SessionSnapshot,
  type SocketCore,
  type StoredSocketRow,
} from "./wasm.js";

/** The actions the driver carries out itself. */
type DriverAction = Extract<
  CoreAction,
  {
    type:
      | "opened"
      | "message"
      | "closed"
      | "respond"
      | "wsSend"
      | "wsSendMany"
      | "wsClose"
      | "persist"
      | "setAlarm";
  }
>;

/** The actions the driver hands to its owner: those of the Socket.IO layer. */
export type SocketAction = Exclude<CoreAction, DriverAction>;

/**
 * What a WebSocket carries through hibernation: the session snapshot of a `persist`
 * action, or only the sid while the socket is an upgrade probe (`probe`) or detached.
 */
export type Attachment = SessionSnapshot | { sid: string; probe?: true; nextPingAt?: undefined };

/** Data of an Engine.IO message: text, or bytes. */
export type EngineData = string | Uint8Array;

/** Why an Engine.IO session closed (Socket.IO's reason strings). */
export type EngineCloseReason =
  | "transport close"
  | "transport error"
  | "ping timeout"
  | "parse error"
  | "forced close";

/** Work of the layers above the engine that runs on the object's one alarm. */
export interface AlarmWork {
  /** What it is, for the log of a failure. */
  readonly name: string;
  /**
   * Runs what is due at `now` and answers when it next needs the alarm (epoch ms), or
   * `undefined` for never. The alarm awaits a returned promise; a failure is logged
   * and the other work still runs.
   */
  due(now: number): number | undefined | Promise<number | undefined>;
}

/** What the driver tells the object that owns it. Every member is optional. */
export interface EngineEvents {
  /** A session opened; `request` is its handshake request. */
  opened?(sid: string, request: Request): void;
  /** A message arrived on a session (bare Engine.IO use). */
  message?(sid: string, data: EngineData): void;
  /** A session closed. */
  closed?(sid: string, reason: EngineCloseReason): void;
  /**
   * An action of the Socket.IO layer (only a Socket.IO core returns them); `binaries`
   * holds the bytes its attachments refer to by index.
   */
  socketAction?(action: SocketAction, binaries: Uint8Array[]): void;
  /**
   * A hibernated session is being revived: what the core needs with it (the Socket.IO
   * layer's stored sockets of that session), when `load` is true: the session is about
   * to be used (a message other than a pong, or its close) or expired (its sockets must
   * leave now), not only pinged by the alarm. Whatever it returns is loaded with it.
   */
  reviving?(att: SessionSnapshot, load: boolean): StoredSocketRow[] | undefined;
  /** Whether what the owner stored about session `sid` is loaded in the core. */
  isLoaded?(sid: string): boolean;
  /**
   * Session `sid`, already revived, is about to be used (a message other than a pong,
   * or its close) and `isLoaded` said no: load what was stored about it.
   */
  load?(sid: string): void;
  /** The end of a turn, before held polls are answered. */
  turnEnd?(): void;
  /** Requests outside the Engine.IO path; 404 when absent. */
  otherRequest?(request: Request): Response | Promise<Response>;
  /**
   * A handshake was answered: session `sid` is open over `transport` (its first packet
   * is on its way). Runs after the actions of the handshake.
   */
  connection?(sid: string, transport: "polling" | "websocket"): void;
  /** A request was refused with an Engine.IO error; `body` is `{"code":..,"message":..}`. */
  refused?(request: Request, body: string): void;
  /**
   * The headers of an Engine.IO response to `request` (`initial`: a handshake's), before
   * the response is made: they may be changed.
   */
  headers?(headers: Headers, request: Request, initial: boolean): void;
  /** A WebSocket attached to polling session `sid` for an upgrade. */
  upgrading?(sid: string): void;
  /** The upgrade of session `sid` ended without upgrading. */
  upgradeFailed?(sid: string): void;
  /** Session `sid` moved from long-polling to WebSocket. */
  upgraded?(sid: string): void;
  /** A hibernated session was handed back to the core (and is still open). */
  revived?(sid: string): void;
}

/**
 * Told of the packets of every session, once set on the driver (`packetTap`): a
 * WebSocket frame, or (`polling`) a long-polling payload. The frames of an upgrade's
 * probe are not told of.
 */
export interface PacketTap {
  /** Packets arrived from the client, before the core reads them. */
  received(sid: string, data: string | Uint8Array, polling: boolean): void;
  /** Packets leave for the client. */
  sent(sid: string, data: string | Uint8Array, polling: boolean): void;
}

interface HeldRequest {
  resolve: (r: Response) => void;
  headers: Headers;
  /** The request being answered. */
  request: Request;
  /** Whether it is a handshake. */
  initial: boolean;
  /** The session of a poll (a GET whose answer carries packets). */
  sid?: string;
}

const NO_BINARIES: Uint8Array[] = [];

/**
 * Whether a frame is a pong, which concerns the engine session alone: the layers above
 * need not load their state for it.
 */
function isPong(message: string | ArrayBuffer | undefined): boolean {
  return typeof message === "string" && isHeartbeat(message);
}

/** A frame of an action: its text, or its bytes (by index in the output's binaries). */
function frameOf(frame: string | number, binaries: Uint8Array[]): string | Uint8Array {
  return typeof frame === "string" ? frame : (binaries[frame] ?? new Uint8Array(0));
}

/** A WebSocket whose session has ended (detached): its later events are ignored. */
const DETACHED = "";

function randomBytes(): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(15));
}

/** Logs an exception that escaped a runtime entry point or step of the object. */
export function logFailure(entry: string, error: unknown): void {
  console.error(`socket.io-durable: ${entry} failed:`, error);
}

/** Runs `fn`, logging (not throwing) what it throws. */
function guarded(entry: string, fn: () => void): void {
  try {
    fn();
  } catch (error) {
    logFailure(entry, error);
  }
}

function jsonError(status: number, body: string, headers: Headers): Response {
  headers.set("Content-Type", "application/json");
  return new Response(body, { status, headers });
}

/** Runs one core inside a Durable Object (see the module comment). */
export class EngineDriver {
  /** The core state machine. */
  readonly core: EngineCore | SocketCore;
  readonly #ctx: DurableObjectState;
  readonly #options: EngineOptions;
  readonly #events: EngineEvents;
  readonly #path: string;
  /** The current WebSocket of each session. */
  readonly #sockets = new Map<string, WebSocket>();
  /** The session of each WebSocket met in this start (`DETACHED` once it ended). */
  readonly #sessions = new Map<WebSocket, string>();
  readonly #held = new Map<number, HeldRequest>();
  #nextReq = 1;
  /** Depth of the runtime events being handled (a turn ends when it drops to 0). */
  #depth = 0;
  #endQueued = false;
  /** Set once every hibernated WebSocket session has been handed back to the core. */
  #allRevived = false;
  /** A WebSocket waiting for the `opened` action of its handshake. */
  #handshakeSocket: WebSocket | null = null;
  /** The request of the handshake in progress. */
  #handshakeRequest: Request | null = null;
  /** The `socket.io-durable:engine` debug log, when it is on. */
  readonly #log: DebugLog | undefined;
  /** Work of the layers above that runs on the alarm too. */
  readonly #alarmWork: AlarmWork[] = [];
  /** Whether the core knows the alarm set in storage (read once the object starts). */
  #alarmKnown = false;
  /** The earliest alarm requested before that (by the app's `setup`). */
  #earlyAlarm: number | undefined;
  /** Polling sessions with a WebSocket attached for an upgrade. */
  readonly #upgrading = new Set<string>();
  /** The session the handshake in progress opened. */
  #opened: { sid: string; transport: "polling" | "websocket" } | null = null;
  /** Told of every packet once set (someone listens to packets); `undefined` costs nothing. */
  packetTap: PacketTap | undefined;

  constructor(
    ctx: DurableObjectState,
    core: EngineCore | SocketCore,
    options: EngineOptions,
    events: EngineEvents,
    log?: DebugLog,
  ) {
    this.#ctx = ctx;
    this.core = core;
    this.#options = options;
    this.#events = events;
    this.#log = log;
    this.#path = normalizePath(options.path);
    if (options.allowEIO3) {
      // Protocol v3 clients ping; the runtime answers without waking the object. (A v4
      // client never sends a bare "2": its pings come from the server.)
      ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair("2", "3"));
    }
    void ctx.blockConcurrencyWhile(async () => {
      const alarm = await ctx.storage.getAlarm();
      core.setKnownAlarm(alarm ?? undefined);
      this.#alarmKnown = true;
      const early = this.#earlyAlarm;
      this.#earlyAlarm = undefined;
      if (early !== undefined) this.requestAlarm(early);
    });
  }

  // ---- turns ----------------------------------------------------------------------

  /** Runs `fn` as (part of) a turn; the turn ends when the outermost call returns. */
  turn<T>(fn: () => T): T {
    this.#depth++;
    try {
      return fn();
    } finally {
      if (--this.#depth === 0) this.#endTurn();
    }
  }

  /** Makes sure the current turn ends: now if no runtime event is being handled. */
  endTurnSoon(): void {
    if (this.#depth > 0 || this.#endQueued) return;
    this.#endQueued = true;
    queueMicrotask(() => {
      this.#endQueued = false;
      this.#endTurn();
    });
  }

  #endTurn(): void {
    const end = this.#events.turnEnd;
    if (end) guarded("the end of a turn", () => end());
    guarded("flush", () => {
      if (this.core.needsFlush()) this.run(this.core.flush());
    });
  }

  // ---- app-facing calls -----------------------------------------------------------

  /** Sends a message to session `sid` (text, or bytes as a binary message). */
  send(sid: string, data: string | ArrayBuffer | ArrayBufferView): void {
    let actions: CoreOutput;
    if (typeof data === "string") {
      actions = this.core.sendText(sid, data);
    } else {
      const bytes =
        data instanceof ArrayBuffer
          ? new Uint8Array(data)
          : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      actions = this.core.sendBinary(sid, bytes);
    }
    this.run(actions);
    this.endTurnSoon();
  }

  /** Closes session `sid` from the server side. */
  close(sid: string): void {
    this.run(this.core.close(sid));
    this.endTurnSoon();
  }

  /** Number of open sessions (every hibernated one revived first). */
  clientsCount(): number {
    this.reviveAll(Date.now());
    return this.core.clientsCount();
  }

  // ---- runtime entry points -------------------------------------------------------

  /** The object's `fetch`: answers 500 (and logs) if handling it throws. */
  async fetch(request: Request): Promise<Response> {
    try {
      return await this.#fetch(request);
    } catch (error) {
      logFailure("fetch", error);
      return new Response("Internal Server Error", { status: 500 });
    }
  }

  async #fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    // The router's path, when it forwarded the request (the client's path); else ours.
    const path = request.headers.get(PATH_HEADER) ?? this.#path;
    if (!matchesPath(url.pathname, path)) {
      const other = this.#events.otherRequest;
      return other ? other(request) : new Response("Not found", { status: 404 });
    }
    const cors = this.#options.cors;
    if (request.method === "OPTIONS" && cors) {
      const headers = await corsHeaders(cors, request, true);
      return new Response(null, { status: cors.optionsSuccessStatus ?? 204, headers });
    }
    const headers = await corsHeaders(cors, request, false);
    const q = url.searchParams;
    const upgrade = request.headers.get("Upgrade")?.toLowerCase() === "websocket";
    const c = this.core.classify(
      request.method,
      q.get("transport") ?? undefined,
      q.get("EIO") ?? undefined,
      q.get("sid") ?? undefined,
      upgrade,
    );
    if ("error" in c) {
      this.#log?.(`refused ${request.method} ${url.search}: ${c.error.status} ${c.error.body}`);
      this.#events.refused?.(request, c.error.body);
      return jsonError(c.error.status, c.error.body, headers);
    }
    switch (c.route) {
      case "handshake": {
        const refusal = await this.#checkAllowRequest(request);
        if (refusal !== null) {
          const answer = forbidden(refusal);
          this.#log?.(`handshake refused by allowRequest: ${answer.status} ${answer.body}`);
          this.#events.refused?.(request, answer.body);
          return jsonError(answer.status, answer.body, headers);
        }
        return this.turn(() => {
          this.#handshakeRequest = request;
          let response: Response | Promise<Response>;
          try {
            const eio = q.get("EIO") ?? undefined;
            if (c.transport === "polling") {
              const [req, held] = this.#hold(headers, request, true);
              this.run(this.core.open(Date.now(), "polling", req, randomBytes(), eio));
              response = held;
            } else {
              this.#events.headers?.(headers, request, true);
              const pair = new WebSocketPair();
              this.#handshakeSocket = pair[1];
              this.run(this.core.open(Date.now(), "websocket", undefined, randomBytes(), eio));
              response = new Response(null, { status: 101, webSocket: pair[0], headers });
            }
          } finally {
            this.#handshakeSocket = null;
            this.#handshakeRequest = null;
          }
          const opened = this.#opened;
          this.#opened = null;
          if (opened) this.#events.connection?.(opened.sid, opened.transport);
          return response;
        });
      }
      case "poll":
        return this.turn(() => {
          const [req, response] = this.#hold(headers, request, false, c.sid);
          this.run(this.core.poll(Date.now(), c.sid, req));
          return response;
        });
      case "post": {
        const body = new Uint8Array(await request.arrayBuffer());
        const type = request.headers.get("Content-Type") ?? undefined;
        return this.turn(() => {
          const tap = this.packetTap;
          if (tap && this.core.hasSession(c.sid)) {
            tap.received(c.sid, new TextDecoder().decode(body), true);
          }
          const [req, response] = this.#hold(headers, request, false);
          this.run(this.core.post(Date.now(), c.sid, req, type, body));
          return response;
        });
      }
      case "upgrade":
        return this.turn(() => {
          const r = this.core.beginUpgrade(Date.now(), c.sid);
          if (!Array.isArray(r)) {
            this.#log?.(`upgrade of ${c.sid} refused: ${r.error.status} ${r.error.body}`);
            this.#events.refused?.(request, r.error.body);
            return jsonError(r.error.status, r.error.body, headers);
          }
          this.#log?.(`session ${c.sid} upgrading to websocket`);
          this.#events.headers?.(headers, request, false);
          const pair = new WebSocketPair();
          const ws = pair[1];
          this.#ctx.acceptWebSocket(ws, [c.sid]);
          ws.serializeAttachment({ sid: c.sid, probe: true } satisfies Attachment);
          this.#attach(c.sid, ws);
          this.#upgrading.add(c.sid);
          this.run(r);
          this.#events.upgrading?.(c.sid);
          return new Response(null, { status: 101, webSocket: pair[0], headers });
        });
      case "closeAtOnce": {
        this.#events.headers?.(headers, request, false);
        const pair = new WebSocketPair();
        pair[1].accept();
        pair[1].close();
        return new Response(null, { status: 101, webSocket: pair[0], headers });
      }
    }
  }

  /** The object's `webSocketMessage`. */
  webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): void {
    guarded("webSocketMessage", () =>
      this.turn(() => {
        const sid = this.#sessionOf(ws, message);
        if (sid === null) return;
        const tap = this.packetTap;
        // The frames of an upgrade's probe are the transport's, not the session's.
        if (tap && !this.#upgrading.has(sid)) {
          tap.received(sid, typeof message === "string" ? message : new Uint8Array(message), false);
        }
        const now = Date.now();
        this.run(
          typeof message === "string"
            ? this.core.wsText(now, sid, message)
            : this.core.wsBinary(now, sid, new Uint8Array(message)),
        );
      }),
    );
  }

  /** The object's `webSocketClose`. */
  webSocketClose(ws: WebSocket): void {
    guarded("webSocketClose", () => this.turn(() => this.#socketGone(ws, false)));
    try {
      ws.close();
    } catch {
      // already closed
    }
  }

  /** The object's `webSocketError`. */
  webSocketError(ws: WebSocket): void {
    guarded("webSocketError", () => this.turn(() => this.#socketGone(ws, true)));
  }

  /** The object's `alarm`: the heartbeat's tick, then each registered work that is due. */
  async alarm(): Promise<void> {
    const now = Date.now();
    guarded("alarm", () =>
      this.turn(() => {
        this.reviveAll(now);
        // Protocol v3 sessions near their deadline: the runtime may have answered
        // their pings.
        const checks = this.#options.allowEIO3 ? this.core.pingChecks(now) : [];
        for (const sid of checks) {
          const ws = this.#socketFor(sid);
          const at = ws ? this.#ctx.getWebSocketAutoResponseTimestamp(ws) : null;
          if (at) this.run(this.core.pingAnswered(now, sid, at.getTime()));
        }
        this.run(this.core.tick(now));
      }),
    );
    for (const work of this.#alarmWork) {
      let next: number | undefined;
      try {
        next = await work.due(now);
      } catch (error) {
        logFailure(`the alarm's ${work.name}`, error);
        continue;
      }
      if (next !== undefined) this.requestAlarm(next);
    }
  }

  /**
   * Registers work that runs on the object's one alarm, beside the heartbeat. It is
   * asked what is due each time the alarm fires (see {@link AlarmWork}).
   */
  addAlarmWork(work: AlarmWork): void {
    this.#alarmWork.push(work);
  }

  /**
   * Makes sure the alarm fires at or before `at` (epoch ms). Only earlier times move
   * the alarm; when it fires, every {@link AlarmWork} tells its next time again.
   */
  requestAlarm(at: number): void {
    if (!this.#alarmKnown) {
      // Until the alarm in storage is known, the core could only move it later.
      this.#earlyAlarm = this.#earlyAlarm === undefined ? at : Math.min(this.#earlyAlarm, at);
      return;
    }
    guarded("requestAlarm", () =>
      this.turn(() => this.run(this.core.requestAlarm(Date.now(), at))),
    );
  }

  // ---- hibernation ----------------------------------------------------------------

  /** Revives every hibernated WebSocket session (once per start). */
  reviveAll(now: number): void {
    if (this.#allRevived) return;
    this.#allRevived = true;
    // Live sessions first: closing an expired one runs the app's disconnect
    // listeners, which may need every other session already in place.
    const expired: [WebSocket, SessionSnapshot][] = [];
    for (const ws of this.#ctx.getWebSockets()) {
      // A WebSocket whose close is being handled is still listed while its listeners
      // run (they may broadcast, which revives everything): its session is over.
      if (this.#sessions.get(ws) === DETACHED) continue;
      const stored = ws.deserializeAttachment() as Attachment | null;
      if (!stored || stored.nextPingAt === undefined) continue;
      if (this.core.hasSession(stored.sid)) continue;
      const att = this.#withAnsweredPing(ws, stored);
      if (this.core.isExpired(att, now)) {
        expired.push([ws, att]);
        continue;
      }
      this.#revive(now, ws, att, false);
    }
    for (const [ws, att] of expired) this.#revive(now, ws, att, false);
  }

  /**
   * Hands a hibernated session back to the core. `load`: what the layers above stored
   * about it is needed too (it is about to be used, or it expired and closes now).
   */
  #revive(now: number, ws: WebSocket, stored: SessionSnapshot, load: boolean): void {
    const att = this.#withAnsweredPing(ws, stored);
    this.#attach(att.sid, ws);
    const rows = this.#events.reviving?.(att, load || this.core.isExpired(att, now));
    this.run(this.core.reviveSession(now, att, rows));
    const revived = this.#events.revived;
    if (revived && this.core.hasSession(att.sid)) revived(att.sid);
  }

  /**
   * The snapshot of a protocol v3 session with the time the runtime last answered a ping
   * of its client (which the core did not see); others as they are.
   */
  #withAnsweredPing(ws: WebSocket, att: SessionSnapshot): SessionSnapshot {
    if (att.eio !== 3 || att.pingAnsweredAt !== undefined) return att;
    const at = this.#ctx.getWebSocketAutoResponseTimestamp(ws);
    return at ? { ...att, pingAnsweredAt: at.getTime() } : att;
  }

  #attach(sid: string, ws: WebSocket): void {
    this.#sockets.set(sid, ws);
    this.#sessions.set(ws, sid);
  }

  /**
   * The session of a WebSocket; on its first event in this start, read from its
   * attachment and, if the object was evicted since, revived (only this session).
   * `message`: the frame that arrived, if any. The close of a WebSocket (rare) reads the
   * attachment again, which stays the truth of whether the socket was detached.
   */
  #sessionOf(ws: WebSocket, message?: string | ArrayBuffer): string | null {
    let sid = message === undefined ? undefined : this.#sessions.get(ws);
    if (sid === undefined) {
      const att = ws.deserializeAttachment() as Attachment | null;
      if (!att || typeof att.sid !== "string") {
        try {
          ws.close(1011, "unknown session");
        } catch {
          // already closed
        }
        return null;
      }
      sid = att.sid;
      if (sid !== DETACHED && !this.core.hasSession(sid) && att.nextPingAt !== undefined) {
        this.#revive(Date.now(), ws, att, !isPong(message));
        return sid;
      }
      this.#sessions.set(ws, sid);
      if (sid !== DETACHED && !this.#sockets.has(sid)) this.#sockets.set(sid, ws);
    }
    if (sid === DETACHED) return null;
    const ev = this.#events;
    if (ev.load && !ev.isLoaded?.(sid) && !isPong(message)) ev.load(sid);
    return sid;
  }

  #socketGone(ws: WebSocket, error: boolean): void {
    const sid = this.#sessionOf(ws);
    if (sid === null) return;
    this.#sessions.set(ws, DETACHED);
    if (this.#sockets.get(sid) === ws) this.#sockets.delete(sid);
    this.run(this.core.wsClosed(Date.now(), sid, error));
    // The probe of an upgrade closed: the session goes on polling.
    if (this.#upgrading.delete(sid)) this.#events.upgradeFailed?.(sid);
  }

  #socketFor(sid: string): WebSocket | undefined {
    let ws = this.#sockets.get(sid);
    if (!ws) {
      ws = this.#ctx.getWebSockets(sid)[0];
      if (ws) this.#attach(sid, ws);
    }
    return ws;
  }

  // ---- requests -------------------------------------------------------------------

  #hold(
    headers: Headers,
    request: Request,
    initial: boolean,
    sid?: string,
  ): [number, Promise<Response>] {
    const req = this.#nextReq++;
    const response = new Promise<Response>((resolve) => {
      this.#held.set(req, { resolve, headers, request, initial, sid });
    });
    return [req, response];
  }

  async #checkAllowRequest(request: Request): Promise<string | null> {
    const hook = this.#options.allowRequest;
    if (!hook) return null;
    return new Promise((resolve) => {
      try {
        hook(request, (err, success) => resolve(success ? null : (err ?? "Forbidden")));
      } catch (e) {
        resolve(e instanceof Error ? e.message : "Forbidden");
      }
    });
  }

  // ---- actions --------------------------------------------------------------------

  /**
   * Carries out core actions in order. An action that throws (a storage error, say) is
   * logged and the rest of the batch still runs: the core has already moved on, so
   * dropping the remaining actions (a CONNECT answer, a close) would leave clients and
   * the core out of step.
   */
  run(actions: CoreOutput): void {
    const binaries = actions.binaries ?? NO_BINARIES;
    // A plain try/catch here, not guarded(): no closure per action on the hot path.
    for (const a of actions) {
      try {
        this.#runAction(a, binaries);
      } catch (error) {
        logFailure(`the "${a.type}" action`, error);
      }
    }
  }

  #runAction(a: CoreAction, binaries: Uint8Array[]): void {
    switch (a.type) {
      case "opened": {
        if (a.transport === "websocket" && this.#handshakeSocket) {
          const ws = this.#handshakeSocket;
          this.#handshakeSocket = null;
          this.#ctx.acceptWebSocket(ws, [a.sid]);
          ws.serializeAttachment({ sid: a.sid } satisfies Attachment);
          this.#attach(a.sid, ws);
        }
        this.#log?.(`session ${a.sid} opened over ${a.transport}`);
        if (this.#handshakeRequest) {
          this.#opened = { sid: a.sid, transport: a.transport };
          this.#events.opened?.(a.sid, this.#handshakeRequest);
        }
        break;
      }
      case "message":
        this.#events.message?.(a.sid, frameOf(a.data, binaries));
        break;
      case "closed":
        this.#log?.(`session ${a.sid} closed (${a.reason})`);
        this.#sockets.delete(a.sid);
        this.#upgrading.delete(a.sid);
        this.#events.closed?.(a.sid, a.reason);
        break;
      case "respond": {
        const h = this.#held.get(a.req);
        if (!h) break;
        this.#held.delete(a.req);
        if (a.contentType) h.headers.set("Content-Type", a.contentType);
        this.#events.headers?.(h.headers, h.request, h.initial);
        // A lone noop ends a poll for the transport's sake (an upgrade), as in Node.
        if (h.sid !== undefined && this.packetTap && a.body !== "6") {
          this.packetTap.sent(h.sid, a.body, true);
        }
        h.resolve(new Response(a.body || null, { status: a.status, headers: h.headers }));
        break;
      }
      case "wsSend": {
        const ws = this.#socketFor(a.sid);
        const frame = frameOf(a.frame, binaries);
        if (this.packetTap && !(frame === "3probe" && this.#upgrading.has(a.sid))) {
          this.packetTap.sent(a.sid, frame, false);
        }
        try {
          ws?.send(frame);
        } catch {
          // the socket is closing; its close event ends the session
        }
        break;
      }
      case "wsSendMany": {
        const frame = frameOf(a.frame, binaries);
        const tap = this.packetTap;
        if (tap) for (const sid of a.sids) tap.sent(sid, frame, false);
        for (const sid of a.sids) {
          try {
            this.#socketFor(sid)?.send(frame);
          } catch {
            // the socket is closing; its close event ends the session
          }
        }
        break;
      }
      case "wsClose": {
        const ws = this.#socketFor(a.sid);
        this.#sockets.delete(a.sid);
        // The server closed the probe of an upgrade: the session goes on polling.
        if (this.#upgrading.delete(a.sid)) this.#events.upgradeFailed?.(a.sid);
        if (ws) {
          // Detach first so that the close event of this socket is not taken for
          // the close of a later transport of the same session.
          ws.serializeAttachment({ sid: DETACHED } satisfies Attachment);
          this.#sessions.set(ws, DETACHED);
          try {
            ws.close(a.code, a.reason);
          } catch {
            // already closed
          }
        }
        break;
      }
      case "persist": {
        // Only WebSocket sessions are persisted: a polling one that is, just upgraded.
        if (this.#upgrading.delete(a.sid)) this.#events.upgraded?.(a.sid);
        const ws = this.#socketFor(a.sid);
        ws?.serializeAttachment({
          sid: a.sid,
          nextPingAt: a.nextPingAt,
          pongDeadline: a.pongDeadline,
          ...(a.eio === 3 ? { eio: 3 as const } : {}),
        } satisfies Attachment);
        break;
      }
      case "setAlarm":
        void this.#ctx.storage.setAlarm(a.at);
        break;
      default:
        this.#events.socketAction?.(a, binaries);
    }
  }
}
