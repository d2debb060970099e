/**
 * Loads the WebAssembly core once per isolate. Wrangler turns the `.wasm` import into
 * a compiled `WebAssembly.Module`; `initSync` instantiates it synchronously.
 *
 * The types of what the core returns (`CoreAction`, `CoreOutput`, `Classified`, ...)
 * are generated from their Rust definitions (`rust/wasm/src/shapes.rs`) into
 * `core.d.ts`, and re-exported from here.
 */

import type { EngineOptions } from "../options.js";
import {
  EngineCore,
  forbidden,
  initSync,
  isHeartbeat,
  isReservedEvent,
  msgpackEventArgs,
  offsetFloor,
  parseOffset,
  SocketCore,
  socketIdFromRandom,
} from "../wasm-pkg/core.js";
import coreModule from "../wasm-pkg/core_bg.wasm";

export type {
  Accepted,
  Classified,
  CoreAction,
  CoreOutput,
  Emitted,
  KeptSessionRow,
  RoomChanges,
  SessionSnapshot,
  StoredPacketRow,
  StoredSocketRow,
} from "../wasm-pkg/core.js";

/** The core's options, from the server options (Socket.IO's names). */
export function coreOptions(
  o: EngineOptions & {
    connectTimeout?: number;
    connectionStateRecovery?: { maxDisconnectionDuration?: number };
    /** The wire format, resolved from the `parser` option. */
    parser?: "default" | "msgpack";
  },
): object {
  return {
    pingInterval: o.pingInterval,
    pingTimeout: o.pingTimeout,
    maxHttpBufferSize: o.maxHttpBufferSize,
    transports: o.transports,
    allowUpgrades: o.allowUpgrades,
    upgradeTimeout: o.upgradeTimeout,
    connectTimeout: o.connectTimeout,
    connectionStateRecovery: o.connectionStateRecovery,
    parser: o.parser,
    allowEIO3: o.allowEIO3,
  };
}

let loaded = false;

/** Instantiates the core module if this isolate has not done it yet. */
export function loadCore(): void {
  if (loaded) return;
  initSync({ module: coreModule });
  loaded = true;
}

export {
  EngineCore,
  forbidden,
  isHeartbeat,
  isReservedEvent,
  msgpackEventArgs,
  offsetFloor,
  parseOffset,
  SocketCore,
  socketIdFromRandom,
};
