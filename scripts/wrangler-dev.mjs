// Starts `wrangler dev` on 127.0.0.1 and stops it again: the one place where the tests
// (test/helpers/wrangler.ts), the benchmark (bench/servers.mjs), `npm run dev` and
// `npm run conformance` (scripts/toolchain.mjs) start a local worker.
//
// Plain Node ESM without dependencies, so that it runs before `npm ci` and under Node 20;
// its types for the TypeScript test helpers are in wrangler-dev.d.mts.
//
// Every instance runs in a process group of its own (wrangler, its esbuild and its two
// workerd processes), is stopped by signalling that group, and is killed when this
// process exits while it still runs.

import { spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** The environment wrangler always gets: no telemetry, no request to Cloudflare. */
export const WRANGLER_ENV = {
  WRANGLER_SEND_METRICS: "false",
  CLOUDFLARE_CF_FETCH_ENABLED: "false",
};

/** How much of wrangler's output an instance keeps (the end of it). */
const MAX_OUTPUT = 256 * 1024;

/** Process groups of the instances still running, killed when this process exits. */
const running = new Set();

function killGroup(pid, signal) {
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is already gone.
  }
}

process.on("exit", () => {
  for (const pid of running) killGroup(pid, "SIGKILL");
});

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Asks the OS for a currently free TCP port on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      if (address === null || typeof address === "string") {
        server.close();
        reject(new Error("could not determine a free port"));
        return;
      }
      server.close(() => resolve(address.port));
    });
  });
}

/** wrangler's CLI entry in `root`'s node_modules; throws when it is not installed. */
export function wranglerEntry(root = ROOT) {
  const entry = path.join(root, "node_modules", "wrangler", "bin", "wrangler.js");
  if (!fs.existsSync(entry)) {
    throw new Error(
      `wrangler is not installed (missing ${entry}); run the project's install step first`,
    );
  }
  return entry;
}

/**
 * The port that `--port N` / `--port=N` in `args` or else $PORT asks for (else
 * `defaultPort`), and `args` without that option: the argument list of `npm run dev` and
 * `npm run conformance`, whose other arguments go to wrangler.
 */
export function portOption(args, defaultPort, env = process.env) {
  const rest = [];
  let value = null;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--port") {
      value = args[i + 1] ?? "";
      i++;
    } else if (arg.startsWith("--port=")) {
      value = arg.slice("--port=".length);
    } else {
      rest.push(arg);
    }
  }
  const text = value ?? env.PORT ?? String(defaultPort);
  const port = Number(text);
  if (!/^\d+$/.test(text) || port < 1 || port > 65535) {
    throw new Error(
      `not a port: ${JSON.stringify(text)} (from ${value !== null ? "--port" : "PORT"})`,
    );
  }
  return { port, args: rest };
}

/**
 * Starts `wrangler dev -c <config> --ip 127.0.0.1 --port <port>`.
 *
 * Options (see wrangler-dev.d.mts for their types):
 * - `config`: the wrangler configuration, relative to `cwd` (default: the repository root)
 * - `node`, `wrangler`: the Node binary and wrangler's CLI entry (default: this Node and
 *   the repository's wrangler)
 * - `port`: default a free one; `inspectorPort`: default a free one, `null` for
 *   wrangler's own default
 * - `persistTo`: where the objects' storage goes. Default: a new temporary directory,
 *   removed by `stop()`; a directory given here is kept (a later instance can start
 *   over the same state); `null`: wrangler's default (.wrangler/state next to the config)
 * - `localObservability: false`: sets X_LOCAL_OBSERVABILITY=false (wrangler's local
 *   observability adds CPU to every WebSocket message; the benchmark turns it off)
 * - `env`: variables added to this process's environment; `args`: more wrangler arguments
 * - `output`: "pipe" (default: collected, see `output()`, without colours nor the
 *   interactive hotkeys) or "inherit" (this process's stdout and stderr, as `npm run dev`)
 * - `onOutput(text)`: called with each chunk of output ("pipe" only)
 * - `ready`: `{ path = "/__health", body, timeoutMs = 90_000 }`: resolves once that path
 *   answers 200 (with exactly `body`, when given); `false`: resolves at once
 */
export async function startWranglerDev(options) {
  const cwd = options.cwd ?? ROOT;
  const config = path.resolve(cwd, options.config);
  if (!fs.existsSync(config)) {
    throw new Error(`wrangler configuration not found: ${config}`);
  }
  const pipe = (options.output ?? "pipe") === "pipe";
  const port = options.port ?? (await freePort());
  const inspectorPort =
    options.inspectorPort === undefined ? await freePort() : options.inspectorPort;
  let persistTo = options.persistTo;
  let ownPersistDir = false;
  if (persistTo === undefined) {
    persistTo = fs.mkdtempSync(path.join(os.tmpdir(), "wrangler-dev-state-"));
    ownPersistDir = true;
  }
  const url = `http://127.0.0.1:${port}`;

  const args = [
    options.wrangler ?? wranglerEntry(),
    "dev",
    "-c",
    config,
    "--ip",
    "127.0.0.1",
    "--port",
    String(port),
  ];
  if (inspectorPort !== null) args.push("--inspector-port", String(inspectorPort));
  if (persistTo !== null) args.push("--persist-to", persistTo);
  if (pipe) args.push("--show-interactive-dev-session=false");
  args.push(...(options.args ?? []));

  const env = { ...process.env, ...options.env, ...WRANGLER_ENV };
  if (options.localObservability === false) env.X_LOCAL_OBSERVABILITY = "false";
  if (pipe) Object.assign(env, { NO_COLOR: "1", FORCE_COLOR: "0" });

  const child = spawn(options.node ?? process.execPath, args, {
    cwd,
    env,
    detached: true,
    stdio: ["ignore", pipe ? "pipe" : "inherit", pipe ? "pipe" : "inherit"],
  });
  const pid = child.pid;
  if (pid !== undefined) running.add(pid);

  let output = "";
  const append = (chunk) => {
    const text = chunk.toString();
    output += text;
    if (output.length > MAX_OUTPUT) output = output.slice(output.length - MAX_OUTPUT);
    options.onOutput?.(text);
  };
  child.stdout?.on("data", append);
  child.stderr?.on("data", append);

  const exited = new Promise((resolve) => {
    child.once("error", (error) => {
      append(`could not start wrangler: ${error.message}\n`);
      resolve({ code: 127, signal: null });
    });
    child.once("exit", (code, signal) => resolve({ code, signal }));
  });
  let exitStatus = null;
  exited.then((status) => {
    exitStatus = status;
  });

  let stopping = null;
  const halt = async (signal) => {
    if (pid !== undefined) {
      if (exitStatus === null) {
        killGroup(pid, signal);
        const graceful = await Promise.race([
          exited.then(() => true),
          sleep(5_000).then(() => false),
        ]);
        if (!graceful) {
          killGroup(pid, "SIGKILL");
          await Promise.race([exited, sleep(2_000)]);
        }
      }
      // workerd may outlive the wrangler process within the group.
      killGroup(pid, "SIGKILL");
      running.delete(pid);
    }
    if (ownPersistDir) fs.rmSync(persistTo, { recursive: true, force: true });
  };
  /** Stops the group once; every call resolves when it is gone. */
  const stop = ({ signal = "SIGTERM" } = {}) => {
    stopping ??= halt(signal);
    return stopping;
  };

  const dev = {
    url,
    port,
    inspectorPort,
    persistTo,
    child,
    pid,
    exited,
    output: () => output,
    stop,
  };
  if (options.ready === false) return dev;

  const readyPath = options.ready?.path ?? "/__health";
  const readyBody = options.ready?.body;
  const timeoutMs = options.ready?.timeoutMs ?? 90_000;
  const deadline = Date.now() + timeoutMs;
  let lastError = "";
  while (Date.now() < deadline) {
    if (exitStatus !== null) {
      await stop();
      throw new Error(
        `wrangler exited (code ${exitStatus.code}, signal ${exitStatus.signal}) before ${url}${readyPath} answered.\n` +
          `--- wrangler output ---\n${output}`,
      );
    }
    if (/Build failed/i.test(output)) {
      // wrangler keeps watching after a build error; no point waiting for it.
      await stop();
      throw new Error(`wrangler could not build ${config}.\n--- wrangler output ---\n${output}`);
    }
    try {
      const response = await fetch(`${url}${readyPath}`, { signal: AbortSignal.timeout(2_000) });
      const body = await response.text();
      if (response.status === 200 && (readyBody === undefined || body === readyBody)) return dev;
      lastError = `HTTP ${response.status}`;
    } catch (error) {
      lastError = error instanceof Error ? error.message : String(error);
    }
    await sleep(250);
  }
  await stop();
  throw new Error(
    `wrangler did not answer ${url}${readyPath} within ${timeoutMs} ms (last: ${lastError}).\n` +
      `--- wrangler output ---\n${output}`,
  );
}

// ---------------------------------------------------------------------------
// The runtime's own socket (Linux: read from /proc).

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
      const m = fs.readlinkSync(`/proc/${pid}/fd/${fd}`).match(/^socket:\[(\d+)\]$/);
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

/**
 * `wrangler dev` runs two workerd processes: its dev proxy on the public port, and the
 * runtime that runs the worker and its objects on a port of its own. Finds the runtime
 * and the port of it that answers `path` with 200 and `body`: { url, pid, proxyPid }.
 * Linux only.
 */
export async function runtimeSocket(dev, { path: probePath = "/__health", body = "ok" } = {}) {
  const workerd = groupProcesses(dev.pid).filter((p) => p.comm === "workerd");
  const proxy = workerd.find((p) => p.cmdline.includes(`entry=127.0.0.1:${dev.port}`));
  const runtime = workerd.find((p) => p !== proxy && p.cmdline.includes("entry=127.0.0.1:0"));
  if (!runtime) throw new Error("could not find the workerd process that runs the worker");
  for (const port of listeningPorts(runtime.pid)) {
    try {
      const r = await fetch(`http://127.0.0.1:${port}${probePath}`, {
        signal: AbortSignal.timeout(2_000),
      });
      if (r.status === 200 && (await r.text()) === body) {
        return { url: `http://127.0.0.1:${port}`, pid: runtime.pid, proxyPid: proxy?.pid ?? null };
      }
    } catch {
      // another socket of the runtime
    }
  }
  throw new Error("could not find the runtime's own socket");
}
