// Throughput: many clients emitting acknowledged events as fast as they can.

import { SERVERS } from "../common.mjs";
import { addCost, clientCpu, measured, stats, target } from "../measure.mjs";
import { Client } from "../processes.mjs";

/**
 * Throughput, with socket.io-client's default transport (permessage-deflate offered)
 * and, when `deflate` is false, with clients that do not offer it.
 */
export async function throughputWorkload(ctx, servers, deflate = true) {
  const { clients: n, rounds, seconds } = ctx.sizes.throughput;
  const clients = {};
  const acc = {};
  try {
    for (const s of SERVERS) {
      clients[s] = new Client(ctx, `throughput/${s}${deflate ? "" : " (no deflate)"}`);
      await clients[s].call("connect", {
        target: { ...target(servers, s, `tp-${ctx.runId}`), deflate },
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
        ctx.checkDeadline();
        const c0 = await clientCpu(clients[s]);
        const m = await measured(
          ctx,
          servers,
          s,
          `tp-${ctx.runId}`,
          s === "bare" ? "bare" : "bench",
          () => clients[s].call("throughput", { seconds }),
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
    (deflate ? ctx.results.throughput : ctx.results.throughputNoDeflate)[s] = {
      eventsPerSec: a.events / a.seconds,
      latency: stats(a.latencies),
      serverCpuUsPerEvent: (a.cpuMs * 1000) / a.events,
      clientCpuUsPerEvent: (a.clientCpuMs * 1000) / a.events,
      serverCpuPct: (100 * a.cpuMs) / (a.seconds * 1000),
      clientCpuPct: (100 * a.clientCpuMs) / (a.seconds * 1000),
      otherCpuPct: (100 * (a.machineMs - a.cpuMs - a.clientCpuMs)) / (a.seconds * 1000),
    };
    if (s !== "node" && deflate)
      ctx.results.cost[`throughput/${s}`] = { ...a.cost, units: a.events };
  }
}
