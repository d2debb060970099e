// `npm run build:wasm`: builds rust/wasm into ts/wasm-pkg (core.js, core_bg.wasm,
// core.d.ts). Skipped when nothing changed since the last build; `--force` rebuilds.

import { buildWasm, ensureNpmDeps, fail } from "./toolchain.mjs";

try {
  ensureNpmDeps();
  await buildWasm({ force: process.argv.includes("--force") });
} catch (error) {
  fail(error);
}
