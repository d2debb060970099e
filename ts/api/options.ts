/**
 * Options of a Socket.IO server, with Socket.IO's names and defaults.
 */
import type { EngineOptions } from "../options.js";

/** A Socket.IO parser module, as `socket.io-parser` and `socket.io-msgpack-parser` export it. */
export interface ParserModule {
  // biome-ignore lint/suspicious/noExplicitAny: parser modules declare `encode(packet: any)`
  Encoder: new () => { encode(packet: any): unknown };
}

/**
 * What the `parser` option may be: a wire format by name, or a parser module (see
 * `ts/shim/parser.ts`: the core speaks the default parser's format and msgpack's).
 */
export type ParserOption = "default" | "msgpack" | ParserModule;

/**
 * Options of a Socket.IO server: the Engine.IO ones plus those of the Socket.IO
 * layer.
 *
 * Not supported (no effect here): `adapter` (the core keeps rooms itself, and shards
 * reach each other over RPC), `serveClient` (serve the client bundle from
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
  /**
   * The wire format (default: Socket.IO's default parser). `"msgpack"`, or the
   * `socket.io-msgpack-parser` module itself as Node's server takes it, speaks msgpack:
   * clients must use that parser too. `"default"` or the `socket.io-parser` module is
   * the default. Any other parser is refused when the object starts: the packets are
   * encoded and decoded in the core, which has these two.
   */
  parser?: ParserOption;
}
