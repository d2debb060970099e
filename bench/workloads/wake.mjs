// Wake: the first reply of an object that wrangler dev evicted while its sockets idled.

import { log, SERVERS, sleep } from "../common.mjs";
import { measured, target } from "../measure.mjs";
import { Client } from "../processes.mjs";

/**
 * Wake: idle sockets connected, the object left alone until `wrangler dev` evicts it,
 * then one request. Returns a function that does the measuring (so that quick mode can
 * run other workloads while the objects go idle).
 */
export async function startWake(ctx, servers) {
  const groups = [];
  for (const s of SERVERS) {
    for (const size of ctx.sizes.wake.sizes) {
      const doName = `wake${size}-${ctx.runId}`;
      const client = new Client(ctx, `wake${size}/${s}`);
      groups.push({ server: s, size, doName, client, cls: s === "bare" ? "bare" : "wake" });
    }
  }
  await Promise.all(
    groups.map((g) =>
      g.client.call("connect", {
        target: target(servers, g.server, g.doName, "wake"),
        count: g.size,
        concurrency: 50,
      }),
    ),
  );
  const idleSince = Date.now();
  return async () => {
    const wait = ctx.sizes.wake.idleMs - (Date.now() - idleSince);
    if (wait > 0) {
      log(`wake: waiting ${(wait / 1000).toFixed(0)} s for the idle objects to be evicted`);
      await sleep(wait);
    }
    try {
      for (const g of groups) {
        ctx.checkDeadline();
        const idleMs = Date.now() - idleSince;
        const m = await measured(ctx, servers, g.server, g.doName, g.cls, () =>
          g.client.call("wakePing", {}, 60_000),
        );
        ctx.results.wake[`${g.server}/${g.size}`] = {
          ...m.result,
          cpuMs: m.cpuMs,
          idleMs,
          evicted: m.cost ? m.cost.constructed > 0 : false,
          cost: m.cost,
        };
      }
    } finally {
      await Promise.all(groups.map((g) => g.client.stop()));
    }
  };
}
