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
import type { DefaultEventsMap, EventsMap } from "./api/typed-events.js";
import type { EngineOptions } from "./options.js";
import type { EngineCoreLike, SocketAction, SocketCoreLike } from "./shim/core-types.js";
import { type EngineCloseReason, EngineIoServer } from "./shim/engine-server.js";
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

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    const host: CoreHost = {
      core: this.core as SocketCoreLike,
      run: (actions) => {
        if (actions) this.run(actions);
      },
      queueFlush: () => this.queueFlush(),
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
    this.io._engineOpened(sid, request);
  }

  protected override onEngineClose(sid: string, _reason: EngineCloseReason): void {
    this.io._engineClosed(sid);
  }

  protected override onSocketAction(action: SocketAction): void {
    this.io._onAction(action);
  }
}
