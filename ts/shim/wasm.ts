/**
 * Loads the WebAssembly core once per isolate. Wrangler turns the `.wasm` import into
 * a compiled `WebAssembly.Module`; `initSync` instantiates it synchronously.
 */
import { EngineCore, initSync, isHeartbeat, SocketCore } from "../wasm-pkg/core.js";
import coreModule from "../wasm-pkg/core_bg.wasm";

let loaded = false;

/** Instantiates the core module if this isolate has not done it yet. */
export function loadCore(): void {
  if (loaded) return;
  initSync({ module: coreModule });
  loaded = true;
}

export { EngineCore, isHeartbeat, SocketCore };
