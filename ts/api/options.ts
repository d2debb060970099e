/**
 * Options of a Socket.IO server, with Socket.IO's names and defaults.
 */
import type { EngineOptions } from "../options.js";

/**
 * Options of a Socket.IO server: the Engine.IO ones plus those of the Socket.IO
 * layer.
 *
 * Not supported (no effect here): `adapter` and `parser` (the core speaks the default
 * JSON protocol and keeps rooms itself), `serveClient` (serve the client bundle from
 * your own Worker or a CDN), `perMessageDeflate`
 * and `httpCompression` (compression is up to the runtime), `cookie`,
 * `addTrailingSlash`, `destroyUpgrade`, `wsEngine`, `initialPacket`.
 */
export interface ServerOptions extends EngineOptions {
  /**
   * Milliseconds a connection may stay without joining a namespace before it is
   * closed (default 45000).
   */
  connectTimeout?: number;
  /**
   * Whether a child namespace of a parent namespace (`io.of(RegExp | function)`) is
   * forgotten when its last socket leaves (default false).
   */
  cleanupEmptyChildNamespaces?: boolean;
  /**
   * Connection state recovery, off by default (as in Socket.IO): a client that lost its
   * connection and reconnects within `maxDisconnectionDuration` gets its socket id,
   * rooms and `socket.data` back, and every event it missed. Kept in the object's
   * SQLite storage, so it also works across an eviction and a deploy.
   */
  connectionStateRecovery?: {
    /** How long a lost session is kept (ms; default 120000, two minutes). */
    maxDisconnectionDuration?: number;
    /** Whether a recovered socket skips the namespace's middlewares (default true). */
    skipMiddlewares?: boolean;
  };
}
