// Connections: how fast sockets open, and the server memory each one takes.

import { log, sleep } from "../common.mjs";
import {
  counterDelta,
  counters,
  fdCount,
  openFilesLimit,
  serverPid,
  serverRss,
  target,
  waitIdle,
} from "../measure.mjs";
import { Client } from "../processes.mjs";
import { startWrangler } from "../servers.mjs";

/**
 * Connections: sockets opened 50 at a time up to each step; connect rate and the
 * server's memory per socket. socket.io-durable and the bare echo each get a
 * `wrangler dev` of their own, started for this test: a runtime keeps the memory it
 * once used, and would lend it to the next server measured in it.
 */
export async function connectionsWorkload(ctx, mainServers) {
  // Then the first step again with clients that do not offer permessage-deflate.
  for (const deflate of [true, false]) {
    for (const s of ["bare", "node", "ours"]) {
      ctx.checkDeadline();
      let fresh = null;
      try {
        if (s !== "node") fresh = await startWrangler(ctx, mainServers.workerDir);
        const servers = fresh ? { ...mainServers, wrangler: fresh } : mainServers;
        await connectionsOf(ctx, servers, s, deflate);
      } finally {
        await fresh?.stop();
      }
    }
  }
}

async function connectionsOf(ctx, servers, s, deflate) {
  const { deadlineMs } = ctx.sizes.connections;
  const steps = deflate ? ctx.sizes.connections.steps : ctx.sizes.connections.steps.slice(0, 1);
  const client = new Client(ctx, `connections/${s}${deflate ? "" : " (no deflate)"}`);
  const doName = `conn-${ctx.runId}`;
  const cls = s === "bare" ? "bare" : "bench";
  const out = { steps: [], limit: openFilesLimit(serverPid(servers, s)) };
  const outputMark = s === "node" ? 0 : servers.wrangler.errors.length;
  try {
    const before = s === "node" ? null : await counters(servers, cls, doName);
    const rss0 = await serverRss(ctx, servers, s);
    const pid = serverPid(servers, s);
    const fds0 = fdCount(pid);
    let opened = 0;
    for (let i = 0; i < steps.length; i++) {
      // Past its open-files limit a process fails in ways that outlast the test (workerd
      // takes two descriptors per WebSocket): stop short of it, and say so.
      let total = steps[i];
      let capped = null;
      const fdsNow = fdCount(pid);
      if (opened > 0 && out.limit && fdsNow !== null && fds0 !== null) {
        const perSocket = Math.max(1, (fdsNow - fds0) / opened);
        const room = Math.floor((out.limit - fdsNow - 100) / perSocket);
        if (opened + room < total) {
          total = opened + Math.max(0, room);
          capped =
            `capped at ${total.toLocaleString("en-US")}: the server process has an open-files limit of ` +
            `${out.limit.toLocaleString("en-US")} (not raisable here) and uses ${perSocket.toFixed(2)} descriptors per socket`;
        }
      }
      const r = await client.call(
        "open",
        {
          target: { ...target(servers, s, doName), deflate },
          total,
          concurrency: 50,
          deadlineMs: deadlineMs[i],
          maxFailures: 20,
        },
        deadlineMs[i] + 60_000,
      );
      const rss = await serverRss(ctx, servers, s);
      const usage = await client.call("usage");
      out.steps.push({
        fds: fdCount(serverPid(servers, s)),
        target: steps[i],
        opened: r.opened,
        ratePerSec: (r.opened - opened) / r.seconds,
        bytesPerSocket: r.opened ? (rss - rss0) / r.opened : null,
        rssMb: rss / 2 ** 20,
        clientRssMb: usage.rssBytes / 2 ** 20,
        stillOpen: usage.open,
        extensions: r.extensions,
        stopReason: r.stopReason ?? capped,
        capped: capped !== null,
        errors: r.errors,
      });
      log(
        `connections/${s}: ${r.opened} open in ${r.seconds.toFixed(1)} s${r.stopReason ? `, stopped: ${r.stopReason}` : ""}`,
      );
      opened = r.opened;
      if (r.opened < total) break;
    }
    if (before) {
      let after;
      try {
        after = await counters(servers, cls, doName);
      } catch {
        // The runtime may be out of file descriptors: ask again once the sockets are closed.
        await client.call("closeAll", { waitMs: 1_000 });
        await waitIdle(serverPid(servers, s));
        after = await counters(servers, cls, doName);
        out.countersAfterClose = true;
      }
      if (deflate)
        ctx.results.cost[`connections/${s}`] = { ...counterDelta(after, before), units: opened };
    }
  } finally {
    await client.stop();
    // Let the server handle the closes before the next server's baseline.
    await sleep(ctx.quick ? 200 : 1_000);
    await waitIdle(serverPid(servers, s));
  }
  if (s !== "node") {
    // Why the runtime refused connections, if it said so.
    const counts = new Map();
    for (const e of servers.wrangler.errors.slice(outputMark)) {
      counts.set(e, (counts.get(e) ?? 0) + 1);
    }
    if (counts.size) {
      out.runtimeErrors = [...counts].map(([e, n]) => `${n}× "${e}"`).join(", ");
    }
  }
  if (deflate) ctx.results.connections[s] = out;
  else ctx.results.connectionsNoDeflate[s] = out;
}
