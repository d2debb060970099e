/**
 * The handlers of the benchmark: the same as those of the Node server
 * (`bench/node-server.mjs`).
 *
 * - `echo-ack(...args, ack)`: acknowledges with the same arguments;
 * - `join(room, ack?)`: joins `room`;
 * - `join-many(prefix, count, ack?)`: joins the `count` rooms `<prefix>0` … in one
 *   handler, one `socket.join` call each; acknowledges with the socket's room count;
 * - `cast(room, event, payload, ack?)`: `io.to(room).emit(event, payload)`.
 */
import type { Server } from "../../ts/index.js";

export function handlers(io: Server): void {
  io.on("connection", (socket) => {
    socket.on("echo-ack", (...args: unknown[]) => {
      const ack = args.pop();
      if (typeof ack === "function") ack(...args);
    });
    socket.on("join", (room: string, ack?: () => void) => {
      socket.join(room);
      ack?.();
    });
    socket.on("join-many", (prefix: string, count: number, ack?: (rooms: number) => void) => {
      for (let i = 0; i < count; i++) socket.join(`${prefix}${i}`);
      ack?.(socket.rooms.size);
    });
    socket.on("cast", (room: string, event: string, payload: unknown, ack?: () => void) => {
      io.to(room).emit(event, payload);
      ack?.();
    });
  });
}
