/**
 * `DrivenObject`: a Durable Object whose runtime events all go to an
 * {@link EngineDriver}. The base of `EngineIoServer` and `SocketIoServer`, so that
 * both hand the runtime's entry points over in one place; each builds its own driver
 * (with the core and the events it needs) in its constructor.
 */
import { DurableObject } from "cloudflare:workers";
import type { EngineDriver } from "./engine-driver.js";

/** The key of the driver on the object (not a name a subclass could clash with). */
export const DRIVER: unique symbol = Symbol("socket.io-durable driver");

/** A Durable Object whose runtime events go to its engine driver. */
export abstract class DrivenObject<Env = unknown> extends DurableObject<Env> {
  /** The driver the subclass built in its constructor. */
  protected abstract get [DRIVER](): EngineDriver;

  override fetch(request: Request): Promise<Response> {
    return this[DRIVER].fetch(request);
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    this[DRIVER].webSocketMessage(ws, message);
  }

  override async webSocketClose(
    ws: WebSocket,
    _code: number,
    _reason: string,
    _wasClean: boolean,
  ): Promise<void> {
    this[DRIVER].webSocketClose(ws);
  }

  override async webSocketError(ws: WebSocket, _error: unknown): Promise<void> {
    this[DRIVER].webSocketError(ws);
  }

  override async alarm(): Promise<void> {
    await this[DRIVER].alarm();
  }
}
