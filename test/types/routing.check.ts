/**
 * Type checks of the routing options and the emitter's: only compiled (see
 * setup.check.ts). Each `@ts-expect-error` line must fail to type-check.
 */
import { routeSocketIo, SocketIoServer, socketIo } from "../../ts/index.js";

interface ServerToClient {
  news: (text: string) => void;
}

export class Chat extends SocketIoServer<unknown, Record<string, never>, ServerToClient> {}

interface Env {
  CHAT: DurableObjectNamespace<Chat>;
}

export async function route(request: Request, env: Env): Promise<Response | null> {
  return (
    (await routeSocketIo(request, env.CHAT, { jurisdiction: "eu", locationHint: "weur" })) ??
    (await routeSocketIo(request, env.CHAT.jurisdiction("fedramp"), { shards: 4 })) ??
    // @ts-expect-error not a jurisdiction
    (await routeSocketIo(request, env.CHAT, { jurisdiction: "mars" }))
  );
}

export async function emit(env: Env): Promise<void> {
  const eu = socketIo(env.CHAT, { name: "tenant", jurisdiction: "eu" });
  await eu.to("room").emit("news", "hello");
  // @ts-expect-error the text is a string (the emitter in a jurisdiction is typed the same)
  await eu.emit("news", 1);
  // @ts-expect-error not a jurisdiction
  socketIo(env.CHAT, { jurisdiction: "moon" });
}
