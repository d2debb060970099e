// Connection state recovery: what it costs per broadcast (rows written, CPU) with the
// option off and on, and how long a client that comes back takes to receive the
// broadcasts it missed.

import { counterDelta, counters, cpuNs, stats } from "../measure.mjs";
import { Client } from "../processes.mjs";

/** The servers compared: Socket.IO's defaults, and the same with recovery on. */
export const RECOVERY_CLASSES = ["bench", "recover"];

function target(servers, cls, doName) {
  return { kind: "sio", url: servers.wrangler.url, query: { do: doName, cls } };
}

export async function recoveryWorkload(ctx, servers) {
  const S = ctx.sizes.recovery;
  const out = {};
  for (const cls of RECOVERY_CLASSES) {
    const doName = `recovery-casts-${cls}-${ctx.runId}`;
    const client = new Client(ctx, `recovery casts/${cls}`);
    try {
      await client.call("connect", {
        target: target(servers, cls, doName),
        count: S.receivers + 1,
        concurrency: 20,
      });
      await client.call("fanSetup", { room: "fan" });
      await client.call("casts", { room: "fan", count: 5 });
      const before = await counters(servers, cls, doName);
      const cpu0 = cpuNs(servers.wrangler.pid);
      const r = await client.call("casts", { room: "fan", count: S.casts });
      const cpuMs = (cpuNs(servers.wrangler.pid) - cpu0) / 1e6;
      const cost = counterDelta(await counters(servers, cls, doName), before);
      out[cls] = {
        rowsWrittenPerCast: cost.rowsWritten / S.casts,
        rowsReadPerCast: cost.rowsRead / S.casts,
        serverCpuUsPerCast: (cpuMs * 1000) / S.casts,
        msPerCast: (r.seconds * 1000) / S.casts,
      };
    } finally {
      await client.stop();
    }
  }
  const times = [];
  let rowsRead = 0;
  let recovered = true;
  for (let round = 0; round < S.rounds; round++) {
    ctx.checkDeadline();
    const doName = `recovery-replay-${round}-${ctx.runId}`;
    const client = new Client(ctx, `recovery replay/${round}`);
    try {
      await client.call("connect", { target: target(servers, "recover", doName), count: 2 });
      const before = await counters(servers, "recover", doName);
      const r = await client.call("replay", { room: "away", count: S.missed });
      const cost = counterDelta(await counters(servers, "recover", doName), before);
      if (!r.recovered || r.received !== S.missed) {
        throw new Error(`replay: recovered ${r.recovered}, ${r.received} of ${S.missed} received`);
      }
      recovered &&= r.recovered;
      times.push(r.ms);
      rowsRead += cost.rowsRead;
    } finally {
      await client.stop();
    }
  }
  ctx.results.recovery = {
    casts: out,
    replay: { ...stats(times), rowsRead: rowsRead / S.rounds, recovered },
  };
}
