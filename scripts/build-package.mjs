// `npm run build` (also run by `npm pack` and `npm publish`): builds the npm package in
// dist/:
//   1. the WebAssembly core (ts/wasm-pkg, skipped when up to date)
//   2. the TypeScript library compiled with its declarations (tsconfig.build.json)
//   3. the core's JavaScript glue, declarations and .wasm copied to dist/wasm-pkg/
// then checks that every relative import of dist/ resolves and prints the sizes.

import fs from "node:fs";
import path from "node:path";
import { gzipSync } from "node:zlib";
import {
  buildWasm,
  ensureNode22,
  ensureNpmDeps,
  fail,
  log,
  ROOT,
  runNodeTool,
  ToolchainError,
  WASM_PKG_DIR,
} from "./toolchain.mjs";

const DIST = path.join(ROOT, "dist");
/** The files of ts/wasm-pkg that the compiled library imports. */
const WASM_PKG_FILES = ["core.js", "core.d.ts", "core_bg.wasm"];

/** Every file under `dir`, relative to it, sorted. */
function listFiles(dir, prefix = "") {
  const out = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const rel = path.join(prefix, entry.name);
    if (entry.isDirectory()) out.push(...listFiles(path.join(dir, entry.name), rel));
    else out.push(rel);
  }
  return out.sort();
}

/** Relative import specifiers of a JavaScript or declaration file. */
function relativeImports(source) {
  const specifiers = [];
  for (const m of source.matchAll(/\b(?:from|import)\s*\(?\s*["'](\.{1,2}\/[^"']+)["']/g)) {
    specifiers.push(m[1]);
  }
  return specifiers;
}

/** Fails when a relative import of dist/ points to a file that is not there. */
function checkImports(files) {
  const missing = [];
  for (const rel of files) {
    if (!/\.(js|d\.ts)$/.test(rel)) continue;
    const file = path.join(DIST, rel);
    for (const spec of relativeImports(fs.readFileSync(file, "utf8"))) {
      let target = path.resolve(path.dirname(file), spec);
      // A declaration imports `./x.js`; its types are in `./x.d.ts`.
      if (rel.endsWith(".d.ts") && target.endsWith(".js")) {
        target = target.replace(/\.js$/, ".d.ts");
      }
      if (!fs.existsSync(target)) missing.push(`${rel}: ${spec}`);
    }
  }
  if (missing.length > 0) {
    throw new ToolchainError(`dist/ has unresolved imports:\n  ${missing.join("\n  ")}`);
  }
}

function kib(bytes) {
  return `${(bytes / 1024).toFixed(1)} KiB`;
}

try {
  ensureNode22();
  ensureNpmDeps();
  await buildWasm();

  fs.rmSync(DIST, { recursive: true, force: true });
  log("package: compiling ts/ into dist/ (tsc -p tsconfig.build.json)");
  const tsc = await runNodeTool("tsc", ["-p", "tsconfig.build.json"]);
  if (tsc.code !== 0) throw new ToolchainError(`tsc failed (exit code ${tsc.code})`);

  const wasmOut = path.join(DIST, "wasm-pkg");
  fs.mkdirSync(wasmOut, { recursive: true });
  for (const name of WASM_PKG_FILES) {
    const from = path.join(WASM_PKG_DIR, name);
    if (!fs.existsSync(from)) throw new ToolchainError(`ts/wasm-pkg/${name} is missing`);
    if (name.endsWith(".d.ts")) {
      // wasm-bindgen declares `[Symbol.dispose]()` on its classes, which needs the
      // `esnext.disposable` lib: an app compiled with an older `lib` (the Workers
      // templates' default) would fail on our declarations. The library never hands
      // these classes to the app, so the member is left out of the published types.
      const text = fs
        .readFileSync(from, "utf8")
        .replace(/^\s*\[Symbol\.dispose\]\(\): void;\n/gm, "");
      fs.writeFileSync(path.join(wasmOut, name), text);
    } else {
      fs.copyFileSync(from, path.join(wasmOut, name));
    }
  }

  const files = listFiles(DIST);
  checkImports(files);
  if (!files.includes("index.js") || !files.includes("index.d.ts")) {
    throw new ToolchainError("dist/index.js or dist/index.d.ts was not produced");
  }

  let js = 0;
  let jsGzip = 0;
  let dts = 0;
  for (const rel of files) {
    const bytes = fs.readFileSync(path.join(DIST, rel));
    if (rel.endsWith(".d.ts")) dts += bytes.length;
    else if (rel.endsWith(".js")) {
      js += bytes.length;
      jsGzip += gzipSync(bytes).length;
    }
  }
  const wasm = fs.readFileSync(path.join(wasmOut, "core_bg.wasm"));
  log(
    `package: dist/ has ${files.length} files: JavaScript ${kib(js)} (gzip ${kib(jsGzip)}), ` +
      `WebAssembly ${kib(wasm.length)} (gzip ${kib(gzipSync(wasm).length)}), declarations ${kib(dts)}`,
  );
} catch (error) {
  fail(error);
}
