// The processes of the benchmark besides wrangler dev (scripts/wrangler-dev.mjs): commands
// run to completion, long-running processes in process groups of their own, and the
// client processes (client.mjs) driven over IPC. Whatever is still running when this
// process exits is killed.

import { spawn } from "node:child_process";
import path from "node:path";
import { BENCH, ROOT, sleep } from "./common.mjs";

/** Every process started here, stopped at the end whatever happens. */
const children = new Set();

function killGroup(child, signal) {
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

export function stopAll() {
  for (const child of children) {
    if (child.detached) killGroup(child, "SIGKILL");
    else child.kill("SIGKILL");
  }
  children.clear();
}
process.on("exit", stopAll);

/** Runs a command to completion; resolves to { code, stdout, stderr }. */
export function exec(command, args, options = {}) {
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

/** Spawns a long-running process in its own process group. */
export function spawnGroup(command, args, options) {
  const child = spawn(command, args, { ...options, detached: true });
  child.detached = true;
  children.add(child);
  child.on("exit", () => children.delete(child));
  return child;
}

export async function stopGroup(child) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  killGroup(child, "SIGTERM");
  const graceful = await Promise.race([exited.then(() => true), sleep(5_000).then(() => false)]);
  if (!graceful) killGroup(child, "SIGKILL");
  killGroup(child, "SIGKILL");
  children.delete(child);
}

/** A client process (bench/client.mjs) driven over IPC. */
export class Client {
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
