/**
 * Example app: an existing Worker with its own routes, plus an Engine.IO echo server
 * at `/socket.io/` served by a Durable Object. `npm run dev` serves it at
 * http://127.0.0.1:8787.
 */

import type { EngineOptions } from "../ts/index.js";
import { type EngineData, routeSocketIo, SocketIoServer } from "../ts/index.js";

/** Echoes every message back to its sender. */
export class Chat extends SocketIoServer<Env> {
  static override options: EngineOptions = { cors: { origin: "*" } };

  protected override onEngineMessage(sid: string, data: EngineData): void {
    this.engineSend(sid, data);
  }
}

interface Env {
  CHAT: DurableObjectNamespace<Chat>;
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const routed = await routeSocketIo(request, env.CHAT);
    if (routed) return routed;
    const url = new URL(request.url);
    if (url.pathname === "/") {
      return new Response(
        "socket.io-durable example: connect an engine.io-client to this origin with path /socket.io/\n",
      );
    }
    return new Response("Not found", { status: 404 });
  },
} satisfies ExportedHandler<Env>;
