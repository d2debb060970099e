// The servers of the benchmark: the bench worker (bench/worker/) bundled once and served
// with `wrangler dev` (scripts/wrangler-dev.mjs), and the Node socket.io server
// (node-server.mjs). Both listen on 127.0.0.1.

import fs from "node:fs";
import path from "node:path";
import { stripVTControlCharacters } from "node:util";
import zlib from "node:zlib";
import { resolveBin } from "../scripts/toolchain.mjs";
import { runtimeSocket, startWranglerDev, WRANGLER_ENV } from "../scripts/wrangler-dev.mjs";
import { BENCH } from "./common.mjs";
import { exec, spawnGroup, stopGroup } from "./processes.mjs";

/** Size of `buffer` gzipped at level 9 (what the upload sizes report). */
export function gzipSize(buffer) {
  return zlib.gzipSync(buffer, { level: 9 }).length;
}

/** `wrangler deploy --dry-run --outdir`: bundles a worker; returns the files and wrangler's total. */
export async function dryRun(ctx, config, outdir, extra = []) {
  fs.rmSync(outdir, { recursive: true, force: true });
  const r = await exec(
    ctx.node,
    [resolveBin("wrangler"), "deploy", "--dry-run", "--outdir", outdir, "-c", config, ...extra],
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

/** The environment of `wrangler deploy --dry-run`. */
function wranglerEnv(env) {
  return {
    ...env,
    ...WRANGLER_ENV,
    X_LOCAL_OBSERVABILITY: "false",
    NO_COLOR: "1",
    FORCE_COLOR: "0",
  };
}

/**
 * Bundles the bench worker once with `wrangler deploy --dry-run`; `wrangler dev` then
 * serves that bundle, so that edits made to the sources during the run reload nothing.
 */
export async function buildWorker(ctx, tmp) {
  const outdir = path.join(tmp, "worker");
  await dryRun(ctx, path.join(BENCH, "worker", "wrangler.jsonc"), outdir);
  const source = fs.readFileSync(path.join(BENCH, "worker", "wrangler.jsonc"), "utf8");
  const config = JSON.parse(source.replace(/^\s*\/\/.*$/gm, ""));
  delete config.$schema;
  Object.assign(config, { main: "worker.js", no_bundle: true, find_additional_modules: true });
  fs.writeFileSync(path.join(outdir, "wrangler.jsonc"), JSON.stringify(config, null, 2));
  return outdir;
}

/**
 * Serves the bundled bench worker with `wrangler dev` on 127.0.0.1, with fresh storage
 * and without wrangler's local observability (it adds CPU to every WebSocket message).
 * The workloads reach it on the runtime's own socket (`url`), unless --via-proxy.
 */
export async function startWrangler(ctx, outdir) {
  /** Error lines of the runtime, ANSI colours removed. */
  const errors = [];
  const dev = await startWranglerDev({
    config: path.join(outdir, "wrangler.jsonc"),
    cwd: outdir,
    node: ctx.node,
    wrangler: resolveBin("wrangler"),
    env: ctx.env,
    localObservability: false,
    onOutput: (text) => {
      for (const line of text.split("\n")) {
        const m = stripVTControlCharacters(line).match(/\[ERROR\]\s*(.*)$/);
        if (m) errors.push(m[1].trim());
      }
    },
    ready: { path: "/__health", body: "ok" },
  });
  let runtime;
  try {
    runtime = await runtimeSocket(dev, { path: "/__health", body: "ok" });
  } catch (error) {
    await dev.stop();
    throw error;
  }
  return {
    proxyUrl: dev.url,
    url: ctx.viaProxy ? dev.url : runtime.url,
    runtimeUrl: runtime.url,
    pid: runtime.pid,
    proxyPid: runtime.proxyPid,
    output: dev.output,
    errors,
    stop: () => dev.stop(),
  };
}

export async function startNodeServer(ctx) {
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
    stop: () => stopGroup(child),
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
