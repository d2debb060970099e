// Joins: one socket joining many distinct rooms while another client echoes.

import { JOIN_MODES } from "../common.mjs";
import { addCost, measured, serverPid, stats, target, waitIdle } from "../measure.mjs";
import { Client } from "../processes.mjs";

/**
 * Joins: one socket joins `rooms` distinct rooms, in one handler that calls
 * `socket.join` once per room, and with one `join` event per room sent at once; meanwhile
 * a second client of the same server (its own process) makes sequential echo round
 * trips, whose latency says how long the joins hold up everyone else. Each round uses
 * new room names on the same socket. Only the Socket.IO servers: the bare echo has no
 * rooms.
 */
export async function joinsWorkload(ctx, servers) {
  const { rooms, rounds } = ctx.sizes.joins;
  const joinServers = ["ours", "node"];
  const clients = {};
  const acc = {};
  const doName = `joins-${ctx.runId}`;
  try {
    for (const s of joinServers) {
      clients[s] = {
        joiner: new Client(ctx, `joins/${s}`),
        observer: new Client(ctx, `joins-observer/${s}`),
      };
      for (const c of Object.values(clients[s])) {
        await c.call("connect", { target: target(servers, s, doName) });
        await c.call("echo", { count: 0, warmup: 20 });
      }
      acc[s] = {};
      for (const mode of JOIN_MODES) {
        acc[s][mode] = { joins: 0, ms: 0, cpuMs: 0, probe: [], cost: null, rooms: null };
      }
    }
    for (let r = 0; r < rounds; r++) {
      for (const mode of JOIN_MODES) {
        for (const s of joinServers) {
          ctx.checkDeadline();
          const { joiner, observer } = clients[s];
          await observer.call("probeStart");
          const m = await measured(ctx, servers, s, doName, "bench", () =>
            joiner.call("joins", { prefix: `${mode}-${r}-`, count: rooms, mode }),
          );
          const { latencies } = await observer.call("probeStop");
          const a = acc[s][mode];
          a.joins += rooms;
          a.ms += m.result.ms;
          a.cpuMs += m.cpuMs;
          a.probe.push(...latencies);
          a.cost = addCost(a.cost, m.cost);
          a.rooms = m.result.rooms ?? a.rooms;
          // Let the server settle (the joins' storage, the probe) before the next one.
          await waitIdle(serverPid(servers, s), 30_000);
        }
      }
    }
  } finally {
    await Promise.all(Object.values(clients).flatMap((c) => [c.joiner.stop(), c.observer.stop()]));
  }
  for (const s of joinServers) {
    ctx.results.joins[s] = {};
    for (const mode of JOIN_MODES) {
      const a = acc[s][mode];
      ctx.results.joins[s][mode] = {
        joinsPerSec: (a.joins * 1000) / a.ms,
        msPerJoin: a.ms / a.joins,
        serverCpuUsPerJoin: (a.cpuMs * 1000) / a.joins,
        probe: { ...stats(a.probe), max: a.probe.length ? Math.max(...a.probe) : null },
        rooms: a.rooms,
      };
      if (s !== "node") ctx.results.cost[`joins ${mode}/${s}`] = { ...a.cost, units: a.joins };
    }
  }
}
