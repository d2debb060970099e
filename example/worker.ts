/**
 * Example app: an existing Worker with its own routes, plus a chat served by a
 * Socket.IO server in a Durable Object. `npm run dev` serves it at
 * http://127.0.0.1:8787.
 *
 * Clients join a room, pick a nickname (kept in `socket.data`, so it survives the
 * object's hibernation), send messages with an acknowledgement that carries the
 * server's time, show who is typing, and share pictures as binary messages.
 */

import clientScript from "../node_modules/socket.io-client/dist/socket.io.min.js";
import { routeSocketIo, type ServerOptions, SocketIoServer } from "../ts/index.js";
import page from "./public/index.html";

/** Events the browser sends. */
interface ClientToServer {
  nick: (name: string, ack?: (name: string) => void) => void;
  join: (room: string, ack?: (info: JoinInfo) => void) => void;
  /** Acknowledged with the time the server took the message, or null when not in a room. */
  say: (text: string, ack?: (at: number | null) => void) => void;
  typing: (typing: boolean) => void;
  /** Acknowledged like `say`; null also when the picture is refused (too big). */
  picture: (bytes: Uint8Array, type: string, ack?: (at: number | null) => void) => void;
}

/** The answer to `join`. */
interface JoinInfo {
  room: string;
  /** Your own name. */
  name: string;
  /** The names of the others in the room. */
  others: string[];
}

/**
 * Events the server sends. Messages and pictures go to the others in the room; the
 * sender shows its own from the acknowledgement. `at` is the server's time (ms).
 */
interface ServerToClient {
  said: (msg: { from: string; text: string; at: number }) => void;
  picture: (msg: { from: string; type: string; bytes: Uint8Array; at: number }) => void;
  joined: (name: string) => void;
  left: (name: string) => void;
  renamed: (names: { from: string; to: string }) => void;
  typing: (info: { from: string; typing: boolean }) => void;
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
        const { name: old, room } = socket.data;
        if (clean && clean !== old) {
          socket.data.name = clean;
          // One line for the room, not a "left" and a "joined".
          if (room) socket.to(room).emit("renamed", { from: old, to: clean });
        }
        ack?.(socket.data.name);
      });

      socket.on("join", async (room, ack) => {
        const name = String(room).trim().slice(0, 32) || "lobby";
        if (socket.data.room !== name) {
          if (socket.data.room) {
            socket.to(socket.data.room).emit("left", socket.data.name);
            socket.leave(socket.data.room);
          }
          socket.join(name);
          socket.data.room = name;
          socket.to(name).emit("joined", socket.data.name);
        }
        const members = await io.in(name).fetchSockets();
        const others = members.filter((s) => s.id !== socket.id).map((s) => s.data.name);
        ack?.({ room: name, name: socket.data.name, others });
      });

      socket.on("say", (text, ack) => {
        const room = socket.data.room;
        if (!room) return ack?.(null);
        const at = Date.now();
        const msg = { from: socket.data.name, text: String(text).slice(0, 2000), at };
        socket.to(room).emit("said", msg);
        ack?.(at);
      });

      socket.on("typing", (typing) => {
        if (socket.data.room) {
          socket.to(socket.data.room).emit("typing", { from: socket.data.name, typing: !!typing });
        }
      });

      socket.on("picture", (bytes, type, ack) => {
        const room = socket.data.room;
        if (!room || !(bytes instanceof Uint8Array) || bytes.byteLength > MAX_PICTURE) {
          return ack?.(null);
        }
        const mime = /^image\/[\w.+-]+$/.test(String(type)) ? String(type) : "image/png";
        const at = Date.now();
        socket.to(room).emit("picture", { from: socket.data.name, type: mime, bytes, at });
        ack?.(at);
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
      case "/favicon.ico":
        // The page has its icon inline; this answers the browsers and tools that ask anyway.
        return new Response(null, { status: 204, headers: { "Cache-Control": "max-age=86400" } });
      case "/health":
        return new Response("ok");
      default:
        return new Response("Not found", { status: 404 });
    }
  },
} satisfies ExportedHandler<Env>;
