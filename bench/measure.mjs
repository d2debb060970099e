// Measuring the servers: CPU time and memory from /proc, the statistics of the samples,
// and the Durable Object cost counters of the bench worker (/__counters).

import fs from "node:fs";
import { sleep } from "./common.mjs";

/** CPU time of a process, all threads, in nanoseconds (schedstat: ns resolution). */
export function cpuNs(pid) {
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
export function machineBusyMs() {
  const f = fs.readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1);
  const v = f.map(Number);
  const total = v.reduce((a, b) => a + b, 0);
  const idle = v[3] + (v[4] ?? 0);
  return ((total - idle) * 1000) / 100; // USER_HZ
}

export function rssBytes(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(status.match(/^VmRSS:\s+(\d+)/m)?.[1] ?? 0) * 1024;
}

export function fdCount(pid) {
  try {
    return fs.readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return null;
  }
}

export function openFilesLimit(pid) {
  try {
    const limits = fs.readFileSync(`/proc/${pid}/limits`, "utf8");
    return Number(limits.match(/^Max open files\s+(\d+)/m)?.[1]) || null;
  } catch {
    return null;
  }
}

function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

export function stats(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mean = sorted.reduce((s, v) => s + v, 0) / (sorted.length || 1);
  return {
    n: sorted.length,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    mean: sorted.length ? mean : null,
  };
}

/** Where a client of a workload connects to: the server and its object. */
export function target(servers, server, doName, cls = "bench") {
  if (server === "node") return { kind: "sio", url: servers.node.url, query: {} };
  if (server === "bare") return { kind: "bare", url: servers.wrangler.url, query: { do: doName } };
  return { kind: "sio", url: servers.wrangler.url, query: { do: doName, cls } };
}

/** The process whose CPU and memory count for `server`. */
export function serverPid(servers, server) {
  return server === "node" ? servers.node.pid : servers.wrangler.pid;
}

export async function counters(servers, cls, doName, reset = false, shards = 1) {
  const url = `${servers.wrangler.runtimeUrl}/__counters?cls=${cls}&do=${encodeURIComponent(doName)}&shards=${shards}${reset ? "&reset=1" : ""}`;
  const r = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  return r.json();
}

export function counterDelta(after, before) {
  const calls = {};
  for (const [k, v] of Object.entries(after.calls)) {
    const d = v - (before.calls[k] ?? 0);
    if (d) calls[k] = d;
  }
  const d = { calls };
  // Every number the worker counts (constructed, fetches, wsMessages, rowsRead, rpcs, ...).
  for (const [k, v] of Object.entries(after)) {
    if (typeof v === "number") d[k] = v - (before[k] ?? 0);
  }
  d.alarmSets = calls.setAlarm ?? 0;
  return d;
}

/** Measures server CPU and the cost counters (ours and bare) around `fn`. */
export async function measured(ctx, servers, server, doName, cls, fn) {
  const pid = serverPid(servers, server);
  const before = server === "node" ? null : await counters(servers, cls, doName);
  const proxyBefore =
    server !== "node" && servers.wrangler.proxyPid && ctx.viaProxy
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

export function addCost(acc, cost) {
  if (!cost) return acc;
  if (!acc) return structuredClone(cost);
  for (const [k, v] of Object.entries(cost)) {
    if (k === "calls") {
      for (const [c, n] of Object.entries(v)) acc.calls[c] = (acc.calls[c] ?? 0) + n;
    } else acc[k] += v;
  }
  return acc;
}

export async function clientCpu(client) {
  return (await client.call("usage")).cpuMs;
}

/** Waits until a process uses less than 5 % of a core over 500 ms (at most `maxMs`). */
export async function waitIdle(pid, maxMs = 120_000) {
  const deadline = Date.now() + maxMs;
  while (Date.now() < deadline) {
    const c0 = cpuNs(pid);
    await sleep(500);
    if ((cpuNs(pid) - c0) / 1e6 < 25) return;
  }
}

export async function serverRss(ctx, servers, server) {
  if (server === "node") await servers.node.gc();
  await sleep(ctx.quick ? 300 : 2_000);
  return rssBytes(serverPid(servers, server));
}
