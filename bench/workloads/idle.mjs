// Idle: what idle sockets cost an object over the whole run.

import { counterDelta, counters, target } from "../measure.mjs";
import { Client } from "../processes.mjs";

/** Idle sockets on one object for the whole run: alarms, wakes and writes per minute. */
export async function startIdle(ctx, servers) {
  const doName = `idle-${ctx.runId}`;
  const client = new Client(ctx, "idle/ours");
  await client.call("connect", {
    target: target(servers, "ours", doName),
    count: ctx.sizes.idle.sockets,
  });
  const before = await counters(servers, "bench", doName);
  const t0 = Date.now();
  return async () => {
    const after = await counters(servers, "bench", doName);
    const usage = await client.call("usage");
    await client.stop();
    const minutes = (Date.now() - t0) / 60_000;
    ctx.results.idle = {
      minutes,
      sockets: ctx.sizes.idle.sockets,
      stillOpen: usage.open,
      ...counterDelta(after, before),
    };
  };
}
