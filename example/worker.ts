/**
 * Example app: an existing Worker with its own routes, plus a chat served by a
 * Socket.IO server in a Durable Object. `npm run dev` serves it at
 * http://127.0.0.1:8787.
 *
 * Clients join a room, pick a nickname (kept in `socket.data`, so it survives the
 * object's hibernation), send messages with an acknowledgement, show who is typing,
 * and share pictures as binary messages.
 */

import clientScript from "../node_modules/socket.io-client/dist/socket.io.min.js";
import { routeSocketIo, type ServerOptions, SocketIoServer } from "../ts/index.js";
import page from "./public/index.html";

/** Events the browser sends. */
interface ClientToServer {
  nick: (name: string, ack?: (name: string) => void) => void;
  join: (room: string, ack?: (info: { room: string; members: string[] }) => void) => void;
  say: (text: string, ack?: (at: number) => void) => void;
  typing: (typing: boolean) => void;
  picture: (bytes: Uint8Array, type: string, ack?: (ok: boolean) => void) => void;
}

/** Events the server sends. */
interface ServerToClient {
  said: (msg: { from: string; text: string; at: number }) => void;
  joined: (name: string) => void;
  left: (name: string) => void;
  typing: (info: { from: string; typing: boolean }) => void;
  picture: (msg: { from: string; type: string; bytes: Uint8Array }) => void;
}

interface ChatData {
  name: string;
  room?: string;
}

const MAX_PICTURE = 512 * 1024;

/** The chat server. */
export class Chat extends SocketIoServer<Env, ClientToServer, ServerToClient, never, ChatData> {
  static override options: ServerOptions = { maxHttpBufferSize: 1e6 };

  override setup(io: this["io"]): void {
    io.on("connection", (socket) => {
      socket.data.name ??= `guest-${socket.id.slice(0, 4)}`;

      socket.on("nick", (name, ack) => {
        const clean = String(name).trim().slice(0, 32);
        if (clean) socket.data.name = clean;
        ack?.(socket.data.name);
      });

      socket.on("join", async (room, ack) => {
        const name = String(room).trim().slice(0, 32) || "lobby";
        if (socket.data.room) {
          socket.to(socket.data.room).emit("left", socket.data.name);
          socket.leave(socket.data.room);
        }
        socket.join(name);
        socket.data.room = name;
        socket.to(name).emit("joined", socket.data.name);
        const members = await io.in(name).fetchSockets();
        ack?.({ room: name, members: members.map((s) => s.data.name) });
      });

      socket.on("say", (text, ack) => {
        const room = socket.data.room;
        if (!room) return;
        const at = Date.now();
        io.to(room).emit("said", { from: socket.data.name, text: String(text).slice(0, 2000), at });
        ack?.(at);
      });

      socket.on("typing", (typing) => {
        if (socket.data.room) {
          socket.to(socket.data.room).emit("typing", { from: socket.data.name, typing: !!typing });
        }
      });

      socket.on("picture", (bytes, type, ack) => {
        const room = socket.data.room;
        const ok = !!room && bytes instanceof Uint8Array && bytes.byteLength <= MAX_PICTURE;
        if (ok && room) {
          const mime = /^image\/[\w.+-]+$/.test(String(type)) ? String(type) : "image/png";
          socket.to(room).emit("picture", { from: socket.data.name, type: mime, bytes });
        }
        ack?.(ok);
      });

      socket.on("disconnecting", () => {
        if (socket.data.room) socket.to(socket.data.room).emit("left", socket.data.name);
      });
    });
  }
}

interface Env {
  CHAT: DurableObjectNamespace<Chat>;
  /** How many Durable Objects run the chat (`vars.SHARDS` in wrangler.jsonc). */
  SHARDS?: string;
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    // Socket.IO requests go to the Durable Object; everything else is the app's own.
    const routed = await routeSocketIo(request, env.CHAT, { shards: Number(env.SHARDS ?? 1) });
    if (routed) return routed;
    const url = new URL(request.url);
    switch (url.pathname) {
      case "/":
        return new Response(page, { headers: { "Content-Type": "text/html; charset=utf-8" } });
      case "/socket.io.min.js":
        return new Response(clientScript, {
          headers: { "Content-Type": "text/javascript; charset=utf-8" },
        });
      case "/health":
        return new Response("ok");
      default:
        return new Response("Not found", { status: 404 });
    }
  },
} satisfies ExportedHandler<Env>;
