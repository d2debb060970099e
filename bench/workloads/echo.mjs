// Echo: one client, sequential acknowledged round trips.

import { SERVERS } from "../common.mjs";
import { addCost, clientCpu, measured, stats, target } from "../measure.mjs";
import { Client } from "../processes.mjs";

export async function echoWorkload(ctx, servers) {
  const { rounds, perRound, warmup } = ctx.sizes.echo;
  const clients = {};
  const acc = {};
  try {
    for (const s of SERVERS) {
      clients[s] = new Client(ctx, `echo/${s}`);
      await clients[s].call("connect", { target: target(servers, s, `echo-${ctx.runId}`) });
      await clients[s].call("echo", { count: 0, warmup });
      acc[s] = { latencies: [], cpuMs: 0, clientCpuMs: 0, machineMs: 0, wallMs: 0, cost: null };
    }
    // Interleaved: one round on each server in turn, so that drift hits all alike.
    for (let r = 0; r < rounds; r++) {
      for (const s of SERVERS) {
        ctx.checkDeadline();
        const c0 = await clientCpu(clients[s]);
        const m = await measured(
          ctx,
          servers,
          s,
          `echo-${ctx.runId}`,
          s === "bare" ? "bare" : "bench",
          () => clients[s].call("echo", { count: perRound }),
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
    ctx.results.echo[s] = {
      ...stats(a.latencies),
      serverCpuUsPerRt: (a.cpuMs * 1000) / a.latencies.length,
      clientCpuPct: (100 * a.clientCpuMs) / a.wallMs,
      serverCpuPct: (100 * a.cpuMs) / a.wallMs,
      otherCpuPct: (100 * (a.machineMs - a.cpuMs - a.clientCpuMs)) / a.wallMs,
    };
    if (s !== "node") ctx.results.cost[`echo/${s}`] = { ...a.cost, units: a.latencies.length };
  }
}
