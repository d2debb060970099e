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
 * your own Worker or a CDN), `connectionStateRecovery` (not yet), `perMessageDeflate`
 * and `httpCompression` (compression is up to the runtime), `cookie`,
 * `allowEIO3` (protocol v3 clients), `addTrailingSlash`, `destroyUpgrade`,
 * `wsEngine`, `initialPacket`.
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
}
