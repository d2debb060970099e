/**
 * How a shard answers the requests of the others ({@link serveShardRequest}), and how
 * the server answers code outside it, the emitter ({@link serveServerRequest}): the
 * emitter's requests are carried out from this shard across every shard, as if a
 * listener of this shard had made them.
 */
// biome-ignore-all lint/suspicious/noExplicitAny: the service serves servers of any event maps
import { ForwardedAcks } from "./ack-collector.js";
import { BroadcastOperator, payloadValues, shardOf } from "./broadcast-operator.js";
import type { ServerSideAnswer, ShardRequest, ShardTarget, SocketRecord } from "./cluster.js";
import { encode, encodeValue, toJson } from "./codec.js";
import type { Server } from "./server.js";

type AnyServer = Server<any, any, any, any>;
type Operator = BroadcastOperator<any, any>;

/**
 * A request of the emitter, carried out on every shard of the server: a shard's
 * request, except that emits name their event (checked against the reserved names) and
 * gather their answers here (`ack`) instead of through a receiver.
 */
export type ServerRequest =
  | (Omit<Extract<ShardRequest, { type: "emit" }>, "ack"> & { event: string; ack: boolean })
  | Extract<ShardRequest, { type: "fetch" | "join" | "leave" | "disconnect" }>
  | (Omit<Extract<ShardRequest, { type: "serverSideEmit" }>, "ack"> & {
      event: string;
      ack: boolean;
    });

/** The answers an emitter's emit or server-side emit gathered, encoded. */
export interface GatheredAnswers {
  /** The error's message, when not every answer came. */
  error?: string;
  /** JSON text of the answers, binary data as attachments. */
  json: string;
  binaries: Uint8Array[];
}

/** A socket the emitter fetched, with the shard that holds it. */
export interface ShardSocketRecord extends SocketRecord {
  /** The shard's number. */
  shard: number;
}

/** The operator for `target`, on this shard only or (`everywhere`) on all of them. */
function operatorOf(
  io: AnyServer,
  target: ShardTarget,
  flags: { volatile?: boolean; timeout?: number },
  everywhere: boolean,
): Operator | undefined {
  const nsp = io._namespaceNamed(target.nsp) ?? (everywhere ? io.of(target.nsp) : undefined);
  if (!nsp) return undefined;
  return new BroadcastOperator(
    nsp,
    new Set(target.rooms),
    new Set(target.except),
    everywhere ? flags : { ...flags, local: true },
  );
}

/** Answers a request of another shard, about the sockets of this one. */
export async function serveShardRequest(io: AnyServer, request: ShardRequest): Promise<unknown> {
  switch (request.type) {
    case "emit": {
      const flags = { volatile: request.volatile };
      const op = operatorOf(io, request.target, flags, false);
      if (!op) return 0;
      const values = payloadValues(request.json, request.binaries);
      if (!request.ack) {
        op._deliver(request.json, request.binaries, values);
        return 0;
      }
      const acks = new ForwardedAcks(request.ack, request.timeout);
      const count = op._deliver(request.json, request.binaries, values, acks);
      acks.seal();
      return count;
    }
    case "fetch":
      return operatorOf(io, request.target, {}, false)?._records() ?? [];
    case "join":
      await operatorOf(io, request.target, {}, false)?._socketsJoin(request.rooms);
      return null;
    case "leave":
      await operatorOf(io, request.target, {}, false)?._socketsLeave(request.rooms);
      return null;
    case "disconnect":
      await operatorOf(io, request.target, {}, false)?._disconnectSockets(request.close);
      return null;
    case "serverSideEmit": {
      const nsp = io._namespaceNamed(request.nsp);
      const ack = request.ack;
      if (!ack) {
        nsp?._serverSideEvent(request.json, request.binaries, undefined);
        return null;
      }
      if (!nsp) return { answered: false } satisfies ServerSideAnswer;
      return new Promise<ServerSideAnswer>((resolve) => {
        const timer = setTimeout(() => resolve({ answered: false }), ack.timeout);
        nsp._serverSideEvent(request.json, request.binaries, (response) => {
          clearTimeout(timer);
          // Encoded as Socket.IO's parser carries it: JSON, with binary attachments.
          const encoded = encodeValue(response);
          resolve({ answered: true, json: encoded.json, binaries: encoded.binaries });
        });
      });
    }
  }
}

/** Carries out a request of the emitter on every shard, from this one. */
export async function serveServerRequest(io: AnyServer, request: ServerRequest): Promise<unknown> {
  if (request.type === "emit" || request.type === "serverSideEmit") {
    io._core.assertEmittable(request.event);
  }
  switch (request.type) {
    case "emit": {
      const flags = { volatile: request.volatile, timeout: request.timeout };
      const op = operatorOf(io, request.target, flags, true) as Operator;
      const values = payloadValues(request.json, request.binaries);
      if (!request.ack) {
        await op._emitEncoded(request.json, request.binaries, values);
        return null;
      }
      return new Promise<GatheredAnswers>((resolve) => {
        void op._emitEncoded(request.json, request.binaries, values, (err, responses) =>
          resolve(gathered(err, responses)),
        );
      });
    }
    case "fetch": {
      const op = operatorOf(io, request.target, {}, true) as Operator;
      const sockets = await op.fetchSockets();
      return sockets.map(
        (s): ShardSocketRecord => ({
          id: s.id,
          handshake: s.handshake,
          rooms: [...s.rooms],
          data: toJson(s.data),
          shard: shardOf(s) ?? io._shards.index,
        }),
      );
    }
    case "join":
      await (operatorOf(io, request.target, {}, true) as Operator)._socketsJoin(request.rooms);
      return null;
    case "leave":
      await (operatorOf(io, request.target, {}, true) as Operator)._socketsLeave(request.rooms);
      return null;
    case "disconnect":
      await (operatorOf(io, request.target, {}, true) as Operator)._disconnectSockets(
        request.close,
      );
      return null;
    case "serverSideEmit": {
      const nsp = io.of(request.nsp);
      if (!request.ack) {
        await nsp._serverSideEmit(request.json, request.binaries, undefined, true);
        return null;
      }
      return new Promise<GatheredAnswers>((resolve) => {
        void nsp._serverSideEmit(
          request.json,
          request.binaries,
          (err, responses) => resolve(gathered(err, responses)),
          true,
        );
      });
    }
  }
}

function gathered(err: unknown, responses: unknown): GatheredAnswers {
  const { json, binaries } = encode(Array.isArray(responses) ? responses : []);
  return err instanceof Error ? { error: err.message, json, binaries } : { json, binaries };
}
