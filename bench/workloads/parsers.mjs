// Parsers: binary-heavy acknowledged round trips (16 KiB and four 1 KiB buffers per
// event, echoed back by the server's acknowledgement), with Socket.IO's default parser
// and with socket.io-msgpack-parser, on socket.io-durable and on Node's socket.io.

import { measured, stats, target } from "../measure.mjs";
import { Client } from "../processes.mjs";

/** The four servers compared: [label, server, parser]. */
export const PARSER_VARIANTS = [
  ["ours/default", "ours", "default"],
  ["ours/msgpack", "ours", "msgpack"],
  ["node/default", "node", "default"],
  ["node/msgpack", "node", "msgpack"],
];

function parserTarget(servers, server, parser, doName) {
  if (server === "node") {
    return parser === "msgpack"
      ? { ...target(servers, "node", doName), path: "/msgpack/", parser }
      : target(servers, "node", doName);
  }
  return parser === "msgpack"
    ? { ...target(servers, "ours", doName, "msgpack"), parser }
    : target(servers, "ours", doName);
}

export async function parsersWorkload(ctx, servers) {
  const { rounds, perRound, warmup } = ctx.sizes.parsers;
  const clients = {};
  const acc = {};
  const doName = (label) => `parsers-${label.replace("/", "-")}-${ctx.runId}`;
  try {
    for (const [label, server, parser] of PARSER_VARIANTS) {
      clients[label] = new Client(ctx, `parsers/${label}`);
      await clients[label].call("connect", {
        target: parserTarget(servers, server, parser, doName(label)),
      });
      await clients[label].call("echo", { count: 0, warmup, binary: true });
      acc[label] = { latencies: [], cpuMs: 0 };
    }
    // Interleaved, as the echo workload: drift hits all alike.
    for (let r = 0; r < rounds; r++) {
      for (const [label, server, parser] of PARSER_VARIANTS) {
        ctx.checkDeadline();
        const cls = parser === "msgpack" ? "msgpack" : "bench";
        const m = await measured(ctx, servers, server, doName(label), cls, () =>
          clients[label].call("echo", { count: perRound, binary: true }),
        );
        acc[label].latencies.push(...m.result.latencies);
        acc[label].cpuMs += m.cpuMs;
      }
    }
  } finally {
    await Promise.all(Object.values(clients).map((c) => c.stop()));
  }
  ctx.results.parsers = Object.fromEntries(
    PARSER_VARIANTS.map(([label]) => {
      const a = acc[label];
      return [
        label,
        { ...stats(a.latencies), serverCpuUsPerRt: (a.cpuMs * 1000) / a.latencies.length },
      ];
    }),
  );
}
