/**
 * What a deployment of the benchmark server uploads: socket.io-durable with the
 * benchmark handlers, nothing else (`npm run bench` measures it with
 * `wrangler deploy --dry-run`).
 */
import { routeSocketIo, SocketIoServer } from "../../ts/index.js";
import { handlers } from "./handlers.js";

export class BenchSocketIo extends SocketIoServer<Env> {
  override setup(io: this["io"]): void {
    handlers(io);
  }
}

interface Env {
  BENCH: DurableObjectNamespace<BenchSocketIo>;
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    return (await routeSocketIo(request, env.BENCH)) ?? new Response("Not found", { status: 404 });
  },
} satisfies ExportedHandler<Env>;
