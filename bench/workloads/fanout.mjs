// Fan-out: one emitter broadcasting to a room of receivers.

import { SERVERS } from "../common.mjs";
import { addCost, clientCpu, measured, stats, target } from "../measure.mjs";
import { Client } from "../processes.mjs";

export async function fanoutWorkload(ctx, servers) {
  const { receivers, rounds, perRound } = ctx.sizes.fanout;
  const clients = {};
  const acc = {};
  try {
    for (const s of SERVERS) {
      clients[s] = new Client(ctx, `fanout/${s}`);
      await clients[s].call("connect", {
        target: target(servers, s, `fan-${ctx.runId}`),
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
        ctx.checkDeadline();
        const c0 = await clientCpu(clients[s]);
        const m = await measured(
          ctx,
          servers,
          s,
          `fan-${ctx.runId}`,
          s === "bare" ? "bare" : "bench",
          () => clients[s].call("fanout", { broadcasts: perRound, first: r * perRound }),
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
    ctx.results.fanout[s] = {
      broadcast: stats(a.times),
      deliveriesPerSec: deliveries / a.seconds,
      serverCpuUsPerDelivery: (a.cpuMs * 1000) / deliveries,
      clientCpuPct: (100 * a.clientCpuMs) / (a.seconds * 1000),
      serverCpuPct: (100 * a.cpuMs) / (a.seconds * 1000),
      otherCpuPct: (100 * (a.machineMs - a.cpuMs - a.clientCpuMs)) / (a.seconds * 1000),
    };
    if (s !== "node") ctx.results.cost[`fanout/${s}`] = { ...a.cost, units: a.times.length };
  }
}
