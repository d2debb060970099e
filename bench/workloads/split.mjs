// Split: where the CPU of an echo round trip goes. The same sequential echo as the echo
// workload, against the bare echo, against the bare echo plus the Socket.IO core's two
// calls per message (`CoreEcho` in bench/worker/worker.ts), and against
// socket.io-durable, interleaved round by round.

import { measured, target } from "../measure.mjs";
import { Client } from "../processes.mjs";

/** The three servers, as targets of the one `wrangler dev`. */
const PARTS = {
  bare: (servers, name) => target(servers, "bare", name),
  core: (servers, name) => ({ ...target(servers, "bare", name), path: "core" }),
  ours: (servers, name) => target(servers, "ours", name),
};

export async function splitWorkload(ctx, servers) {
  const { rounds, perRound, warmup } = ctx.sizes.echo;
  const clients = {};
  const acc = {};
  const name = `split-${ctx.runId}`;
  try {
    for (const [part, make] of Object.entries(PARTS)) {
      clients[part] = new Client(ctx, `split/${part}`);
      await clients[part].call("connect", { target: make(servers, name) });
      await clients[part].call("echo", { count: 0, warmup });
      acc[part] = { cpuMs: 0, trips: 0 };
    }
    for (let r = 0; r < rounds; r++) {
      for (const part of Object.keys(PARTS)) {
        ctx.checkDeadline();
        const cls = part === "ours" ? "bench" : part;
        const m = await measured(ctx, servers, part === "ours" ? "ours" : "bare", name, cls, () =>
          clients[part].call("echo", { count: perRound }),
        );
        acc[part].cpuMs += m.cpuMs;
        acc[part].trips += m.result.latencies.length;
      }
    }
  } finally {
    await Promise.all(Object.values(clients).map((c) => c.stop()));
  }
  ctx.results.split = Object.fromEntries(
    Object.entries(acc).map(([part, a]) => [part, (a.cpuMs * 1000) / a.trips]),
  );
}
