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
//
// This file is the orchestration; the parts are in common.mjs (sizes, the run's
// context), servers.mjs, processes.mjs (the client processes), measure.mjs,
// workloads/*.mjs (one file per workload) and report.mjs (the tables and
// docs/benchmarks.md).

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { buildWasm, ensureNode22, ensureNpmDeps } from "../scripts/toolchain.mjs";
import { BENCH, createContext, errorText, log, ROOT, SERVERS } from "./common.mjs";
import { exec, stopAll } from "./processes.mjs";
import {
  notes,
  parserRows,
  recoveryRows,
  renderMicro,
  renderParserTable,
  renderRecoveryTable,
  renderShardTable,
  renderTable,
  shardRows,
  tableRows,
  writeReport,
} from "./report.mjs";
import { buildWorker, startNodeServer, startWrangler } from "./servers.mjs";
import { connectionsWorkload } from "./workloads/connections.mjs";
import { echoWorkload } from "./workloads/echo.mjs";
import { fanoutWorkload } from "./workloads/fanout.mjs";
import { startIdle } from "./workloads/idle.mjs";
import { joinsWorkload } from "./workloads/joins.mjs";
import { microBenchmarks } from "./workloads/micro.mjs";
import { parsersWorkload } from "./workloads/parsers.mjs";
import { recoveryWorkload } from "./workloads/recovery.mjs";
import { shardsWorkload } from "./workloads/shards.mjs";
import { measureSizes } from "./workloads/sizes.mjs";
import { splitWorkload } from "./workloads/split.mjs";
import { throughputWorkload } from "./workloads/throughput.mjs";
import { startWake } from "./workloads/wake.mjs";

const started = Date.now();
const loadAtStart = os.loadavg();

// ---- options -------------------------------------------------------------------------

/** The workloads that --only can name. */
const WORKLOADS = [
  "echo",
  "split",
  "throughput",
  "fanout",
  "shards",
  "recovery",
  "parsers",
  "joins",
  "connections",
  "wake",
  "idle",
  "sizes",
  "cargo",
];

function options() {
  const { values } = parseArgs({
    options: {
      quick: { type: "boolean", default: false },
      "no-cargo": { type: "boolean", default: false },
      "via-proxy": { type: "boolean", default: false },
      only: { type: "string" },
      json: { type: "string" },
      out: { type: "string" },
    },
  });
  const only = values.only === undefined ? null : new Set(values.only.split(","));
  const unknown = [...(only ?? [])].filter((name) => !WORKLOADS.includes(name));
  if (unknown.length > 0) {
    throw new Error(
      `--only: no workload ${unknown.join(", ")} (there are ${WORKLOADS.join(", ")})`,
    );
  }
  return {
    quick: values.quick,
    noCargo: values["no-cargo"] || values.quick,
    viaProxy: values["via-proxy"],
    /** Workloads to run (all by default). */
    only,
    /** Where to write the table rows and failures as JSON (for the smoke test). */
    json: values.json === undefined ? null : path.resolve(values.json),
    /** Where to write the report. */
    out:
      values.out !== undefined
        ? values.out === "-"
          ? null
          : path.resolve(values.out)
        : values.quick || only
          ? null
          : path.join(ROOT, "docs", "benchmarks.md"),
  };
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
  const { node, env } = ensureNode22();
  ensureNpmDeps();
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
  await buildWasm();
  return { node, env };
}

// ---- the run -------------------------------------------------------------------------

/** Runs `fn` for one workload; a failure is noted and the run goes on. */
async function step(ctx, servers, name, fn) {
  ctx.checkDeadline();
  log(name);
  const t0 = Date.now();
  try {
    await fn();
    log(`${name}: done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  } catch (error) {
    log(`${name}: FAILED: ${errorText(error)}`);
    ctx.results.failures.push(`${name}: ${errorText(error)}`);
    if (process.env.BENCH_DEBUG) {
      console.error(error);
      if (servers.wrangler) {
        fs.writeFileSync("/tmp/bench-wrangler.log", servers.wrangler.output());
      }
    }
  }
}

async function main(opts) {
  const wanted = (name) => !opts.only || opts.only.has(name);
  const { node, env } = await setup();
  const ctx = createContext({
    node,
    env,
    quick: opts.quick,
    viaProxy: opts.viaProxy,
    started,
    loadAtStart,
  });
  const R = ctx.results;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "sio-bench-"));
  const servers = {};
  const run = (name, fn) => step(ctx, servers, name, fn);
  let finishWake = null;
  let finishIdle = null;
  try {
    if (wanted("sizes")) {
      await run("upload sizes (wrangler deploy --dry-run, esbuild)", async () => {
        R.sizes = await measureSizes(ctx, tmp);
      });
    }
    if (!opts.noCargo && wanted("cargo")) {
      await run("core micro-benchmarks", async () => {
        R.micro = await microBenchmarks();
      });
    }
    log("starting wrangler dev (bench/worker) and the Node socket.io server");
    servers.workerDir = await buildWorker(ctx, tmp);
    servers.wrangler = await startWrangler(ctx, servers.workerDir);
    servers.node = await startNodeServer(ctx);
    log(
      `wrangler dev: ${servers.wrangler.url} (runtime pid ${servers.wrangler.pid}), Node socket.io: ${servers.node.url} (pid ${servers.node.pid})`,
    );
    if (wanted("idle")) {
      await run("idle sockets (kept until the end)", async () => {
        finishIdle = await startIdle(ctx, servers);
      });
    }
    if (opts.quick && wanted("wake")) {
      // Tiny workloads are over long before an object is evicted: go idle first.
      await run("wake: connecting the idle sockets", async () => {
        finishWake = await startWake(ctx, servers);
      });
    }
    if (wanted("echo")) await run("echo round trip", () => echoWorkload(ctx, servers));
    if (wanted("split")) await run("echo CPU split", () => splitWorkload(ctx, servers));
    if (wanted("throughput")) {
      await run("throughput", () => throughputWorkload(ctx, servers));
      await run("throughput, clients without permessage-deflate", () =>
        throughputWorkload(ctx, servers, false),
      );
    }
    if (wanted("fanout")) await run("fan-out", () => fanoutWorkload(ctx, servers));
    if (wanted("shards")) await run("shards (1 and 4)", () => shardsWorkload(ctx, servers));
    if (wanted("recovery")) {
      await run("connection state recovery", () => recoveryWorkload(ctx, servers));
    }
    if (wanted("parsers")) {
      await run("parsers (binary-heavy events)", () => parsersWorkload(ctx, servers));
    }
    if (wanted("joins")) await run("joins", () => joinsWorkload(ctx, servers));
    if (wanted("connections")) await run("connections", () => connectionsWorkload(ctx, servers));
    if (!opts.quick && wanted("wake")) {
      await run("wake: connecting the idle sockets", async () => {
        finishWake = await startWake(ctx, servers);
      });
    }
    if (finishWake) await run("wake", finishWake);
    if (finishIdle) await run("idle counters", finishIdle);
  } catch (error) {
    R.failures.push(errorText(error));
    log(`FAILED: ${errorText(error)}`);
    if (servers.wrangler) log(`--- wrangler output ---\n${servers.wrangler.output().slice(-5000)}`);
  } finally {
    await Promise.all([servers.wrangler?.stop(), servers.node?.stop()]);
    stopAll();
    fs.rmSync(tmp, { recursive: true, force: true });
  }

  let table;
  let rows = [];
  try {
    rows = tableRows(ctx);
    table = renderTable(rows);
  } catch (error) {
    R.failures.push(`table: ${errorText(error)}`);
    table = "(no table)";
  }
  let shardTable = "(no table)";
  let shardTableRows = [];
  try {
    shardTableRows = shardRows(ctx);
    shardTable = renderShardTable(shardTableRows);
  } catch (error) {
    R.failures.push(`shards table: ${errorText(error)}`);
  }
  let recoveryTable = "(no table)";
  let recoveryTableRows = [];
  try {
    recoveryTableRows = recoveryRows(ctx);
    recoveryTable = renderRecoveryTable(recoveryTableRows);
  } catch (error) {
    R.failures.push(`recovery table: ${errorText(error)}`);
  }
  let parserTable = "(no table)";
  let parserTableRows = [];
  try {
    parserTableRows = parserRows(ctx);
    parserTable = renderParserTable(parserTableRows);
  } catch (error) {
    R.failures.push(`parsers table: ${errorText(error)}`);
  }
  const micro = renderMicro(ctx);
  const noteLines = notes(ctx, servers);
  const durationS = (Date.now() - started) / 1000;
  console.log(`\n${table}\n`);
  console.log(`${shardTable}\n`);
  console.log(`${recoveryTable}\n`);
  console.log(`${parserTable}\n`);
  if (micro) console.log(`${micro}\n`);
  for (const n of noteLines) console.log(`- ${n}`);
  console.log(`\nbench ${opts.quick ? "(quick) " : ""}finished in ${durationS.toFixed(0)} s`);
  if (opts.out)
    writeReport(ctx, opts.out, {
      table,
      shardTable,
      recoveryTable,
      parserTable,
      micro,
      noteLines,
      durationS,
    });
  if (opts.json) {
    const columns = ["workload", "metric", ...SERVERS];
    const json = rows.map((r) => Object.fromEntries(columns.map((c, i) => [c, r[i]])));
    fs.writeFileSync(
      opts.json,
      JSON.stringify({
        rows: json,
        shardRows: shardTableRows.map(([workload, metric, one, four]) => ({
          workload,
          metric,
          one,
          four,
        })),
        recoveryRows: recoveryTableRows.map(([metric, off, on]) => ({ metric, off, on })),
        parserRows: parserTableRows.map(([metric, ...values]) => ({ metric, values })),
        failures: R.failures,
        notes: noteLines,
      }),
    );
  }
  if (R.failures.length > 0) {
    console.log(`${R.failures.length} workload(s) failed`);
    process.exitCode = 1;
  }
}

for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(signal, () => {
    stopAll();
    process.exit(130);
  });
}

let opts;
try {
  opts = options();
} catch (error) {
  console.error(`bench/run.mjs: ${error.message}`);
  process.exit(2);
}

main(opts).catch((error) => {
  console.error(error);
  stopAll();
  process.exit(1);
});
