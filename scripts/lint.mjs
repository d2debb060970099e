// `npm run lint`: rustfmt check, clippy (warnings are errors), biome check and the
// TypeScript typecheck. Runs every check and exits non-zero when any of them failed.

import fs from "node:fs";
import path from "node:path";
import {
  biomePaths,
  buildWasm,
  ensureNode22,
  ensureNpmDeps,
  ensureRustToolchain,
  fail,
  ROOT,
  run,
  runNodeTool,
} from "./toolchain.mjs";

try {
  ensureRustToolchain();
  ensureNode22();
  ensureNpmDeps();
} catch (error) {
  fail(error);
}

const failures = [];

async function check(name, fn) {
  console.log(`\n=== ${name} ===`);
  try {
    const { code } = await fn();
    if (code !== 0) failures.push(name);
  } catch (error) {
    console.error(`error: ${error instanceof Error ? error.message : error}`);
    failures.push(name);
  }
}

await check("cargo fmt --check", () => run("cargo", ["fmt", "--all", "--check"]));
await check("cargo clippy", () =>
  run("cargo", ["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"]),
);
await check("biome check", () =>
  runNodeTool("biome", ["check", "--no-errors-on-unmatched", ...biomePaths()]),
);
// The TypeScript sources import the generated bindings, so build them first.
await check("tsc --noEmit", async () => {
  await buildWasm();
  let code = 0;
  for (const project of [".", "test"]) {
    if (!fs.existsSync(path.join(ROOT, project, "tsconfig.json"))) continue;
    console.log(`tsc --noEmit -p ${project}`);
    const result = await runNodeTool("tsc", ["--noEmit", "-p", project]);
    if (result.code !== 0) code = result.code;
  }
  return { code };
});

console.log("");
if (failures.length > 0) {
  console.log(`lint failed: ${failures.join(", ")}`);
  process.exitCode = 1;
} else {
  console.log("lint ok");
}
