// Shards: one socket.io-durable server on 1 and on 4 Durable Objects (routeSocketIo's
// `shards`), side by side: fan-out to a room spread over every shard, throughput of
// acknowledged events, and what a broadcast costs when no other shard holds a member
// (what a room index would save). Under `wrangler dev` every object runs in the same
// workerd process and thread, so 4 shards cannot show more capacity here: the rows show
// what the RPC between shards costs, which production pays on top of the parallelism.

import { counterDelta, counters, cpuNs, stats } from "../measure.mjs";
import { Client } from "../processes.mjs";

/** The shard counts compared. */
export const SHARD_COUNTS = [1, 4];

function sioTarget(servers, doName, shards) {
  return { kind: "sio", url: servers.wrangler.url, query: { do: doName, cls: "bench", shards } };
}

/** Runs `fn` and measures the workerd process's CPU and the shards' counters around it. */
async function measure(servers, doName, shards, fn) {
  const before = await counters(servers, "bench", doName, false, shards);
  const cpu0 = cpuNs(servers.wrangler.pid);
  const result = await fn();
  const cpuMs = (cpuNs(servers.wrangler.pid) - cpu0) / 1e6;
  const after = await counters(servers, "bench", doName, false, shards);
  return { result, cpuMs, cost: counterDelta(after, before) };
}

/** Durable Object requests in a counter delta: WebSocket messages, fetches and RPC calls. */
function requests(cost) {
  return cost.wsMessages + cost.fetches + cost.rpcs;
}

export async function shardsWorkload(ctx, servers) {
  const S = ctx.sizes.shards;
  const out = {};
  for (const n of SHARD_COUNTS) {
    out[n] = {
      fan: { times: [], seconds: 0, cpuMs: 0, requests: 0, rpcs: 0, broadcasts: 0 },
      tp: { events: 0, seconds: 0, latencies: [], cpuMs: 0, requests: 0 },
      empty: { casts: 0, seconds: 0, cpuMs: 0, rpcs: 0 },
      spread: null,
    };
  }
  const name = (what, n) => `shards-${what}-${n}-${ctx.runId}`;

  // Fan-out: one emitter and a room of receivers, spread by the router.
  const fans = {};
  try {
    for (const n of SHARD_COUNTS) {
      fans[n] = new Client(ctx, `shards fan-out/${n}`);
      await fans[n].call("connect", {
        target: sioTarget(servers, name("fan", n), n),
        count: S.receivers + 1,
        concurrency: 50,
      });
      await fans[n].call("fanSetup", { room: "fan" });
      await fans[n].call("fanout", { broadcasts: 1, first: 1_000_000 });
      // Broadcasts to a room with no member: the cost of reaching the other shards.
      await fans[n].call("casts", { room: "nobody", count: 5 });
    }
    for (let r = 0; r < S.rounds; r++) {
      for (const n of SHARD_COUNTS) {
        ctx.checkDeadline();
        const a = out[n].fan;
        const m = await measure(servers, name("fan", n), n, () =>
          fans[n].call("fanout", { broadcasts: S.perRound, first: r * S.perRound }),
        );
        a.times.push(...m.result.times);
        a.seconds += m.result.seconds;
        a.cpuMs += m.cpuMs;
        a.requests += requests(m.cost);
        a.rpcs += m.cost.rpcs;
        a.broadcasts += m.result.times.length;
        const e = out[n].empty;
        const q = await measure(servers, name("fan", n), n, () =>
          fans[n].call("casts", { room: "nobody", count: S.emptyCasts }),
        );
        e.casts += S.emptyCasts;
        e.seconds += q.result.seconds;
        e.cpuMs += q.cpuMs;
        e.rpcs += q.cost.rpcs;
      }
    }
  } finally {
    await Promise.all(Object.values(fans).map((c) => c.stop()));
  }

  // Throughput: clients sending acknowledged events as fast as they can.
  const tps = {};
  try {
    for (const n of SHARD_COUNTS) {
      tps[n] = new Client(ctx, `shards throughput/${n}`);
      await tps[n].call("connect", {
        target: sioTarget(servers, name("tp", n), n),
        count: S.clients,
        concurrency: 20,
      });
    }
    for (let r = 0; r < S.rounds; r++) {
      for (const n of SHARD_COUNTS) {
        ctx.checkDeadline();
        const a = out[n].tp;
        const m = await measure(servers, name("tp", n), n, () =>
          tps[n].call("throughput", { seconds: S.seconds }),
        );
        a.events += m.result.events;
        a.seconds += m.result.seconds;
        a.latencies.push(...m.result.latencies);
        a.cpuMs += m.cpuMs;
        a.requests += requests(m.cost);
      }
    }
  } finally {
    await Promise.all(Object.values(tps).map((c) => c.stop()));
  }

  for (const n of SHARD_COUNTS) {
    const { fan, tp, empty } = out[n];
    const deliveries = fan.times.length * S.receivers;
    ctx.results.shards[n] = {
      fanout: {
        broadcast: stats(fan.times),
        deliveriesPerSec: deliveries / fan.seconds,
        serverCpuUsPerDelivery: (fan.cpuMs * 1000) / deliveries,
        requestsPerBroadcast: fan.requests / fan.broadcasts,
        rpcsPerBroadcast: fan.rpcs / fan.broadcasts,
      },
      empty: {
        msPerCast: (empty.seconds * 1000) / empty.casts,
        serverCpuUsPerCast: (empty.cpuMs * 1000) / empty.casts,
        rpcsPerCast: empty.rpcs / empty.casts,
      },
      throughput: {
        eventsPerSec: tp.events / tp.seconds,
        latency: stats(tp.latencies),
        serverCpuUsPerEvent: (tp.cpuMs * 1000) / tp.events,
        requestsPerEvent: tp.requests / tp.events,
      },
    };
  }
}
