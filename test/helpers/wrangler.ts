// Starts `wrangler dev` on a free local port and stops it again.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export interface StartWranglerOptions {
  /** Path of the wrangler configuration (wrangler.jsonc / wrangler.toml), relative to `cwd`. */
  config: string;
  /** Directory wrangler runs in (default: the repository root). */
  cwd?: string;
  /** wrangler's CLI entry (`.../wrangler/bin/wrangler.js`); default: the repository's. */
  wranglerEntry?: string;
  /** Port to listen on; a free one is picked when omitted. */
  port?: number;
  /** Path polled until it answers 200; defaults to "/__health". */
  readyPath?: string;
  /** How long to wait for readiness, in milliseconds (default 90 s). */
  readyTimeoutMs?: number;
  /** Extra environment variables for the wrangler process. */
  env?: Record<string, string>;
}

export interface WranglerInstance {
  /** Base URL, e.g. http://127.0.0.1:8787 (no trailing slash). */
  url: string;
  /** Everything wrangler printed so far (stdout and stderr interleaved). */
  output(): string;
  /** Stops wrangler and every process it started. */
  stop(): Promise<void>;
}

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const MAX_OUTPUT = 256 * 1024;

/** Asks the OS for a currently free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      if (address === null || typeof address === "string") {
        server.close();
        reject(new Error("could not determine a free port"));
        return;
      }
      const { port } = address;
      server.close(() => resolvePort(port));
    });
  });
}

function wranglerEntry(): string {
  const entry = join(REPO_ROOT, "node_modules", "wrangler", "bin", "wrangler.js");
  if (!existsSync(entry)) {
    throw new Error(
      `wrangler is not installed (missing ${entry}); run the project's install step first`,
    );
  }
  return entry;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function isAlive(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is already gone.
  }
}

export async function startWrangler(options: StartWranglerOptions): Promise<WranglerInstance> {
  const cwd = options.cwd ?? REPO_ROOT;
  const config = resolve(cwd, options.config);
  if (!existsSync(config)) {
    throw new Error(`wrangler configuration not found: ${config}`);
  }
  const port = options.port ?? (await freePort());
  const inspectorPort = await freePort();
  const persistDir = await mkdtemp(join(tmpdir(), "eio-wrangler-state-"));
  const url = `http://127.0.0.1:${port}`;
  const readyPath = options.readyPath ?? "/__health";
  const readyTimeoutMs = options.readyTimeoutMs ?? 90_000;

  let output = "";
  const append = (chunk: Buffer | string): void => {
    output += chunk.toString();
    if (output.length > MAX_OUTPUT) output = output.slice(output.length - MAX_OUTPUT);
  };

  const args = [
    options.wranglerEntry ?? wranglerEntry(),
    "dev",
    "-c",
    config,
    "--ip",
    "127.0.0.1",
    "--port",
    String(port),
    "--inspector-port",
    String(inspectorPort),
    "--persist-to",
    persistDir,
    "--show-interactive-dev-session=false",
  ];
  const child = spawn(process.execPath, args, {
    cwd,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: {
      ...process.env,
      WRANGLER_SEND_METRICS: "false",
      CLOUDFLARE_CF_FETCH_ENABLED: "false",
      NO_COLOR: "1",
      FORCE_COLOR: "0",
      ...options.env,
    },
  });
  child.stdout?.on("data", append);
  child.stderr?.on("data", append);
  const exited = new Promise<void>((r) => child.once("exit", () => r()));

  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    const pid = child.pid;
    if (pid !== undefined && isAlive(child)) {
      killGroup(pid, "SIGTERM");
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
    if (pid !== undefined) killGroup(pid, "SIGKILL");
    await rm(persistDir, { recursive: true, force: true }).catch(() => {});
  };

  const deadline = Date.now() + readyTimeoutMs;
  let lastError = "";
  while (Date.now() < deadline) {
    if (!isAlive(child)) {
      await stop();
      throw new Error(
        `wrangler exited (code ${child.exitCode}, signal ${child.signalCode}) before ${url}${readyPath} answered.\n` +
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
      await response.arrayBuffer();
      if (response.status === 200) {
        return { url, output: () => output, stop };
      }
      lastError = `HTTP ${response.status}`;
    } catch (error) {
      lastError = error instanceof Error ? error.message : String(error);
    }
    await sleep(250);
  }
  await stop();
  throw new Error(
    `wrangler did not answer ${url}${readyPath} within ${readyTimeoutMs} ms (last: ${lastError}).\n` +
      `--- wrangler output ---\n${output}`,
  );
}
