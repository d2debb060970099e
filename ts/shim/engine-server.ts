/**
 * The Durable Object shim of the Engine.IO layer.
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
 */
import { DurableObject } from "cloudflare:workers";
import { corsHeaders } from "../cors.js";
import { type EngineOptions, matchesPath, normalizePath } from "../options.js";
import type { CoreAction, EngineCoreLike, SocketAction } from "./core-types.js";
import { EngineCore, loadCore } from "./wasm.js";

/** What a WebSocket carries through hibernation. */
export interface Attachment {
  sid: string;
  /** Set while the socket is only an upgrade probe of a polling session. */
  probe?: boolean;
  nextPingAt?: number;
  pongDeadline?: number;
}

interface HeldRequest {
  resolve: (r: Response) => void;
  headers: Headers;
}

/** Data of an Engine.IO message: text, or bytes. */
export type EngineData = string | Uint8Array;

/** Why an Engine.IO session closed (Socket.IO's reason strings). */
export type EngineCloseReason =
  | "transport close"
  | "transport error"
  | "ping timeout"
  | "parse error"
  | "forced close";

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

/**
 * A Durable Object that serves Engine.IO v4 sessions (WebSocket and HTTP
 * long-polling). Subclass it, set `static options`, and override the `onEngine*`
 * hooks; send with {@link EngineIoServer.engineSend}.
 */
export class EngineIoServer<Env = unknown> extends DurableObject<Env> {
  /** Server options; override in the subclass. */
  static options: EngineOptions = {};

  /** The core state machine. */
  protected readonly core: EngineCoreLike;
  /** Options of the concrete class. */
  protected readonly engineOptions: EngineOptions;
  private readonly path: string;
  private readonly sockets = new Map<string, WebSocket>();
  private readonly held = new Map<number, HeldRequest>();
  private nextReq = 1;
  private flushQueued = false;
  /** Set once every hibernated WebSocket session has been handed back to the core. */
  private allRestored = false;
  /** A WebSocket waiting for the `opened` action of its handshake. */
  private handshakeSocket: WebSocket | null = null;
  /** The request of the handshake in progress. */
  private handshakeRequest: Request | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    loadCore();
    this.engineOptions = (this.constructor as typeof EngineIoServer).options ?? {};
    this.path = normalizePath(this.engineOptions.path);
    this.core = this.createCore(this.engineOptions);
    void ctx.blockConcurrencyWhile(async () => {
      const alarm = await ctx.storage.getAlarm();
      this.core.setKnownAlarm(alarm ?? undefined);
    });
  }

  // ---- hooks for subclasses -------------------------------------------------------

  /** Builds the core; the Socket.IO server replaces it with the Socket.IO core. */
  protected createCore(o: EngineOptions): EngineCoreLike {
    return new EngineCore({
      pingInterval: o.pingInterval,
      pingTimeout: o.pingTimeout,
      maxHttpBufferSize: o.maxHttpBufferSize,
      transports: o.transports,
      allowUpgrades: o.allowUpgrades,
      upgradeTimeout: o.upgradeTimeout,
    }) as unknown as EngineCoreLike;
  }

  /** A session opened; `request` is its handshake request. */
  protected onEngineOpen(_sid: string, _request: Request): void {}

  /** An action of the Socket.IO layer (only a Socket.IO core returns them). */
  protected onSocketAction(_action: SocketAction): void {}

  /** A message arrived on a session. */
  protected onEngineMessage(_sid: string, _data: EngineData): void {}

  /** A session closed. */
  protected onEngineClose(_sid: string, _reason: EngineCloseReason): void {}

  /** Requests outside the Engine.IO path; 404 unless overridden. */
  protected onOtherRequest(_request: Request): Response | Promise<Response> {
    return new Response("Not found", { status: 404 });
  }

  // ---- API for subclasses ---------------------------------------------------------

  /** Sends a message to session `sid` (text, or bytes as a binary message). */
  protected engineSend(sid: string, data: string | ArrayBuffer | ArrayBufferView): void {
    let actions: CoreAction[];
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
    this.queueFlush();
  }

  /** Closes session `sid` from the server side. */
  protected engineClose(sid: string): void {
    this.run(this.core.close(sid));
  }

  /** Number of open sessions. */
  protected get engineClientsCount(): number {
    return this.core.clientsCount();
  }

  /** Counters for tests and monitoring. */
  async stats(): Promise<Record<string, unknown>> {
    this.restoreAll(Date.now());
    return { clientsCount: this.core.clientsCount() };
  }

  // ---- runtime entry points -------------------------------------------------------

  override async fetch(request: Request): Promise<Response> {
    try {
      return await this.handleFetch(request);
    } catch (error) {
      logFailure("fetch", error);
      return new Response("Internal Server Error", { status: 500 });
    }
  }

  private async handleFetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (!matchesPath(url.pathname, this.path)) return this.onOtherRequest(request);
    const cors = this.engineOptions.cors;
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
    if ("error" in c) return jsonError(c.error.status, c.error.body, headers);
    const now = Date.now();
    switch (c.route) {
      case "handshake": {
        const refusal = await this.checkAllowRequest(request);
        if (refusal !== null) {
          return jsonError(403, JSON.stringify({ code: 4, message: refusal }), headers);
        }
        this.handshakeRequest = request;
        if (c.transport === "polling") {
          const [req, response] = this.hold(headers);
          try {
            this.run(this.core.open(Date.now(), "polling", req, randomBytes()));
          } finally {
            this.handshakeRequest = null;
          }
          return response;
        }
        const pair = new WebSocketPair();
        this.handshakeSocket = pair[1];
        try {
          this.run(this.core.open(Date.now(), "websocket", undefined, randomBytes()));
        } finally {
          this.handshakeSocket = null;
          this.handshakeRequest = null;
        }
        return new Response(null, { status: 101, webSocket: pair[0], headers });
      }
      case "poll": {
        const [req, response] = this.hold(headers);
        this.run(this.core.poll(now, c.sid, req));
        return response;
      }
      case "post": {
        const body = new Uint8Array(await request.arrayBuffer());
        const [req, response] = this.hold(headers);
        const type = request.headers.get("Content-Type") ?? undefined;
        this.run(this.core.post(Date.now(), c.sid, req, type, body));
        this.queueFlush();
        return response;
      }
      case "upgrade": {
        const r = this.core.beginUpgrade(now, c.sid);
        if (!Array.isArray(r)) return jsonError(r.error.status, r.error.body, headers);
        const pair = new WebSocketPair();
        const ws = pair[1];
        this.ctx.acceptWebSocket(ws, [c.sid]);
        ws.serializeAttachment({ sid: c.sid, probe: true } satisfies Attachment);
        this.sockets.set(c.sid, ws);
        this.run(r);
        return new Response(null, { status: 101, webSocket: pair[0], headers });
      }
      case "closeAtOnce": {
        const pair = new WebSocketPair();
        pair[1].accept();
        pair[1].close();
        return new Response(null, { status: 101, webSocket: pair[0], headers });
      }
    }
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    guarded("webSocketMessage", () => {
      const sid = this.sessionOf(ws, message === "3");
      if (sid === null) return;
      const now = Date.now();
      const actions =
        typeof message === "string"
          ? this.core.wsText(now, sid, message)
          : this.core.wsBinary(now, sid, new Uint8Array(message));
      this.run(actions);
      this.queueFlush();
    });
  }

  override async webSocketClose(
    ws: WebSocket,
    _code: number,
    _reason: string,
    _wasClean: boolean,
  ): Promise<void> {
    guarded("webSocketClose", () => this.socketGone(ws, false));
    try {
      ws.close();
    } catch {
      // already closed
    }
  }

  override async webSocketError(ws: WebSocket, _error: unknown): Promise<void> {
    guarded("webSocketError", () => this.socketGone(ws, true));
  }

  override async alarm(): Promise<void> {
    guarded("alarm", () => {
      const now = Date.now();
      this.restoreAll(now);
      this.run(this.core.tick(now));
    });
  }

  // ---- internals ------------------------------------------------------------------

  private socketGone(ws: WebSocket, error: boolean): void {
    const sid = this.sessionOf(ws);
    if (sid === null) return;
    if (this.sockets.get(sid) === ws) this.sockets.delete(sid);
    this.run(this.core.wsClosed(Date.now(), sid, error));
  }

  /**
   * The session of a WebSocket, handing it back to the core first if the object was
   * evicted since (lazy revival: only this socket's session is restored). `heartbeat`:
   * the frame is a pong, which concerns the engine session alone, so the layers above
   * need not load their state for it.
   */
  private sessionOf(ws: WebSocket, heartbeat = false): string | null {
    const att = ws.deserializeAttachment() as Attachment | null;
    if (att && att.sid === "") return null; // detached: its session already ended
    if (!att || typeof att.sid !== "string") {
      try {
        ws.close(1011, "unknown session");
      } catch {
        // already closed
      }
      return null;
    }
    if (!this.sockets.has(att.sid)) this.sockets.set(att.sid, ws);
    if (!this.core.hasSession(att.sid) && !att.probe && att.nextPingAt !== undefined) {
      this.restoreSession(Date.now(), att, !heartbeat);
    }
    if (!heartbeat) this.onSessionActive(att.sid);
    return att.sid;
  }

  /**
   * Hands a hibernated WebSocket session back to the core. `lazy`: the session is
   * about to be used (a message or close on it), not only pinged by the alarm.
   */
  protected restoreSession(now: number, att: Attachment, _lazy: boolean): void {
    this.run(this.core.restore(now, att, undefined));
  }

  /** A WebSocket of session `sid` is about to be handled (after any restore). */
  protected onSessionActive(_sid: string): void {}

  /** Hands every hibernated WebSocket session back to the core (once per wake). */
  protected restoreAll(now: number): void {
    if (this.allRestored) return;
    this.allRestored = true;
    // Live sessions first: closing an expired one runs the app's disconnect
    // listeners, which may need every other session already in place.
    const expired: [WebSocket, Attachment][] = [];
    for (const ws of this.ctx.getWebSockets()) {
      const att = ws.deserializeAttachment() as Attachment | null;
      if (!att || att.probe || att.nextPingAt === undefined) continue;
      if (this.core.hasSession(att.sid)) continue;
      if (att.pongDeadline !== undefined && att.pongDeadline <= now) {
        expired.push([ws, att]);
        continue;
      }
      this.sockets.set(att.sid, ws);
      this.restoreSession(now, att, false);
    }
    for (const [ws, att] of expired) {
      this.sockets.set(att.sid, ws);
      this.restoreSession(now, att, false);
    }
  }

  private socketFor(sid: string): WebSocket | undefined {
    let ws = this.sockets.get(sid);
    if (!ws) {
      ws = this.ctx.getWebSockets(sid)[0];
      if (ws) this.sockets.set(sid, ws);
    }
    return ws;
  }

  private hold(headers: Headers): [number, Promise<Response>] {
    const req = this.nextReq++;
    const response = new Promise<Response>((resolve) => {
      this.held.set(req, { resolve, headers });
    });
    return [req, response];
  }

  private async checkAllowRequest(request: Request): Promise<string | null> {
    const hook = this.engineOptions.allowRequest;
    if (!hook) return null;
    return new Promise((resolve) => {
      try {
        hook(request, (err, success) => resolve(success ? null : (err ?? "Forbidden")));
      } catch (e) {
        resolve(e instanceof Error ? e.message : "Forbidden");
      }
    });
  }

  /** Answers held polls with what was queued, once the current turn is over. */
  protected queueFlush(): void {
    if (this.flushQueued || !this.core.needsFlush()) return;
    this.flushQueued = true;
    queueMicrotask(() => {
      this.flushQueued = false;
      guarded("flush", () => this.run(this.core.flush()));
    });
  }

  /**
   * Carries out core actions in order. An action that throws (a storage error, say) is
   * logged and the rest of the batch still runs: the core has already moved on, so
   * dropping the remaining actions (a CONNECT answer, a close) would leave clients and
   * the core out of step.
   */
  protected run(actions: CoreAction[]): void {
    // A plain try/catch here, not guarded(): no closure per action on the hot path.
    for (const a of actions) {
      try {
        this.runAction(a);
      } catch (error) {
        logFailure(`the "${a.type}" action`, error);
      }
    }
  }

  private runAction(a: CoreAction): void {
    switch (a.type) {
      case "opened": {
        if (a.transport === "websocket" && this.handshakeSocket) {
          const ws = this.handshakeSocket;
          this.handshakeSocket = null;
          this.ctx.acceptWebSocket(ws, [a.sid]);
          ws.serializeAttachment({ sid: a.sid } satisfies Attachment);
          this.sockets.set(a.sid, ws);
        }
        if (this.handshakeRequest) this.onEngineOpen(a.sid, this.handshakeRequest);
        break;
      }
      case "message":
        this.onEngineMessage(a.sid, a.text ?? a.binary ?? "");
        break;
      case "closed":
        this.sockets.delete(a.sid);
        this.onEngineClose(a.sid, a.reason as EngineCloseReason);
        break;
      case "respond": {
        const h = this.held.get(a.req);
        if (!h) break;
        this.held.delete(a.req);
        if (a.contentType) h.headers.set("Content-Type", a.contentType);
        h.resolve(new Response(a.body || null, { status: a.status, headers: h.headers }));
        break;
      }
      case "wsSend": {
        const ws = this.socketFor(a.sid);
        try {
          ws?.send(a.text ?? a.binary ?? "");
        } catch {
          // the socket is closing; its close event ends the session
        }
        break;
      }
      case "wsSendMany": {
        const frame = a.text ?? a.binary ?? "";
        for (const sid of a.sids) {
          try {
            this.socketFor(sid)?.send(frame);
          } catch {
            // the socket is closing; its close event ends the session
          }
        }
        break;
      }
      case "wsClose": {
        const ws = this.socketFor(a.sid);
        this.sockets.delete(a.sid);
        if (ws) {
          // Detach first so that the close event of this socket is not taken for
          // the close of a later transport of the same session.
          ws.serializeAttachment({ sid: "" } satisfies Attachment);
          try {
            ws.close(a.code, a.reason);
          } catch {
            // already closed
          }
        }
        break;
      }
      case "persist": {
        const ws = this.socketFor(a.sid);
        ws?.serializeAttachment({
          sid: a.sid,
          nextPingAt: a.nextPingAt,
          pongDeadline: a.pongDeadline,
        } satisfies Attachment);
        break;
      }
      case "setAlarm":
        void this.ctx.storage.setAlarm(a.at);
        break;
      default:
        this.onSocketAction(a);
    }
  }
}
