/**
 * What a deployment of the bare limit uploads: a Durable Object WebSocket echo with
 * the hibernation API (`npm run bench` measures it with `wrangler deploy --dry-run`).
 */
import { DurableObject } from "cloudflare:workers";

export class BareEcho extends DurableObject<Env> {
  override async fetch(): Promise<Response> {
    const pair = new WebSocketPair();
    this.ctx.acceptWebSocket(pair[1]);
    return new Response(null, { status: 101, webSocket: pair[0] });
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    ws.send(message);
  }
}

interface Env {
  BARE: DurableObjectNamespace<BareEcho>;
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    return env.BARE.get(env.BARE.idFromName("default")).fetch(request);
  },
} satisfies ExportedHandler<Env>;
