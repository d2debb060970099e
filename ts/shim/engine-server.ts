/**
 * `EngineIoServer`: a Durable Object serving bare Engine.IO v4 sessions, for apps that
 * speak Engine.IO without Socket.IO. The runtime's events go to an {@link EngineDriver}
 * (`engine-driver.ts`), which runs the WebAssembly core.
 */
import { debugLogs } from "../debug.js";
import type { EngineOptions } from "../options.js";
import { DRIVER, DrivenObject } from "./driven-object.js";
import { type EngineCloseReason, type EngineData, EngineDriver } from "./engine-driver.js";
import { coreOptions, EngineCore, loadCore } from "./wasm.js";

export type { Attachment, EngineCloseReason, EngineData } from "./engine-driver.js";
export { logFailure } from "./engine-driver.js";

/**
 * A Durable Object that serves Engine.IO v4 sessions (WebSocket and HTTP
 * long-polling). Subclass it, set `static options`, and override the `onEngine*`
 * hooks; send with {@link EngineIoServer.engineSend}.
 */
export class EngineIoServer<Env = unknown> extends DrivenObject<Env> {
  /** Server options; override in the subclass. */
  static options: EngineOptions = {};

  /** Options of the concrete class. */
  protected readonly engineOptions: EngineOptions;
  readonly #driver: EngineDriver;

  protected override get [DRIVER](): EngineDriver {
    return this.#driver;
  }

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    loadCore();
    this.engineOptions = (this.constructor as typeof EngineIoServer).options ?? {};
    const core = new EngineCore(coreOptions(this.engineOptions));
    this.#driver = new EngineDriver(
      ctx,
      core,
      this.engineOptions,
      {
        opened: (sid, request) => this.onEngineOpen(sid, request),
        message: (sid, data) => this.onEngineMessage(sid, data),
        closed: (sid, reason) => this.onEngineClose(sid, reason),
        otherRequest: (request) => this.onOtherRequest(request),
      },
      debugLogs(this.engineOptions.debug, env).engine,
    );
  }

  // ---- hooks for subclasses -------------------------------------------------------

  /** A session opened; `request` is its handshake request. */
  protected onEngineOpen(_sid: string, _request: Request): void {}

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
    this.#driver.send(sid, data);
  }

  /** Closes session `sid` from the server side. */
  protected engineClose(sid: string): void {
    this.#driver.close(sid);
  }

  /** Number of open sessions. */
  protected get engineClientsCount(): number {
    return this.#driver.clientsCount();
  }

  /** Counters for tests and monitoring. */
  async stats(): Promise<Record<string, unknown>> {
    return { clientsCount: this.#driver.turn(() => this.#driver.clientsCount()) };
  }
}
