// `npm run bench`: socket.io-durable against Node socket.io 4.8 and against the bare
// limit (a Durable Object WebSocket echo), side by side, in one run.
//
//   node bench/run.mjs            full run; prints the table and writes docs/benchmarks.md
//   node bench/run.mjs --quick    every workload at a tiny size (the smoke test of `npm test`)
//
// Options: --out FILE (write the report there; `--out -` writes none; the default is
// docs/benchmarks.md for a full run and nothing for --quick), --no-cargo (skip the core
// micro-benchmarks), --via-proxy (reach wrangler dev through its dev proxy instead of the
// runtime's own socket), --only a,b (run only some workloads, for working on one; the
// report is not written then unless --out says where), --json FILE (the table's rows
// and the failures as JSON).
//
// What it does: installs what is missing (Node 22, the root and bench/ npm dependencies,
// the WebAssembly build), bundles the bench worker once with `wrangler deploy --dry-run`
// (which also gives the upload sizes) and serves that bundle with `wrangler dev`, starts
// the Node socket.io server, then runs each workload with its clients in separate Node
// processes (bench/client.mjs) and measures the servers from /proc: CPU time (schedstat)
// and resident memory. Everything listens on 127.0.0.1 and stops by itself.

import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { stripVTControlCharacters } from "node:util";
import zlib from "node:zlib";

const BENCH = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(BENCH, "..");

const toolchain = await import(path.join(ROOT, "scripts", "toolchain.mjs"));

// ---- options -------------------------------------------------------------------------

const argv = process.argv.slice(2);
const QUICK = argv.includes("--quick");
const NO_CARGO = argv.includes("--no-cargo") || QUICK;
const VIA_PROXY = argv.includes("--via-proxy");
const onlyIndex = argv.indexOf("--only");
/** Workloads to run (all by default): echo,throughput,fanout,joins,connections,wake,idle,sizes,cargo. */
const ONLY = onlyIndex >= 0 ? new Set(argv[onlyIndex + 1].split(",")) : null;
const wanted = (name) => !ONLY || ONLY.has(name);
const jsonIndex = argv.indexOf("--json");
/** Where to write the table rows and failures as JSON (for the smoke test). */
const JSON_OUT = jsonIndex >= 0 ? path.resolve(argv[jsonIndex + 1]) : null;
const outIndex = argv.indexOf("--out");
const OUT =
  outIndex >= 0
    ? argv[outIndex + 1] === "-"
      ? null
      : path.resolve(argv[outIndex + 1])
    : QUICK || ONLY
      ? null
      : path.join(ROOT, "docs", "benchmarks.md");

/** Workload sizes. */
const SIZES = QUICK
  ? {
      echo: { rounds: 2, perRound: 25, warmup: 10 },
      throughput: { clients: 5, rounds: 1, seconds: 1 },
      fanout: { receivers: 20, rounds: 2, perRound: 2 },
      joins: { rooms: 100, rounds: 1 },
      connections: { steps: [10, 30], deadlineMs: [20_000, 20_000] },
      wake: { sizes: [2, 5], idleMs: 12_000 },
      idle: { sockets: 3 },
      deadlineMs: 150_000,
    }
  : {
      echo: { rounds: 5, perRound: 1_000, warmup: 200 },
      throughput: { clients: 100, rounds: 3, seconds: 4 },
      fanout: { receivers: 1_000, rounds: 4, perRound: 5 },
      joins: { rooms: 10_000, rounds: 3 },
      connections: { steps: [1_000, 10_000], deadlineMs: [60_000, 180_000] },
      wake: { sizes: [10, 2_000], idleMs: 20_000 },
      idle: { sockets: 100 },
      deadlineMs: 30 * 60_000,
    };

const SERVERS = ["ours", "node", "bare"];
const LABEL = { ours: "socket.io-durable", node: "Node socket.io", bare: "bare DO echo" };
const RUN = Date.now().toString(36);

// ---- small helpers -------------------------------------------------------------------

function log(message) {
  console.log(`[bench] ${message}`);
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function errorText(error) {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? ` (${error.cause.message})` : "";
  return `${error.message}${cause}`;
}

const started = Date.now();
const loadAtStart = os.loadavg();
function checkDeadline() {
  if (Date.now() - started > SIZES.deadlineMs) {
    throw new Error(`the run is past its time limit (${SIZES.deadlineMs / 1000} s)`);
  }
}

function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

function stats(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mean = sorted.reduce((s, v) => s + v, 0) / (sorted.length || 1);
  return {
    n: sorted.length,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    mean: sorted.length ? mean : null,
  };
}

function gzipSize(buffer) {
  return zlib.gzipSync(buffer, { level: 9 }).length;
}

/** Every process started here, stopped at the end whatever happens. */
const children = new Set();

function killGroup(child, signal) {
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

function stopAll() {
  for (const child of children) {
    if (child.detached) killGroup(child, "SIGKILL");
    else child.kill("SIGKILL");
  }
  children.clear();
}
process.on("exit", stopAll);
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(signal, () => {
    stopAll();
    process.exit(130);
  });
}

/** Runs a command to completion; resolves to { code, stdout, stderr }. */
function exec(command, args, options = {}) {
  return new Promise((resolve) => {
    const child = spawn(command, args, {
      cwd: options.cwd ?? ROOT,
      env: options.env ?? process.env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => {
      stdout += d;
      if (options.echo) process.stdout.write(d);
    });
    child.stderr.on("data", (d) => {
      stderr += d;
      if (options.echo) process.stderr.write(d);
    });
    child.on("error", (error) => resolve({ code: 127, stdout, stderr: error.message }));
    child.on("close", (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

// ---- /proc ---------------------------------------------------------------------------

/** CPU time of a process, all threads, in nanoseconds (schedstat: ns resolution). */
function cpuNs(pid) {
  let total = 0;
  for (const task of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      total += Number(fs.readFileSync(`/proc/${pid}/task/${task}/schedstat`, "utf8").split(" ")[0]);
    } catch {
      // thread ended
    }
  }
  return total;
}

/** CPU time the whole machine spent busy (all cores), in milliseconds. */
function machineBusyMs() {
  const f = fs.readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1);
  const v = f.map(Number);
  const total = v.reduce((a, b) => a + b, 0);
  const idle = v[3] + (v[4] ?? 0);
  return ((total - idle) * 1000) / 100; // USER_HZ
}

function rssBytes(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(status.match(/^VmRSS:\s+(\d+)/m)?.[1] ?? 0) * 1024;
}

function fdCount(pid) {
  try {
    return fs.readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return null;
  }
}

function openFilesLimit(pid) {
  try {
    const limits = fs.readFileSync(`/proc/${pid}/limits`, "utf8");
    return Number(limits.match(/^Max open files\s+(\d+)/m)?.[1]) || null;
  } catch {
    return null;
  }
}

/** Processes of a process group: [{ pid, comm, cmdline }]. */
function groupProcesses(pgid) {
  const out = [];
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
      const close = stat.lastIndexOf(")");
      const comm = stat.slice(stat.indexOf("(") + 1, close);
      const fields = stat.slice(close + 2).split(" ");
      if (Number(fields[2]) !== pgid) continue;
      const cmdline = fs.readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0").join(" ");
      out.push({ pid: Number(entry), comm, cmdline });
    } catch {
      // gone
    }
  }
  return out;
}

/** TCP ports a process listens on (IPv4). */
function listeningPorts(pid) {
  const inodes = new Set();
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    try {
      const link = fs.readlinkSync(`/proc/${pid}/fd/${fd}`);
      const m = link.match(/^socket:\[(\d+)\]$/);
      if (m) inodes.add(m[1]);
    } catch {
      // closed meanwhile
    }
  }
  const ports = [];
  for (const line of fs.readFileSync(`/proc/${pid}/net/tcp`, "utf8").split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10 || f[3] !== "0A") continue;
    if (inodes.has(f[9])) ports.push(Number.parseInt(f[1].split(":")[1], 16));
  }
  return ports;
}

// ---- setup ---------------------------------------------------------------------------

function benchDepsCurrent() {
  const lock = path.join(BENCH, "package-lock.json");
  const marker = path.join(BENCH, "node_modules", ".package-lock.json");
  try {
    return fs.statSync(marker).mtimeMs >= fs.statSync(lock).mtimeMs;
  } catch {
    return false;
  }
}

async function setup() {
  const { node, env } = toolchain.ensureNode22();
  toolchain.ensureNpmDeps();
  if (!benchDepsCurrent()) {
    const lock = fs.existsSync(path.join(BENCH, "package-lock.json"));
    log(
      `installing the benchmark's npm dependencies (npm ${lock ? "ci" : "install"} --prefix bench)`,
    );
    const r = await exec(
      "npm",
      [lock ? "ci" : "install", "--prefix", BENCH, "--no-audit", "--no-fund", "--loglevel=error"],
      { env, echo: true },
    );
    if (r.code !== 0) throw new Error(`npm install --prefix bench failed (exit code ${r.code})`);
  }
  await toolchain.buildWasm();
  return { node, env };
}

/** Spawns a long-running process in its own process group. */
function spawnGroup(command, args, options) {
  const child = spawn(command, args, { ...options, detached: true });
  child.detached = true;
  children.add(child);
  child.on("exit", () => children.delete(child));
  return child;
}

async function stopGroup(child) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  killGroup(child, "SIGTERM");
  const graceful = await Promise.race([exited.then(() => true), sleep(5_000).then(() => false)]);
  if (!graceful) killGroup(child, "SIGKILL");
  killGroup(child, "SIGKILL");
  children.delete(child);
}

function freePort() {
  return new Promise((resolve, reject) => {
    import("node:net").then(({ createServer }) => {
      const server = createServer();
      server.on("error", reject);
      server.listen(0, "127.0.0.1", () => {
        const { port } = server.address();
        server.close(() => resolve(port));
      });
    });
  });
}

/** `wrangler deploy --dry-run --outdir`: bundles a worker; returns the files and wrangler's total. */
async function dryRun(ctx, config, outdir, extra = []) {
  fs.rmSync(outdir, { recursive: true, force: true });
  const r = await exec(
    ctx.node,
    [
      toolchain.resolveBin("wrangler"),
      "deploy",
      "--dry-run",
      "--outdir",
      outdir,
      "-c",
      config,
      ...extra,
    ],
    { env: wranglerEnv(ctx.env) },
  );
  if (r.code !== 0) {
    throw new Error(`wrangler deploy --dry-run -c ${config} failed:\n${r.stdout}\n${r.stderr}`);
  }
  const files = {};
  for (const name of fs.readdirSync(outdir)) {
    if (!/\.(js|mjs|wasm)$/.test(name)) continue;
    const buffer = fs.readFileSync(path.join(outdir, name));
    files[name] = { raw: buffer.length, gzip: gzipSize(buffer) };
  }
  const total = r.stdout.match(/Total Upload: ([\d.]+) KiB \/ gzip: ([\d.]+) KiB/);
  return {
    files,
    wranglerTotal: total ? { raw: Number(total[1]), gzip: Number(total[2]) } : null,
  };
}

function wranglerEnv(env) {
  return {
    ...env,
    WRANGLER_SEND_METRICS: "false",
    CLOUDFLARE_CF_FETCH_ENABLED: "false",
    X_LOCAL_OBSERVABILITY: "false",
    NO_COLOR: "1",
    FORCE_COLOR: "0",
  };
}

/** Writes a small wrangler config (with absolute paths) for a size measurement. */
function sizeConfig(dir, name, main, className, binding) {
  const file = path.join(dir, `${name}.jsonc`);
  fs.writeFileSync(
    file,
    JSON.stringify({
      name,
      main,
      compatibility_date: "2026-11-01",
      durable_objects: { bindings: [{ name: binding, class_name: className }] },
      migrations: [{ tag: "v1", new_sqlite_classes: [className] }],
    }),
  );
  return file;
}

/** Upload sizes: the minimal socket.io-durable and bare workers; Node's server bundled. */
async function measureSizes(ctx, tmp) {
  const oursConfig = sizeConfig(
    tmp,
    "size-ours",
    path.join(BENCH, "worker", "size-ours.ts"),
    "BenchSocketIo",
    "BENCH",
  );
  const bareConfig = sizeConfig(
    tmp,
    "size-bare",
    path.join(BENCH, "worker", "size-bare.ts"),
    "BareEcho",
    "BARE",
  );
  const [ours, oursMin, bare, bareMin] = await Promise.all([
    dryRun(ctx, oursConfig, path.join(tmp, "size-ours")),
    dryRun(ctx, oursConfig, path.join(tmp, "size-ours-min"), ["--minify"]),
    dryRun(ctx, bareConfig, path.join(tmp, "size-bare")),
    dryRun(ctx, bareConfig, path.join(tmp, "size-bare-min"), ["--minify"]),
  ]);
  const esbuild = await import(path.join(BENCH, "node_modules", "esbuild", "lib", "main.js"));
  const node = {};
  for (const minify of [false, true]) {
    const result = await esbuild.build({
      entryPoints: [path.join(BENCH, "node-server.mjs")],
      bundle: true,
      platform: "node",
      format: "esm",
      minify,
      write: false,
      logLevel: "silent",
      external: ["bufferutil", "utf-8-validate"],
    });
    const buffer = Buffer.from(result.outputFiles[0].contents);
    node[minify ? "min" : "plain"] = { raw: buffer.length, gzip: gzipSize(buffer) };
  }
  const sum = (files, filter = () => true) =>
    Object.entries(files)
      .filter(([name]) => filter(name))
      .reduce((a, [, f]) => ({ raw: a.raw + f.raw, gzip: a.gzip + f.gzip }), { raw: 0, gzip: 0 });
  const isWasm = (name) => name.endsWith(".wasm");
  return {
    ours: {
      js: sum(ours.files, (n) => !isWasm(n)),
      wasm: sum(ours.files, isWasm),
      total: sum(ours.files),
      min: sum(oursMin.files),
      minJs: sum(oursMin.files, (n) => !isWasm(n)),
      wrangler: ours.wranglerTotal,
    },
    bare: { total: sum(bare.files), min: sum(bareMin.files), wrangler: bare.wranglerTotal },
    node: { total: node.plain, min: node.min },
  };
}

/**
 * Bundles the bench worker once with `wrangler deploy --dry-run`; `wrangler dev` then
 * serves that bundle, so that edits made to the sources during the run reload nothing.
 */
async function buildWorker(ctx, tmp) {
  const outdir = path.join(tmp, "worker");
  await dryRun(ctx, path.join(BENCH, "worker", "wrangler.jsonc"), outdir);
  const source = fs.readFileSync(path.join(BENCH, "worker", "wrangler.jsonc"), "utf8");
  const config = JSON.parse(source.replace(/^\s*\/\/.*$/gm, ""));
  delete config.$schema;
  Object.assign(config, { main: "worker.js", no_bundle: true, find_additional_modules: true });
  fs.writeFileSync(path.join(outdir, "wrangler.jsonc"), JSON.stringify(config, null, 2));
  return outdir;
}

let wranglerInstances = 0;

/** Serves the bundled bench worker with `wrangler dev` on 127.0.0.1, with fresh storage. */
async function startWrangler(ctx, outdir) {
  const port = await freePort();
  const inspectorPort = await freePort();
  const persist = path.join(path.dirname(outdir), `state-${++wranglerInstances}`);
  const child = spawnGroup(
    ctx.node,
    [
      toolchain.resolveBin("wrangler"),
      "dev",
      "-c",
      path.join(outdir, "wrangler.jsonc"),
      "--ip",
      "127.0.0.1",
      "--port",
      String(port),
      "--inspector-port",
      String(inspectorPort),
      "--persist-to",
      persist,
      "--show-interactive-dev-session=false",
    ],
    { cwd: outdir, env: wranglerEnv(ctx.env), stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  /** Error lines of the runtime, ANSI colours removed. */
  const errors = [];
  const append = (d) => {
    output = (output + d).slice(-200_000);
    for (const line of String(d).split("\n")) {
      const clean = stripVTControlCharacters(line);
      const m = clean.match(/\[ERROR\]\s*(.*)$/);
      if (m) errors.push(m[1].trim());
    }
  };
  child.stdout.on("data", append);
  child.stderr.on("data", append);
  const proxyUrl = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited:\n${output}`);
    try {
      const r = await fetch(`${proxyUrl}/__health`, { signal: AbortSignal.timeout(2_000) });
      if (r.status === 200 && (await r.text()) === "ok") break;
    } catch {
      // not yet
    }
    await sleep(250);
  }
  if (Date.now() >= deadline) throw new Error(`wrangler dev did not get ready:\n${output}`);
  // Two workerd processes: wrangler's dev proxy on the public port, and the runtime
  // that runs the worker and its objects on a port of its own.
  const workerd = groupProcesses(child.pid).filter((p) => p.comm === "workerd");
  const proxy = workerd.find((p) => p.cmdline.includes(`entry=127.0.0.1:${port}`));
  const runtime = workerd.find((p) => p !== proxy && p.cmdline.includes("entry=127.0.0.1:0"));
  if (!runtime) throw new Error("could not find the workerd process that runs the worker");
  let runtimeUrl = null;
  for (const p of listeningPorts(runtime.pid)) {
    try {
      const r = await fetch(`http://127.0.0.1:${p}/__health`, {
        signal: AbortSignal.timeout(2_000),
      });
      if (r.status === 200 && (await r.text()) === "ok") {
        runtimeUrl = `http://127.0.0.1:${p}`;
        break;
      }
    } catch {
      // another socket of the runtime
    }
  }
  if (!runtimeUrl) throw new Error("could not find the runtime's own socket");
  return {
    child,
    proxyUrl,
    url: VIA_PROXY ? proxyUrl : runtimeUrl,
    runtimeUrl,
    pid: runtime.pid,
    proxyPid: proxy?.pid ?? null,
    output: () => output,
    errors,
  };
}

async function startNodeServer(ctx) {
  const child = spawnGroup(ctx.node, ["--expose-gc", path.join(BENCH, "node-server.mjs")], {
    cwd: BENCH,
    env: ctx.env,
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("the Node server did not start")), 20_000);
    child.once("message", (m) => {
      clearTimeout(timer);
      resolve(m.port);
    });
    child.once("exit", (code) => reject(new Error(`the Node server exited (${code})`)));
  });
  let nextGc = 1;
  return {
    child,
    url: `http://127.0.0.1:${port}`,
    pid: child.pid,
    gc: () =>
      new Promise((resolve) => {
        const id = nextGc++;
        const onMessage = (m) => {
          if (m?.type === "gc" && m.id === id) {
            child.off("message", onMessage);
            resolve();
          }
        };
        child.on("message", onMessage);
        child.send({ type: "gc", id });
      }),
  };
}

// ---- clients -------------------------------------------------------------------------

/** A client process (bench/client.mjs) driven over IPC. */
class Client {
  constructor(ctx, name) {
    this.name = name;
    this.child = spawn(ctx.node, ["--max-old-space-size=8192", path.join(BENCH, "client.mjs")], {
      cwd: BENCH,
      env: ctx.env,
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    children.add(this.child);
    this.pending = new Map();
    this.nextId = 1;
    this.child.on("message", (m) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.ok) p.resolve(m.result);
      else p.reject(new Error(`${name}: ${m.error}`));
    });
    this.child.on("exit", (code, signal) => {
      children.delete(this.child);
      for (const p of this.pending.values()) {
        p.reject(new Error(`${name}: client process exited (${code ?? signal})`));
      }
      this.pending.clear();
    });
  }

  get pid() {
    return this.child.pid;
  }

  call(cmd, args = {}, timeoutMs = 300_000) {
    return new Promise((resolve, reject) => {
      const id = this.nextId++;
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${this.name}: ${cmd} took more than ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, {
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.child.send({ id, cmd, args });
    });
  }

  async stop() {
    if (this.child.exitCode !== null) return;
    try {
      await this.call("closeAll", {}, 10_000);
    } catch {
      // it is going anyway
    }
    this.child.kill("SIGTERM");
    children.delete(this.child);
  }
}

// ---- the run -------------------------------------------------------------------------

/** Everything measured; the table is built from it. */
const R = {
  echo: {},
  throughput: {},
  throughputNoDeflate: {},
  fanout: {},
  joins: {},
  connections: {},
  connectionsNoDeflate: {},
  wake: {},
  cost: {},
  idle: null,
  sizes: null,
  micro: null,
  notes: [],
  failures: [],
};

function target(servers, server, doName, cls = "bench") {
  if (server === "node") return { kind: "sio", url: servers.node.url, query: {} };
  if (server === "bare") return { kind: "bare", url: servers.wrangler.url, query: { do: doName } };
  return { kind: "sio", url: servers.wrangler.url, query: { do: doName, cls } };
}

function serverPid(servers, server) {
  return server === "node" ? servers.node.pid : servers.wrangler.pid;
}

async function counters(servers, cls, doName, reset = false) {
  const url = `${servers.wrangler.runtimeUrl}/__counters?cls=${cls}&do=${encodeURIComponent(doName)}${reset ? "&reset=1" : ""}`;
  const r = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  return r.json();
}

function counterDelta(after, before) {
  const calls = {};
  for (const [k, v] of Object.entries(after.calls)) {
    const d = v - (before.calls[k] ?? 0);
    if (d) calls[k] = d;
  }
  const d = { calls };
  for (const k of [
    "constructed",
    "fetches",
    "wsMessages",
    "wsCloses",
    "alarms",
    "rowsRead",
    "rowsWritten",
    "attachments",
  ]) {
    d[k] = after[k] - before[k];
  }
  d.alarmSets = calls.setAlarm ?? 0;
  return d;
}

let debugServers = null;

/** Runs `fn` for one workload; a failure is noted and the run goes on. */
async function step(name, fn) {
  checkDeadline();
  log(name);
  const t0 = Date.now();
  try {
    await fn();
    log(`${name}: done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  } catch (error) {
    log(`${name}: FAILED: ${errorText(error)}`);
    R.failures.push(`${name}: ${errorText(error)}`);
    if (process.env.BENCH_DEBUG) {
      console.error(error);
      if (debugServers?.wrangler) {
        fs.writeFileSync("/tmp/bench-wrangler.log", debugServers.wrangler.output());
      }
    }
  }
}

/** Measures server CPU and the cost counters (ours and bare) around `fn`. */
async function measured(servers, server, doName, cls, fn) {
  const pid = serverPid(servers, server);
  const before = server === "node" ? null : await counters(servers, cls, doName);
  const proxyBefore =
    server !== "node" && servers.wrangler.proxyPid && VIA_PROXY
      ? cpuNs(servers.wrangler.proxyPid)
      : null;
  const cpu0 = cpuNs(pid);
  const busy0 = machineBusyMs();
  const t0 = performance.now();
  const result = await fn();
  const wallMs = performance.now() - t0;
  const cpuMs = (cpuNs(pid) - cpu0) / 1e6;
  const machineMs = machineBusyMs() - busy0;
  const proxyCpuMs =
    proxyBefore === null ? null : (cpuNs(servers.wrangler.proxyPid) - proxyBefore) / 1e6;
  const after = server === "node" ? null : await counters(servers, cls, doName);
  return {
    result,
    cpuMs,
    machineMs,
    wallMs,
    proxyCpuMs,
    cost: before && after ? counterDelta(after, before) : null,
  };
}

function addCost(acc, cost) {
  if (!cost) return acc;
  if (!acc) return structuredClone(cost);
  for (const [k, v] of Object.entries(cost)) {
    if (k === "calls") {
      for (const [c, n] of Object.entries(v)) acc.calls[c] = (acc.calls[c] ?? 0) + n;
    } else acc[k] += v;
  }
  return acc;
}

async function clientCpu(client) {
  return (await client.call("usage")).cpuMs;
}

// ---- workloads -----------------------------------------------------------------------

async function echoWorkload(ctx, servers) {
  const { rounds, perRound, warmup } = SIZES.echo;
  const clients = {};
  const acc = {};
  try {
    for (const s of SERVERS) {
      clients[s] = new Client(ctx, `echo/${s}`);
      await clients[s].call("connect", { target: target(servers, s, `echo-${RUN}`) });
      await clients[s].call("echo", { count: 0, warmup });
      acc[s] = { latencies: [], cpuMs: 0, clientCpuMs: 0, machineMs: 0, wallMs: 0, cost: null };
    }
    // Interleaved: one round on each server in turn, so that drift hits all alike.
    for (let r = 0; r < rounds; r++) {
      for (const s of SERVERS) {
        checkDeadline();
        const c0 = await clientCpu(clients[s]);
        const m = await measured(servers, s, `echo-${RUN}`, s === "bare" ? "bare" : "bench", () =>
          clients[s].call("echo", { count: perRound }),
        );
        acc[s].clientCpuMs += (await clientCpu(clients[s])) - c0;
        acc[s].latencies.push(...m.result.latencies);
        acc[s].cpuMs += m.cpuMs;
        acc[s].machineMs += m.machineMs;
        acc[s].wallMs += m.wallMs;
        acc[s].cost = addCost(acc[s].cost, m.cost);
      }
    }
  } finally {
    await Promise.all(Object.values(clients).map((c) => c.stop()));
  }
  for (const s of SERVERS) {
    const a = acc[s];
    R.echo[s] = {
      ...stats(a.latencies),
      serverCpuUsPerRt: (a.cpuMs * 1000) / a.latencies.length,
      clientCpuPct: (100 * a.clientCpuMs) / a.wallMs,
      serverCpuPct: (100 * a.cpuMs) / a.wallMs,
      otherCpuPct: (100 * (a.machineMs - a.cpuMs - a.clientCpuMs)) / a.wallMs,
    };
    if (s !== "node") R.cost[`echo/${s}`] = { ...a.cost, units: a.latencies.length };
  }
}

/**
 * Throughput, with socket.io-client's default transport (permessage-deflate offered)
 * and, when `deflate` is false, with clients that do not offer it.
 */
async function throughputWorkload(ctx, servers, deflate = true) {
  const { clients: n, rounds, seconds } = SIZES.throughput;
  const clients = {};
  const acc = {};
  try {
    for (const s of SERVERS) {
      clients[s] = new Client(ctx, `throughput/${s}${deflate ? "" : " (no deflate)"}`);
      await clients[s].call("connect", {
        target: { ...target(servers, s, `tp-${RUN}`), deflate },
        count: n,
        concurrency: 20,
      });
      acc[s] = {
        events: 0,
        seconds: 0,
        latencies: [],
        cpuMs: 0,
        clientCpuMs: 0,
        machineMs: 0,
        cost: null,
      };
    }
    for (let r = 0; r < rounds; r++) {
      for (const s of SERVERS) {
        checkDeadline();
        const c0 = await clientCpu(clients[s]);
        const m = await measured(servers, s, `tp-${RUN}`, s === "bare" ? "bare" : "bench", () =>
          clients[s].call("throughput", { seconds }),
        );
        acc[s].clientCpuMs += (await clientCpu(clients[s])) - c0;
        acc[s].events += m.result.events;
        acc[s].seconds += m.result.seconds;
        acc[s].latencies.push(...m.result.latencies);
        acc[s].cpuMs += m.cpuMs;
        acc[s].machineMs += m.machineMs;
        acc[s].cost = addCost(acc[s].cost, m.cost);
      }
    }
  } finally {
    await Promise.all(Object.values(clients).map((c) => c.stop()));
  }
  for (const s of SERVERS) {
    const a = acc[s];
    (deflate ? R.throughput : R.throughputNoDeflate)[s] = {
      eventsPerSec: a.events / a.seconds,
      latency: stats(a.latencies),
      serverCpuUsPerEvent: (a.cpuMs * 1000) / a.events,
      clientCpuUsPerEvent: (a.clientCpuMs * 1000) / a.events,
      serverCpuPct: (100 * a.cpuMs) / (a.seconds * 1000),
      clientCpuPct: (100 * a.clientCpuMs) / (a.seconds * 1000),
      otherCpuPct: (100 * (a.machineMs - a.cpuMs - a.clientCpuMs)) / (a.seconds * 1000),
    };
    if (s !== "node" && deflate) R.cost[`throughput/${s}`] = { ...a.cost, units: a.events };
  }
}

async function fanoutWorkload(ctx, servers) {
  const { receivers, rounds, perRound } = SIZES.fanout;
  const clients = {};
  const acc = {};
  try {
    for (const s of SERVERS) {
      clients[s] = new Client(ctx, `fanout/${s}`);
      await clients[s].call("connect", {
        target: target(servers, s, `fan-${RUN}`),
        count: receivers + 1,
        concurrency: 50,
      });
      await clients[s].call("fanSetup", { room: "fan" });
      // One broadcast to warm up.
      await clients[s].call("fanout", { broadcasts: 1, first: 1_000_000 });
      acc[s] = { times: [], seconds: 0, cpuMs: 0, clientCpuMs: 0, machineMs: 0, cost: null };
    }
    for (let r = 0; r < rounds; r++) {
      for (const s of SERVERS) {
        checkDeadline();
        const c0 = await clientCpu(clients[s]);
        const m = await measured(servers, s, `fan-${RUN}`, s === "bare" ? "bare" : "bench", () =>
          clients[s].call("fanout", { broadcasts: perRound, first: r * perRound }),
        );
        acc[s].clientCpuMs += (await clientCpu(clients[s])) - c0;
        acc[s].times.push(...m.result.times);
        acc[s].seconds += m.result.seconds;
        acc[s].cpuMs += m.cpuMs;
        acc[s].machineMs += m.machineMs;
        acc[s].cost = addCost(acc[s].cost, m.cost);
      }
    }
  } finally {
    await Promise.all(Object.values(clients).map((c) => c.stop()));
  }
  for (const s of SERVERS) {
    const a = acc[s];
    const deliveries = a.times.length * receivers;
    R.fanout[s] = {
      broadcast: stats(a.times),
      deliveriesPerSec: deliveries / a.seconds,
      serverCpuUsPerDelivery: (a.cpuMs * 1000) / deliveries,
      clientCpuPct: (100 * a.clientCpuMs) / (a.seconds * 1000),
      serverCpuPct: (100 * a.cpuMs) / (a.seconds * 1000),
      otherCpuPct: (100 * (a.machineMs - a.cpuMs - a.clientCpuMs)) / (a.seconds * 1000),
    };
    if (s !== "node") R.cost[`fanout/${s}`] = { ...a.cost, units: a.times.length };
  }
}

/** How a socket joins its rooms in the joins workload (see the `joins` client command). */
const JOIN_MODES = ["handler", "events"];

/**
 * Joins: one socket joins `rooms` distinct rooms, in one handler that calls
 * `socket.join` once per room, and with one `join` event per room sent at once; meanwhile
 * a second client of the same server (its own process) makes sequential echo round
 * trips, whose latency says how long the joins hold up everyone else. Each round uses
 * new room names on the same socket. Only the Socket.IO servers: the bare echo has no
 * rooms.
 */
async function joinsWorkload(ctx, servers) {
  const { rooms, rounds } = SIZES.joins;
  const joinServers = ["ours", "node"];
  const clients = {};
  const acc = {};
  const doName = `joins-${RUN}`;
  try {
    for (const s of joinServers) {
      clients[s] = {
        joiner: new Client(ctx, `joins/${s}`),
        observer: new Client(ctx, `joins-observer/${s}`),
      };
      for (const c of Object.values(clients[s])) {
        await c.call("connect", { target: target(servers, s, doName) });
        await c.call("echo", { count: 0, warmup: 20 });
      }
      acc[s] = {};
      for (const mode of JOIN_MODES) {
        acc[s][mode] = { joins: 0, ms: 0, cpuMs: 0, probe: [], cost: null, rooms: null };
      }
    }
    for (let r = 0; r < rounds; r++) {
      for (const mode of JOIN_MODES) {
        for (const s of joinServers) {
          checkDeadline();
          const { joiner, observer } = clients[s];
          await observer.call("probeStart");
          const m = await measured(servers, s, doName, "bench", () =>
            joiner.call("joins", { prefix: `${mode}-${r}-`, count: rooms, mode }),
          );
          const { latencies } = await observer.call("probeStop");
          const a = acc[s][mode];
          a.joins += rooms;
          a.ms += m.result.ms;
          a.cpuMs += m.cpuMs;
          a.probe.push(...latencies);
          a.cost = addCost(a.cost, m.cost);
          a.rooms = m.result.rooms ?? a.rooms;
          // Let the server settle (the joins' storage, the probe) before the next one.
          await waitIdle(serverPid(servers, s), 30_000);
        }
      }
    }
  } finally {
    await Promise.all(Object.values(clients).flatMap((c) => [c.joiner.stop(), c.observer.stop()]));
  }
  for (const s of joinServers) {
    R.joins[s] = {};
    for (const mode of JOIN_MODES) {
      const a = acc[s][mode];
      R.joins[s][mode] = {
        joinsPerSec: (a.joins * 1000) / a.ms,
        msPerJoin: a.ms / a.joins,
        serverCpuUsPerJoin: (a.cpuMs * 1000) / a.joins,
        probe: { ...stats(a.probe), max: a.probe.length ? Math.max(...a.probe) : null },
        rooms: a.rooms,
      };
      if (s !== "node") R.cost[`joins ${mode}/${s}`] = { ...a.cost, units: a.joins };
    }
  }
}

/** Waits until a process uses less than 5 % of a core over 500 ms (at most `maxMs`). */
async function waitIdle(pid, maxMs = 120_000) {
  const deadline = Date.now() + maxMs;
  while (Date.now() < deadline) {
    const c0 = cpuNs(pid);
    await sleep(500);
    if ((cpuNs(pid) - c0) / 1e6 < 25) return;
  }
}

async function serverRss(servers, server) {
  if (server === "node") await servers.node.gc();
  await sleep(QUICK ? 300 : 2_000);
  return rssBytes(serverPid(servers, server));
}

/**
 * Connections: sockets opened 50 at a time up to each step; connect rate and the
 * server's memory per socket. socket.io-durable and the bare echo each get a
 * `wrangler dev` of their own, started for this test: a runtime keeps the memory it
 * once used, and would lend it to the next server measured in it.
 */
async function connectionsWorkload(ctx, mainServers) {
  // Then the first step again with clients that do not offer permessage-deflate.
  for (const deflate of [true, false]) {
    for (const s of ["bare", "node", "ours"]) {
      checkDeadline();
      let fresh = null;
      try {
        if (s !== "node") fresh = await startWrangler(ctx, mainServers.workerDir);
        const servers = fresh ? { ...mainServers, wrangler: fresh } : mainServers;
        await connectionsOf(ctx, servers, s, deflate);
      } finally {
        await stopGroup(fresh?.child);
      }
    }
  }
}

async function connectionsOf(ctx, servers, s, deflate) {
  const { deadlineMs } = SIZES.connections;
  const steps = deflate ? SIZES.connections.steps : SIZES.connections.steps.slice(0, 1);
  const client = new Client(ctx, `connections/${s}${deflate ? "" : " (no deflate)"}`);
  const doName = `conn-${RUN}`;
  const cls = s === "bare" ? "bare" : "bench";
  const out = { steps: [], limit: openFilesLimit(serverPid(servers, s)) };
  const outputMark = s === "node" ? 0 : servers.wrangler.errors.length;
  try {
    const before = s === "node" ? null : await counters(servers, cls, doName);
    const rss0 = await serverRss(servers, s);
    const pid = serverPid(servers, s);
    const fds0 = fdCount(pid);
    let opened = 0;
    for (let i = 0; i < steps.length; i++) {
      // Past its open-files limit a process fails in ways that outlast the test (workerd
      // takes two descriptors per WebSocket): stop short of it, and say so.
      let total = steps[i];
      let capped = null;
      const fdsNow = fdCount(pid);
      if (opened > 0 && out.limit && fdsNow !== null && fds0 !== null) {
        const perSocket = Math.max(1, (fdsNow - fds0) / opened);
        const room = Math.floor((out.limit - fdsNow - 100) / perSocket);
        if (opened + room < total) {
          total = opened + Math.max(0, room);
          capped =
            `capped at ${total.toLocaleString("en-US")}: the server process has an open-files limit of ` +
            `${out.limit.toLocaleString("en-US")} (not raisable here) and uses ${perSocket.toFixed(2)} descriptors per socket`;
        }
      }
      const r = await client.call(
        "open",
        {
          target: { ...target(servers, s, doName), deflate },
          total,
          concurrency: 50,
          deadlineMs: deadlineMs[i],
          maxFailures: 20,
        },
        deadlineMs[i] + 60_000,
      );
      const rss = await serverRss(servers, s);
      const usage = await client.call("usage");
      out.steps.push({
        fds: fdCount(serverPid(servers, s)),
        target: steps[i],
        opened: r.opened,
        ratePerSec: (r.opened - opened) / r.seconds,
        bytesPerSocket: r.opened ? (rss - rss0) / r.opened : null,
        rssMb: rss / 2 ** 20,
        clientRssMb: usage.rssBytes / 2 ** 20,
        stillOpen: usage.open,
        extensions: r.extensions,
        stopReason: r.stopReason ?? capped,
        capped: capped !== null,
        errors: r.errors,
      });
      log(
        `connections/${s}: ${r.opened} open in ${r.seconds.toFixed(1)} s${r.stopReason ? `, stopped: ${r.stopReason}` : ""}`,
      );
      opened = r.opened;
      if (r.opened < total) break;
    }
    if (before) {
      let after;
      try {
        after = await counters(servers, cls, doName);
      } catch {
        // The runtime may be out of file descriptors: ask again once the sockets are closed.
        await client.call("closeAll", { waitMs: 1_000 });
        await waitIdle(serverPid(servers, s));
        after = await counters(servers, cls, doName);
        out.countersAfterClose = true;
      }
      if (deflate) R.cost[`connections/${s}`] = { ...counterDelta(after, before), units: opened };
    }
  } finally {
    await client.stop();
    // Let the server handle the closes before the next server's baseline.
    await sleep(QUICK ? 200 : 1_000);
    await waitIdle(serverPid(servers, s));
  }
  if (s !== "node") {
    // Why the runtime refused connections, if it said so.
    const counts = new Map();
    for (const e of servers.wrangler.errors.slice(outputMark)) {
      counts.set(e, (counts.get(e) ?? 0) + 1);
    }
    if (counts.size) {
      out.runtimeErrors = [...counts].map(([e, n]) => `${n}× "${e}"`).join(", ");
    }
  }
  if (deflate) R.connections[s] = out;
  else R.connectionsNoDeflate[s] = out;
}

/**
 * Wake: idle sockets connected, the object left alone until `wrangler dev` evicts it,
 * then one request. Returns a function that does the measuring (so that quick mode can
 * run other workloads while the objects go idle).
 */
async function startWake(ctx, servers) {
  const groups = [];
  for (const s of SERVERS) {
    for (const size of SIZES.wake.sizes) {
      const doName = `wake${size}-${RUN}`;
      const client = new Client(ctx, `wake${size}/${s}`);
      groups.push({ server: s, size, doName, client, cls: s === "bare" ? "bare" : "wake" });
    }
  }
  await Promise.all(
    groups.map((g) =>
      g.client.call("connect", {
        target: target(servers, g.server, g.doName, "wake"),
        count: g.size,
        concurrency: 50,
      }),
    ),
  );
  const idleSince = Date.now();
  return async () => {
    const wait = SIZES.wake.idleMs - (Date.now() - idleSince);
    if (wait > 0) {
      log(`wake: waiting ${(wait / 1000).toFixed(0)} s for the idle objects to be evicted`);
      await sleep(wait);
    }
    try {
      for (const g of groups) {
        checkDeadline();
        const idleMs = Date.now() - idleSince;
        const m = await measured(servers, g.server, g.doName, g.cls, () =>
          g.client.call("wakePing", {}, 60_000),
        );
        R.wake[`${g.server}/${g.size}`] = {
          ...m.result,
          cpuMs: m.cpuMs,
          idleMs,
          evicted: m.cost ? m.cost.constructed > 0 : false,
          cost: m.cost,
        };
      }
    } finally {
      await Promise.all(groups.map((g) => g.client.stop()));
    }
  };
}

/** Idle sockets on one object for the whole run: alarms, wakes and writes per minute. */
async function startIdle(ctx, servers) {
  const doName = `idle-${RUN}`;
  const client = new Client(ctx, "idle/ours");
  await client.call("connect", {
    target: target(servers, "ours", doName),
    count: SIZES.idle.sockets,
  });
  const before = await counters(servers, "bench", doName);
  const t0 = Date.now();
  return async () => {
    const after = await counters(servers, "bench", doName);
    const usage = await client.call("usage");
    await client.stop();
    const minutes = (Date.now() - t0) / 60_000;
    R.idle = {
      minutes,
      sockets: SIZES.idle.sockets,
      stillOpen: usage.open,
      ...counterDelta(after, before),
    };
  };
}

async function microBenchmarks() {
  log("cargo bench -p socketio-core (short measurement: 1 s warm-up, 2 s per benchmark)");
  const r = await exec(
    "cargo",
    [
      "bench",
      "-p",
      "socketio-core",
      "--bench",
      "core",
      "--",
      "--warm-up-time",
      "1",
      "--measurement-time",
      "2",
    ],
    { echo: false },
  );
  if (r.code !== 0) throw new Error(`cargo bench failed (exit code ${r.code}):\n${r.stderr}`);
  const results = [];
  const re =
    /^(\S[^\n]*?)\s*\n?\s+time:\s+\[\S+ \S+ (\S+) (\S+) \S+ \S+\]\n(?:\s+thrpt:\s+\[\S+ \S+ (\S+) (\S+) \S+ \S+\])?/gm;
  for (const m of r.stdout.matchAll(re)) {
    results.push({
      name: m[1].trim(),
      median: `${m[2]} ${m[3]}`,
      throughput: m[4] ? `${m[4]} ${m[5]}` : null,
    });
  }
  if (results.length === 0) throw new Error(`no result in the output of cargo bench:\n${r.stdout}`);
  return results;
}

// ---- the table -----------------------------------------------------------------------

function fmt(value, digits = 2) {
  if (value === null || value === undefined || Number.isNaN(value)) return "—";
  if (typeof value === "string") return value;
  if (Number.isInteger(value) || Math.abs(value) >= 1000)
    return Math.round(value).toLocaleString("en-US");
  if (Math.abs(value) >= 100) return value.toFixed(0);
  if (Math.abs(value) >= 10) return value.toFixed(1);
  return value.toFixed(digits);
}

function ratio(a, b) {
  if (typeof a !== "number" || typeof b !== "number" || !b || Number.isNaN(a)) return "—";
  const r = a / b;
  return `${r >= 10 ? r.toFixed(0) : r.toFixed(2)}×`;
}

const kb = (bytes) => (typeof bytes === "number" ? bytes / 1024 : null);

/**
 * The rows of the table: [workload, metric, ours, node, bare] with numbers (for the
 * ratios) or text. Every row is always there; what could not be measured shows "—".
 */
function tableRows() {
  const rows = [];
  const row = (workload, metric, get) => {
    const values = SERVERS.map((s) => {
      try {
        return get(s) ?? null;
      } catch {
        return null;
      }
    });
    rows.push([workload, metric, ...values]);
  };
  const E = SIZES.echo;
  const echoName = `echo round trip (1 client, ${fmt(E.rounds * E.perRound)} sequential acks)`;
  row(echoName, "p50 ms ↓", (s) => R.echo[s].p50);
  row(echoName, "p99 ms ↓", (s) => R.echo[s].p99);
  row(echoName, "mean ms ↓", (s) => R.echo[s].mean);
  row(echoName, "server CPU µs per round trip ↓", (s) => R.echo[s].serverCpuUsPerRt);

  const T = SIZES.throughput;
  const tpName = `throughput (${T.clients} clients, ${T.rounds * T.seconds} s)`;
  row(tpName, "events/s ↑", (s) => R.throughput[s].eventsPerSec);
  row(tpName, "ack latency p50 ms ↓", (s) => R.throughput[s].latency.p50);
  row(tpName, "server CPU µs per event ↓", (s) => R.throughput[s].serverCpuUsPerEvent);
  row(tpName, "client CPU µs per event ↓", (s) => R.throughput[s].clientCpuUsPerEvent);
  const TN = R.throughputNoDeflate;
  row(tpName, "… clients without permessage-deflate: events/s ↑", (s) => TN[s].eventsPerSec);
  row(
    tpName,
    "… without permessage-deflate: server CPU µs per event ↓",
    (s) => TN[s].serverCpuUsPerEvent,
  );
  row(
    tpName,
    "… without permessage-deflate: client CPU µs per event ↓",
    (s) => TN[s].clientCpuUsPerEvent,
  );

  const F = SIZES.fanout;
  const fanName = `fan-out (1 emitter, room of ${fmt(F.receivers)}, ${F.rounds * F.perRound} broadcasts)`;
  row(fanName, "time until all received, p50 ms ↓", (s) => R.fanout[s].broadcast.p50);
  row(fanName, "deliveries/s ↑", (s) => R.fanout[s].deliveriesPerSec);
  row(fanName, "server CPU µs per delivery ↓", (s) => R.fanout[s].serverCpuUsPerDelivery);

  const J = SIZES.joins;
  const joinsName = `joins (1 socket, ${fmt(J.rooms)} distinct rooms, ${J.rounds} round${J.rounds === 1 ? "" : "s"}; another client echoes meanwhile)`;
  const jv = (s, mode, f) => (s === "bare" ? "n/a" : f(R.joins[s][mode]));
  row(joinsName, `joins/s, one handler calling socket.join ${fmt(J.rooms)} times ↑`, (s) =>
    jv(s, "handler", (j) => j.joinsPerSec),
  );
  row(joinsName, "… µs per join ↓", (s) => jv(s, "handler", (j) => j.msPerJoin * 1000));
  row(joinsName, "… server CPU µs per join ↓", (s) =>
    jv(s, "handler", (j) => j.serverCpuUsPerJoin),
  );
  row(joinsName, "… the other client's echo meanwhile, max ms ↓", (s) =>
    jv(s, "handler", (j) => j.probe.max),
  );
  row(joinsName, `joins/s, ${fmt(J.rooms)} join events sent at once, each acked ↑`, (s) =>
    jv(s, "events", (j) => j.joinsPerSec),
  );
  row(joinsName, "… server CPU µs per join ↓", (s) => jv(s, "events", (j) => j.serverCpuUsPerJoin));
  row(joinsName, "… the other client's echo meanwhile, max ms ↓", (s) =>
    jv(s, "events", (j) => j.probe.max),
  );

  for (const [i, n] of SIZES.connections.steps.entries()) {
    const name = `connections (open ${fmt(n)})`;
    const st = (s) => R.connections[s].steps[i];
    row(name, "sockets open", (s) =>
      st(s)
        ? `${fmt(st(s).opened)}${st(s).opened < n ? (st(s).capped ? " (fd limit)" : " (stopped)") : ""}`
        : null,
    );
    row(
      name,
      i === 0 ? "connects/s ↑" : `connects/s from ${fmt(SIZES.connections.steps[i - 1])} ↑`,
      (s) => st(s)?.ratePerSec,
    );
    row(name, "server memory KB per socket ↓", (s) => kb(st(s)?.bytesPerSocket));
    if (i === 0) {
      row(name, "… clients without permessage-deflate: KB per socket ↓", (s) =>
        kb(R.connectionsNoDeflate[s].steps[0]?.bytesPerSocket),
      );
    }
  }

  for (const size of SIZES.wake.sizes) {
    const name = `wake (${fmt(size)} idle sockets, ${SIZES.wake.idleMs / 1000} s idle)`;
    const w = (s) => R.wake[`${s}/${size}`];
    row(name, "first reply ms ↓", (s) => w(s)?.ms);
    row(name, "server CPU ms for it ↓", (s) => w(s)?.cpuMs);
    row(name, "evicted / session kept", (s) =>
      w(s)
        ? `${s === "node" ? "never evicted" : w(s).evicted ? "evicted" : "not evicted"} / ${w(s).reconnected ? "reconnect" : "kept"}`
        : null,
    );
  }

  const Z = R.sizes;
  row("upload size (wrangler deploy --dry-run)", "worker JS KB, gzip", (s) =>
    s === "ours" ? kb(Z.ours.js.gzip) : s === "bare" ? kb(Z.bare.total.gzip) : null,
  );
  row("upload size (wrangler deploy --dry-run)", "wasm KB, gzip", (s) =>
    s === "ours" ? kb(Z.ours.wasm.gzip) : s === "bare" ? 0 : null,
  );
  row("upload size (wrangler deploy --dry-run)", "total KB raw ↓", (s) =>
    kb((s === "node" ? Z.node.total : Z[s].total).raw),
  );
  row("upload size (wrangler deploy --dry-run)", "total KB gzip ↓", (s) =>
    kb((s === "node" ? Z.node.total : Z[s].total).gzip),
  );
  row("upload size (wrangler deploy --dry-run)", "total KB gzip, --minify ↓", (s) =>
    kb((s === "node" ? Z.node.min : Z[s].min).gzip),
  );

  const C = (key) => R.cost[key];
  const per = (key, field) => (C(key) ? C(key)[field] / C(key).units : null);
  const costName = "Durable Object cost counters";
  row(costName, "rows read / written per message (echo)", (s) =>
    s === "node"
      ? "n/a"
      : `${fmt(per(`echo/${s}`, "rowsRead"), 3)} / ${fmt(per(`echo/${s}`, "rowsWritten"), 3)}`,
  );
  row(costName, "alarm sets per message (echo)", (s) =>
    s === "node" ? "n/a" : per(`echo/${s}`, "alarmSets"),
  );
  row(costName, "rows read / written per message (throughput)", (s) =>
    s === "node"
      ? "n/a"
      : `${fmt(per(`throughput/${s}`, "rowsRead"), 3)} / ${fmt(per(`throughput/${s}`, "rowsWritten"), 3)}`,
  );
  row(costName, "rows read / written per connect", (s) =>
    s === "node"
      ? "n/a"
      : `${fmt(per(`connections/${s}`, "rowsRead"), 3)} / ${fmt(per(`connections/${s}`, "rowsWritten"), 3)}`,
  );
  row(costName, "alarm sets per connect", (s) =>
    s === "node" ? "n/a" : per(`connections/${s}`, "alarmSets"),
  );
  row(costName, "attachment writes per connect", (s) =>
    s === "node" ? "n/a" : per(`connections/${s}`, "attachments"),
  );
  row(costName, "storage calls per broadcast (fan-out)", (s) =>
    s === "node"
      ? "n/a"
      : C(`fanout/${s}`)
        ? Object.values(C(`fanout/${s}`).calls).reduce((a, b) => a + b, 0) / C(`fanout/${s}`).units
        : null,
  );
  for (const mode of JOIN_MODES) {
    const key = (s) => `joins ${mode}/${s}`;
    const what = mode === "handler" ? "in one handler" : "one event each";
    const n = fmt(SIZES.joins.rooms);
    row(costName, `storage calls per ${n} joins / rows written per join (${what})`, (s) => {
      if (s !== "ours") return "n/a";
      const c = C(key(s));
      if (!c) return null;
      const calls = Object.values(c.calls).reduce((a, b) => a + b, 0);
      return `${fmt((calls * SIZES.joins.rooms) / c.units)} / ${fmt(c.rowsWritten / c.units)}`;
    });
  }
  const idleName = `idle (${SIZES.idle.sockets} sockets, default heartbeat), per minute`;
  const I = R.idle;
  const perMin = (v) => (I ? v / I.minutes : null);
  row(idleName, "alarm runs ↓", (s) =>
    s === "ours" ? perMin(I.alarms) : s === "bare" ? 0 : "n/a",
  );
  row(idleName, "wakes (object constructed) ↓", (s) =>
    s === "ours" ? perMin(I.constructed) : s === "bare" ? 0 : "n/a",
  );
  row(idleName, "rows read ↓", (s) =>
    s === "ours" ? perMin(I.rowsRead) : s === "bare" ? 0 : "n/a",
  );
  row(idleName, "rows written ↓", (s) =>
    s === "ours" ? perMin(I.rowsWritten) : s === "bare" ? 0 : "n/a",
  );
  row(idleName, "alarm sets ↓", (s) =>
    s === "ours" ? perMin(I.alarmSets) : s === "bare" ? 0 : "n/a",
  );
  row(idleName, "attachment writes ↓", (s) =>
    s === "ours" ? perMin(I.attachments) : s === "bare" ? 0 : "n/a",
  );
  return rows;
}

function renderTable(rows) {
  const header = [
    "workload",
    "metric",
    LABEL.ours,
    LABEL.node,
    LABEL.bare,
    "ours ÷ Node",
    "ours ÷ bare",
  ];
  const lines = [`| ${header.join(" | ")} |`, `|${header.map(() => " --- ").join("|")}|`];
  let last = null;
  for (const [workload, metric, ours, node, bare] of rows) {
    const cells = [
      workload === last ? "" : workload,
      metric,
      fmt(ours),
      fmt(node),
      fmt(bare),
      ratio(ours, node),
      ratio(ours, bare),
    ];
    last = workload;
    lines.push(`| ${cells.join(" | ")} |`);
  }
  return lines.join("\n");
}

function renderMicro() {
  if (!R.micro) return null;
  const lines = ["| benchmark | median time | throughput |", "| --- | --- | --- |"];
  for (const m of R.micro) lines.push(`| ${m.name} | ${m.median} | ${m.throughput ?? ""} |`);
  return lines.join("\n");
}

/** Facts of the run that the table cannot show. */
function notes(servers) {
  const out = [];
  const pct = (v) => (typeof v === "number" ? `${v.toFixed(0)} %` : "—");
  for (const s of SERVERS) {
    const e = R.echo[s];
    const t = R.throughput[s];
    const f = R.fanout[s];
    if (!e && !t && !f) continue;
    const three = (x) =>
      `${pct(x?.serverCpuPct)} / ${pct(x?.clientCpuPct)} / ${pct(x?.otherCpuPct)}`;
    out.push(
      `${LABEL[s]}: CPU of the server process / the client process / everything else on the machine ` +
        `(100 % = one core of ${os.cpus().length}) — echo ${three(e)}, throughput ${three(t)}, fan-out ${three(f)}.`,
    );
  }
  for (const s of SERVERS) {
    const c = R.connections[s];
    if (!c) continue;
    const last = c.steps.at(-1);
    if (!last) continue;
    let text =
      `${LABEL[s]}: ${fmt(last.opened)} sockets open at the end (${fmt(last.stillOpen)} still connected), ` +
      `server RSS ${fmt(last.rssMb)} MB, client RSS ${fmt(last.clientRssMb)} MB, ` +
      `open-files limit of the server process ${c.limit ?? "?"}`;
    text += `, ${fmt(last.fds)} open file descriptors in the server process`;
    text += `, WebSocket extensions agreed: ${last.extensions || "none"}`;
    if (last.stopReason) text += `; stopped: ${last.stopReason}`;
    if (c.runtimeErrors) text += `; the runtime logged: ${c.runtimeErrors}`;
    if (c.countersAfterClose) text += "; its cost counters were read after closing the sockets";
    if (last.errors && Object.keys(last.errors).length) {
      text += `; connect errors: ${Object.entries(last.errors)
        .map(([m, n]) => `${n}× ${m}`)
        .join(", ")}`;
    }
    out.push(`${text}.`);
  }
  for (const [s, modes] of Object.entries(R.joins)) {
    const text = JOIN_MODES.map((mode) => {
      const j = modes[mode];
      const how = mode === "handler" ? "in one handler" : "one event each";
      return `${how} ${fmt(j.msPerJoin * 1000)} µs per join, the other client's echo p50 ${fmt(j.probe.p50)} ms / max ${fmt(j.probe.max)} ms over ${fmt(j.probe.n)} round trips`;
    }).join("; ");
    out.push(`joins, ${LABEL[s]}: ${text}.`);
  }
  for (const [key, w] of Object.entries(R.wake)) {
    const [s, size] = key.split("/");
    let text = `wake, ${LABEL[s]}, ${size} sockets: first reply ${fmt(w.ms)} ms after ${fmt(w.idleMs / 1000)} s idle, then ${fmt(w.warmMs)} ms awake`;
    if (w.reconnected)
      text += `; the first request failed (${w.firstError}) and the client reconnected`;
    if (w.cost) {
      const calls = Object.entries(w.cost.calls)
        .map(([k, v]) => `${k}×${v}`)
        .join(", ");
      text += `; storage calls during the wake: ${calls || "none"}, rows read ${w.cost.rowsRead}, written ${w.cost.rowsWritten}`;
    }
    out.push(`${text}.`);
  }
  if (R.idle) {
    const I = R.idle;
    const calls = Object.entries(I.calls)
      .map(([k, v]) => `${k}×${v}`)
      .join(", ");
    out.push(
      `idle: ${I.sockets} sockets on one object for ${fmt(I.minutes)} min (${fmt(I.stillOpen)} still connected at the end): ` +
        `${I.alarms} alarm runs, ${I.constructed} wakes, ${I.wsMessages} messages (pongs), storage calls ${calls || "none"}, ` +
        `rows read ${I.rowsRead}, written ${I.rowsWritten}, attachment writes ${I.attachments}.`,
    );
  }
  for (const [key, c] of Object.entries(R.cost)) {
    const calls = Object.entries(c.calls)
      .map(([k, v]) => `${k}×${v}`)
      .join(", ");
    out.push(
      `counters, ${key}: ${fmt(c.units)} units, ${c.wsMessages} messages, ${c.fetches} fetches, ` +
        `${c.alarms} alarm runs, ${c.constructed} constructions, storage calls ${calls || "none"}, ` +
        `rows read ${c.rowsRead}, written ${c.rowsWritten}, attachment writes ${c.attachments}.`,
    );
  }
  if (R.sizes) {
    const Z = R.sizes;
    out.push(
      `sizes: socket.io-durable worker JS ${fmt(kb(Z.ours.js.raw))} KB raw (${fmt(kb(Z.ours.minJs.raw))} KB minified) + wasm ${fmt(kb(Z.ours.wasm.raw))} KB raw; ` +
        `wrangler's own total: ${Z.ours.wrangler ? `${Z.ours.wrangler.raw} KiB / gzip ${Z.ours.wrangler.gzip} KiB` : "—"}; ` +
        `Node socket.io server bundled with esbuild (no Node runtime included) ${fmt(kb(Z.node.total.raw))} KB raw, ${fmt(kb(Z.node.min.raw))} KB minified.`,
    );
  }
  if (servers?.wrangler) {
    out.push(
      VIA_PROXY
        ? "wrangler dev was reached through its dev proxy (the public port)."
        : "wrangler dev was reached on the socket of the workerd process that runs the objects, not through wrangler's dev proxy (a second workerd process that forwards every connection); server CPU and memory are those of the runtime process.",
    );
  }
  for (const f of R.failures) out.push(`FAILED: ${f}`);
  return out;
}

function versions(ctx) {
  const pkg = (p) => {
    try {
      return JSON.parse(fs.readFileSync(p, "utf8")).version;
    } catch {
      return "?";
    }
  };
  const rustc = (() => {
    try {
      return toolchain
        .capture("rustc", ["--version"])
        .stdout.trim()
        .replace(/^rustc /, "");
    } catch {
      return "?";
    }
  })();
  return {
    node: toolchain.capture(ctx.node, ["--version"]).stdout.trim(),
    "socket.io (server)": pkg(path.join(BENCH, "node_modules", "socket.io", "package.json")),
    "socket.io-client": pkg(path.join(BENCH, "node_modules", "socket.io-client", "package.json")),
    ws: pkg(path.join(BENCH, "node_modules", "ws", "package.json")),
    wrangler: pkg(path.join(ROOT, "node_modules", "wrangler", "package.json")),
    workerd: pkg(path.join(ROOT, "node_modules", "workerd", "package.json")),
    rustc,
  };
}

function machine() {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model ?? "?",
    cores: cpus.length,
    memoryGiB: (os.totalmem() / 2 ** 30).toFixed(0),
    os: `${os.type()} ${os.release()}`,
  };
}

const READING_START = "<!-- reading: kept when the file is regenerated -->";
const READING_END = "<!-- end of reading -->";

function writeReport(file, table, micro, noteLines, ctx, durationS) {
  const m = machine();
  const v = versions(ctx);
  let reading = `${READING_START}\n\n## Reading\n\n(No reading written for this run yet.)\n\n${READING_END}`;
  try {
    const old = fs.readFileSync(file, "utf8");
    const a = old.indexOf(READING_START);
    const b = old.indexOf(READING_END);
    if (a >= 0 && b > a) reading = old.slice(a, b + READING_END.length);
  } catch {
    // first report
  }
  const date = new Date().toISOString().replace(/\.\d+Z$/, "Z");
  const text = `# Benchmarks

socket.io-durable (under \`wrangler dev\`) against the Node \`socket.io\` server with the
same handlers, and against the limit: a bare Durable Object WebSocket echo (hibernation
API, no protocol, no WebAssembly) in the same \`wrangler dev\`. Generated by
\`npm run bench\` (\`bench/run.mjs\`); the tables below are its output, unedited.

- Run: ${date}, ${Math.round(durationS)} s${QUICK ? " (--quick: tiny sizes, not meaningful)" : ""}
- Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB memory, ${m.os}; load average
  ${loadAtStart.map((x) => x.toFixed(2)).join(" ")} at the start, ${os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(" ")} at the end
- Versions: ${Object.entries(v)
    .map(([k, x]) => `${k} ${x}`)
    .join(", ")}

## How to reproduce

\`\`\`sh
npm run bench              # full run (about 7 minutes); rewrites this file
npm run bench -- --quick   # every workload at a tiny size (part of npm test)
npm run bench -- --only joins   # one workload alone (writes no report unless --out)
cargo bench -p socketio-core --bench core   # the core micro-benchmarks alone
\`\`\`

\`bench/run.mjs\` installs what is missing (\`bench/package.json\`: socket.io 4.8,
socket.io-client 4.8, ws, esbuild), bundles \`bench/worker/\` once with
\`wrangler deploy --dry-run\` and serves that bundle with \`wrangler dev\` (with
\`X_LOCAL_OBSERVABILITY=false\`: wrangler's local observability adds CPU to every
WebSocket message), and starts \`bench/node-server.mjs\`. All of it listens on 127.0.0.1.

## Method

- **Servers.** socket.io-durable: \`SocketIoServer\` with the handlers of
  \`bench/worker/handlers.ts\` and Socket.IO's default options. Node: socket.io 4.8 on
  Node's HTTP server with the same handlers and its default options. The limit: a
  Durable Object that accepts WebSockets with the hibernation API and sends every
  message back (a message starting with \`B\` goes to every other WebSocket of the
  object instead, for fan-out). The Durable Objects are reached on the socket of the
  workerd process that runs them, not through wrangler's dev proxy (a second workerd
  process that forwards every connection and exists only under \`wrangler dev\`).
- **Clients.** Each workload's clients run in Node processes of their own:
  socket.io-client 4.8 over WebSocket only (\`transports: ["websocket"]\`), and \`ws\`
  for the bare echo, which sends the very frames socket.io-client would send and, like
  it, offers permessage-deflate (used from 1 KB on). A bare connection makes one round
  trip before it counts as open, as the Socket.IO handshake exchanges messages too.
- **Order.** Echo, throughput and fan-out alternate between the servers round by round,
  so that drift on a shared machine hits all three alike. Connections are measured one
  server after the other, socket.io-durable and the bare echo each in a \`wrangler dev\`
  started for that measurement alone (a process keeps the memory it once used).
- **Measures.** Server CPU is the CPU time of the server process (all threads, from
  \`/proc/<pid>/task/*/schedstat\`); memory its resident set (\`VmRSS\`) after 2 s of
  rest (the Node server is garbage-collected first; workerd cannot be). Fan-out time is
  from the emit until the last of the room's sockets has the broadcast; broadcasts go
  one after the other. Wake: the sockets stay idle until \`wrangler dev\` evicts the
  object (about 10 s; the wake server pings every 120 s so no heartbeat wakes it), then
  one request on one socket; "evicted" is checked by counting constructions.
- **Joins.** One socket joins 10,000 distinct rooms, twice over: through one event whose
  handler calls \`socket.join\` once per room, and through 10,000 \`join\` events sent at
  once, each acknowledged (the time runs until the last acknowledgement). Meanwhile a
  second client of the same server, in a process of its own, makes sequential echo round
  trips; the longest of them is how long the joins held up everyone else. Each round
  uses new room names on the same socket; the bare echo has no rooms.
- **Cost counters.** The bench worker replaces the methods of the object's
  \`ctx.storage\` (and \`storage.sql\`, \`storage.kv\`) by counting ones before the
  server is constructed: calls per method, rows from the \`sql.exec\` cursors
  (\`rowsRead\`, \`rowsWritten\`), one row per key for the key-value calls. It counts
  \`alarm()\` runs, constructions and \`serializeAttachment\` calls (free, but at most
  2 KB per socket). wrangler dev's own SQL (it records each object's name) is left out.
- **Reading the table.** ↓ lower is better, ↑ higher is better; the ratios are
  socket.io-durable ÷ the other server. "n/a": the metric has no meaning there.

## Results

${table}

${micro ? `## Core micro-benchmarks (\`cargo bench -p socketio-core --bench core\`)\n\nNative code with the workspace's release profile (\`opt-level = "z"\`, as the WebAssembly build), 1 s warm-up and 2 s of measurement per benchmark.\n\n${micro}\n\n` : ""}## Notes of the run

${noteLines.map((n) => `- ${n}`).join("\n")}

## What is not measured

- Billing as Cloudflare computes it: request units (incoming WebSocket messages count
  20:1), duration (GB-s), and the storage the runtime uses on its own (alarm
  bookkeeping, hibernated WebSockets and their attachments) are not visible to a
  worker; the counters are the calls the code makes.
- Production: \`wrangler dev\` runs the object on this machine, with the whole isolate
  kept when an object is evicted. In production client, Worker and object may be far
  apart, and a wake may also start a new isolate (compiling the WebAssembly module),
  which this wake does not include.
- Beyond about 9,900 sockets per process: the open-files limit of this machine (20,000,
  not raisable here) stops workerd first, which takes two descriptors per WebSocket.
- The CPU that permessage-deflate costs is not separated from the rest; its memory is
  (the "without permessage-deflate" row).

${reading}
`;
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
  log(`wrote ${path.relative(ROOT, file)}`);
}

// ---- main ----------------------------------------------------------------------------

async function main() {
  const ctx = await setup();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "sio-bench-"));
  const servers = {};
  let finishWake = null;
  let finishIdle = null;
  try {
    if (wanted("sizes")) {
      await step("upload sizes (wrangler deploy --dry-run, esbuild)", async () => {
        R.sizes = await measureSizes(ctx, tmp);
      });
    }
    if (!NO_CARGO && wanted("cargo")) {
      await step("core micro-benchmarks", async () => {
        R.micro = await microBenchmarks();
      });
    }
    log("starting wrangler dev (bench/worker) and the Node socket.io server");
    servers.workerDir = await buildWorker(ctx, tmp);
    servers.wrangler = await startWrangler(ctx, servers.workerDir);
    servers.node = await startNodeServer(ctx);
    debugServers = servers;
    log(
      `wrangler dev: ${servers.wrangler.url} (runtime pid ${servers.wrangler.pid}), Node socket.io: ${servers.node.url} (pid ${servers.node.pid})`,
    );
    if (wanted("idle")) {
      await step("idle sockets (kept until the end)", async () => {
        finishIdle = await startIdle(ctx, servers);
      });
    }
    if (QUICK && wanted("wake")) {
      // Tiny workloads are over long before an object is evicted: go idle first.
      await step("wake: connecting the idle sockets", async () => {
        finishWake = await startWake(ctx, servers);
      });
    }
    if (wanted("echo")) await step("echo round trip", () => echoWorkload(ctx, servers));
    if (wanted("throughput")) {
      await step("throughput", () => throughputWorkload(ctx, servers));
      await step("throughput, clients without permessage-deflate", () =>
        throughputWorkload(ctx, servers, false),
      );
    }
    if (wanted("fanout")) await step("fan-out", () => fanoutWorkload(ctx, servers));
    if (wanted("joins")) await step("joins", () => joinsWorkload(ctx, servers));
    if (wanted("connections")) await step("connections", () => connectionsWorkload(ctx, servers));
    if (!QUICK && wanted("wake")) {
      await step("wake: connecting the idle sockets", async () => {
        finishWake = await startWake(ctx, servers);
      });
    }
    if (finishWake) await step("wake", finishWake);
    if (finishIdle) await step("idle counters", finishIdle);
  } catch (error) {
    R.failures.push(errorText(error));
    log(`FAILED: ${errorText(error)}`);
    if (servers.wrangler) log(`--- wrangler output ---\n${servers.wrangler.output().slice(-5000)}`);
  } finally {
    await Promise.all([stopGroup(servers.wrangler?.child), stopGroup(servers.node?.child)]);
    stopAll();
    fs.rmSync(tmp, { recursive: true, force: true });
  }

  let table;
  let rows = [];
  try {
    rows = tableRows();
    table = renderTable(rows);
  } catch (error) {
    R.failures.push(`table: ${errorText(error)}`);
    table = "(no table)";
  }
  const micro = renderMicro();
  const noteLines = notes(servers);
  const durationS = (Date.now() - started) / 1000;
  console.log(`\n${table}\n`);
  if (micro) console.log(`${micro}\n`);
  for (const n of noteLines) console.log(`- ${n}`);
  console.log(`\nbench ${QUICK ? "(quick) " : ""}finished in ${durationS.toFixed(0)} s`);
  if (OUT) writeReport(OUT, table, micro, noteLines, ctx, durationS);
  if (JSON_OUT) {
    const columns = ["workload", "metric", ...SERVERS];
    const json = rows.map((r) => Object.fromEntries(columns.map((c, i) => [c, r[i]])));
    fs.writeFileSync(
      JSON_OUT,
      JSON.stringify({ rows: json, failures: R.failures, notes: noteLines }),
    );
  }
  if (R.failures.length > 0) {
    console.log(`${R.failures.length} workload(s) failed`);
    process.exitCode = 1;
  }
}

main().catch((error) => {
  console.error(error);
  stopAll();
  process.exit(1);
});
