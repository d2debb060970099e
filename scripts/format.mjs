// `npm run format`: rewrites Rust (cargo fmt) and TS/JS/JSON in place (`biome check --write`:
// formatting, import sorting and the other safe fixes, so that `npm run lint` passes).

import {
  biomePaths,
  ensureNode22,
  ensureNpmDeps,
  ensureRustToolchain,
  fail,
  run,
  runNodeTool,
} from "./toolchain.mjs";

try {
  ensureRustToolchain();
  ensureNode22();
  ensureNpmDeps();
  const steps = [
    () => run("cargo", ["fmt", "--all"]),
    () => runNodeTool("biome", ["check", "--write", "--no-errors-on-unmatched", ...biomePaths()]),
  ];
  for (const step of steps) {
    const { code } = await step();
    if (code !== 0) process.exitCode = 1;
  }
} catch (error) {
  fail(error);
}
