// `npm run build:wasm`: builds rust/wasm into ts/wasm-pkg (core.js, core_bg.wasm,
// core.d.ts). cargo rebuilds what changed; wasm-pack and wasm-opt run only when cargo's
// artifact is not the one ts/wasm-pkg was made from (`--force` runs them anyway).

import { buildWasm, ensureNpmDeps, fail } from "./toolchain.mjs";

try {
  ensureNpmDeps();
  await buildWasm({ force: process.argv.includes("--force") });
} catch (error) {
  fail(error);
}
