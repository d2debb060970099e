// Starts `wrangler dev` on a free local port and stops it again, with
// scripts/wrangler-dev.mjs (the starter that the scripts and the benchmark use too).
import { startWranglerDev } from "../../scripts/wrangler-dev.mjs";

export { freePort } from "../../scripts/wrangler-dev.mjs";

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
  /** Stops wrangler and every process it started, and removes its storage. */
  stop(): Promise<void>;
}

/** `wrangler dev` with fresh storage (a temporary directory) and a free inspector port. */
export async function startWrangler(options: StartWranglerOptions): Promise<WranglerInstance> {
  const dev = await startWranglerDev({
    config: options.config,
    cwd: options.cwd,
    wrangler: options.wranglerEntry,
    port: options.port,
    env: options.env,
    ready: { path: options.readyPath ?? "/__health", timeoutMs: options.readyTimeoutMs ?? 90_000 },
  });
  return { url: dev.url, output: dev.output, stop: () => dev.stop() };
}
