// The Node reference of the benchmark: socket.io 4.8 on Node's HTTP server, with the
// same handlers as the benchmark worker (bench/worker/worker.ts) and Socket.IO's
// default options (and the same server at `/msgpack/` with socket.io-msgpack-parser).
// Started by bench/run.mjs with an IPC channel:
//   → { type: "listening", port }          once it listens on 127.0.0.1
//   ← { type: "gc", id }  → { type: "gc", id } after a full garbage collection
//                                           (when started with --expose-gc)

import { createServer } from "node:http";
import { Server } from "socket.io";
import msgpackParser from "socket.io-msgpack-parser";

const httpServer = createServer();
handlers(new Server(httpServer, { serveClient: false }));
handlers(new Server(httpServer, { serveClient: false, path: "/msgpack/", parser: msgpackParser }));

function handlers(io) {
  io.on("connection", (socket) => {
    socket.on("echo-ack", (...args) => {
      const ack = args.pop();
      if (typeof ack === "function") ack(...args);
    });
    socket.on("join", (room, ack) => {
      socket.join(room);
      ack?.();
    });
    socket.on("join-many", (prefix, count, ack) => {
      for (let i = 0; i < count; i++) socket.join(`${prefix}${i}`);
      ack?.(socket.rooms.size);
    });
    socket.on("cast", (room, event, payload, ack) => {
      io.to(room).emit(event, payload);
      ack?.();
    });
  });
}

// Enough for the connection benchmark's 10,000 sockets in the accept queue.
httpServer.listen({ host: "127.0.0.1", port: Number(process.env.PORT ?? 0), backlog: 4096 }, () => {
  const { port } = httpServer.address();
  if (process.send) process.send({ type: "listening", port });
  else console.log(`socket.io ${port}`);
});

process.on("message", (message) => {
  if (message?.type === "gc") {
    globalThis.gc?.();
    process.send({ type: "gc", id: message.id });
  }
});

// Ends with the benchmark: the IPC channel closes when the parent goes away.
process.on("disconnect", () => process.exit(0));
