// `npm test`: installs whatever is missing, then runs every suite:
//   1. cargo test --workspace (native Rust tests)
//   2. the WebAssembly build (ts/wasm-pkg)
//   3. the TypeScript typecheck (tsc --noEmit for each tsconfig)
//   4. vitest run (the Node-side tests of vitest.config.ts)
//   5. vitest run --config test/workerd/vitest.config.ts (tests inside workerd)
// and ends with one line "N passed, N failed". A suite that cannot run, or a build or
// typecheck that fails, counts as at least one failure. Builds and typechecks add no
// passes: only tests are counted as passed.

import fs from "node:fs";
import path from "node:path";
import { stripVTControlCharacters } from "node:util";
import {
  buildWasm,
  ensureNode22,
  ensureNpmDeps,
  ensureRustToolchain,
  ensureWasmTools,
  log,
  ROOT,
  run,
  runNodeTool,
} from "./toolchain.mjs";

/** @type {{ name: string, passed: number, failed: number, note: string }[]} */
const results = [];

function errorText(error) {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Runs one suite. `fn` resolves to { passed, failed, note }; a suite that throws counts
 * as one failure. Returns true when the suite had no failure.
 */
async function suite(name, fn, { skip } = {}) {
  console.log(`\n=== ${name} ===`);
  let result;
  if (skip) {
    console.log(`skipped: ${skip}`);
    result = { passed: 0, failed: 1, note: `not run: ${skip}` };
  } else {
    try {
      result = await fn();
    } catch (error) {
      console.error(`error: ${errorText(error)}`);
      result = { passed: 0, failed: 1, note: errorText(error) };
    }
  }
  results.push({ name, ...result });
  return result.failed === 0;
}

// --- setup -------------------------------------------------------------------

const nodeReady = await suite("setup: Node 22 and npm dependencies", () => {
  ensureNode22();
  ensureNpmDeps();
  return { passed: 0, failed: 0, note: "ok" };
});

const rustReady = await suite("setup: Rust wasm target, wasm-bindgen, wasm-pack", () => {
  ensureRustToolchain();
  ensureWasmTools();
  return { passed: 0, failed: 0, note: "ok" };
});

// --- cargo test --------------------------------------------------------------

await suite("cargo test --workspace", async () => {
  const { code, stdout } = await run("cargo", ["test", "--workspace", "--no-fail-fast"], {
    tee: true,
  });
  let passed = 0;
  let failed = 0;
  let binaries = 0;
  for (const m of stripVTControlCharacters(stdout).matchAll(
    /^test result: \w+\. (\d+) passed; (\d+) failed/gm,
  )) {
    passed += Number(m[1]);
    failed += Number(m[2]);
    binaries += 1;
  }
  let note = `${binaries} test binaries`;
  if (code !== 0 && failed === 0) {
    failed = 1;
    note = `cargo exited with code ${code} (build error?)`;
  }
  return { passed, failed, note };
});

// --- wasm build --------------------------------------------------------------

const wasmReady = await suite(
  "wasm build",
  async () => {
    await buildWasm();
    return { passed: 0, failed: 0, note: "ok" };
  },
  { skip: nodeReady && rustReady ? undefined : "setup failed" },
);

// --- typecheck ---------------------------------------------------------------

await suite(
  "typecheck",
  async () => {
    const projects = [".", "test", "test/workerd"].filter((p) =>
      fs.existsSync(path.join(ROOT, p, "tsconfig.json")),
    );
    const failedProjects = [];
    for (const project of projects) {
      console.log(`tsc --noEmit -p ${project}`);
      const { code } = await runNodeTool("tsc", ["--noEmit", "-p", project]);
      if (code !== 0) failedProjects.push(project);
    }
    if (failedProjects.length > 0) {
      return {
        passed: 0,
        failed: failedProjects.length,
        note: `tsc errors in -p ${failedProjects.join(", -p ")}`,
      };
    }
    return { passed: 0, failed: 0, note: `ok (${projects.map((p) => `-p ${p}`).join(", ")})` };
  },
  { skip: nodeReady ? undefined : "setup failed" },
);

// --- vitest ------------------------------------------------------------------

/**
 * Runs vitest with `args` and counts its tests from its JSON report, written to
 * test-results/`reportName`.
 */
async function runVitest(args, reportName) {
  if (!wasmReady) log("the wasm build failed; running vitest anyway");
  const report = path.join(ROOT, "test-results", reportName);
  fs.rmSync(report, { force: true });
  const { code } = await runNodeTool("vitest", [
    "run",
    ...args,
    "--reporter=default",
    "--reporter=json",
    `--outputFile.json=${report}`,
  ]);
  let passed = 0;
  let failed = 0;
  let note = "";
  try {
    const json = JSON.parse(fs.readFileSync(report, "utf8"));
    passed = json.numPassedTests ?? 0;
    failed = json.numFailedTests ?? 0;
    // A test file that fails to load has no failed test of its own: count the file.
    const brokenFiles = (json.testResults ?? []).filter(
      (file) =>
        file.status === "failed" &&
        !(file.assertionResults ?? []).some((test) => test.status === "failed"),
    );
    failed += brokenFiles.length;
    const skipped = (json.numPendingTests ?? 0) + (json.numTodoTests ?? 0);
    note = `${json.testResults?.length ?? 0} files${skipped ? `, ${skipped} skipped` : ""}`;
    if (brokenFiles.length) note += `, ${brokenFiles.length} failed to load`;
  } catch {
    note = "no JSON report";
  }
  if (code !== 0 && failed === 0) {
    failed = 1;
    note = `vitest exited with code ${code}${note ? ` (${note})` : ""}`;
  }
  return { passed, failed, note };
}

await suite(
  "vitest run",
  async () => {
    if (!fs.existsSync(path.join(ROOT, "vitest.config.ts"))) {
      throw new Error("vitest.config.ts not found");
    }
    return runVitest([], "vitest.json");
  },
  { skip: nodeReady ? undefined : "setup failed" },
);

// Tests inside workerd (@cloudflare/vitest-plugin), with their own worker and config.
const WORKERD_CONFIG = "test/workerd/vitest.config.ts";

await suite(
  "vitest run (workerd)",
  async () => {
    if (!fs.existsSync(path.join(ROOT, WORKERD_CONFIG))) {
      throw new Error(`${WORKERD_CONFIG} not found`);
    }
    return runVitest(["--config", WORKERD_CONFIG], "vitest-workerd.json");
  },
  { skip: nodeReady ? undefined : "setup failed" },
);

// --- summary -----------------------------------------------------------------

console.log("\n=== summary ===");
let totalPassed = 0;
let totalFailed = 0;
for (const r of results) {
  totalPassed += r.passed;
  totalFailed += r.failed;
  const counts = r.passed || r.failed ? `${r.passed} passed, ${r.failed} failed` : "";
  const status = r.failed ? "FAIL" : "ok";
  console.log(
    `${status.padEnd(5)}${r.name.padEnd(52)}${[counts, r.note].filter(Boolean).join("  ")}`,
  );
}
console.log(`${totalPassed} passed, ${totalFailed} failed`);
process.exitCode = totalFailed > 0 ? 1 : 0;
