/**
 * The requests the shards of one server send each other, and how a shard serves them.
 *
 * They are what Socket.IO's cluster adapters send between processes (a broadcast, a
 * query for sockets, a room change, a server-side event), carried by Durable Object
 * RPC. A broadcast travels as the JSON text its origin encoded, so each shard encodes
 * its frame once. The runtime side (stubs, the stored shard count) is
 * `ts/shim/shards.ts`; this module only speaks in terms of the app API.
 */
import type { Handshake } from "./socket.js";

/** The sockets a request is about: as a broadcast operator targets them. */
export interface ShardTarget {
  /** Namespace name (a parent namespace's own name reaches its children). */
  nsp: string;
  /** Sockets in any of these rooms (every socket when empty). */
  rooms: string[];
  /** Minus the sockets in any of these. */
  except: string[];
}

/** Receives the acknowledgements a shard's sockets send back for a broadcast. */
export interface AckReceiver {
  /** One socket answered (its first argument). */
  answer(response: unknown): void;
  /** One socket left before answering (only for emits without a timeout). */
  gone(): void;
}

/** A socket as another shard describes it for `fetchSockets()`. */
export interface SocketRecord {
  /** The socket's id. */
  id: string;
  /** Its handshake. */
  handshake: Handshake;
  /** Its rooms. */
  rooms: string[];
  /** JSON text of its `socket.data`. */
  data: string;
}

/** A request from one shard to another (or from the emitter to the server). */
export type ShardRequest =
  | {
      /** Deliver an event to the targeted sockets of this shard. */
      type: "emit";
      target: ShardTarget;
      json: string;
      binaries: Uint8Array[];
      volatile: boolean;
      /** Where answers go when the emit asked for acknowledgements. */
      ack?: AckReceiver;
      /** The emit's `timeout(ms)`, if any. */
      timeout?: number;
    }
  | { type: "fetch"; target: ShardTarget }
  | { type: "join"; target: ShardTarget; rooms: string[] }
  | { type: "leave"; target: ShardTarget; rooms: string[] }
  | { type: "disconnect"; target: ShardTarget; close: boolean }
  | {
      /** Run the `io.of(nsp).on(ev)` listeners of this shard. */
      type: "serverSideEmit";
      nsp: string;
      json: string;
      binaries: Uint8Array[];
      /** Whether the listener gets an acknowledgement function; how long it has. */
      ack?: { timeout: number };
    };

/** What a shard answers to a `serverSideEmit` that asked for an acknowledgement. */
export interface ServerSideAnswer {
  /** Whether the listener called its acknowledgement in time. */
  answered: boolean;
  /** Its first argument, encoded (JSON text with placeholders, and the attachments). */
  json?: string;
  /** The attachments of `json`. */
  binaries?: Uint8Array[];
}

/** Another shard of the same server. */
export interface ShardPeer {
  /** Its number. */
  readonly index: number;
  /** Sends it a request; resolves with its answer. */
  request(request: ShardRequest): Promise<unknown>;
}

/** The app API's view of the server's other shards. */
export interface ShardLink {
  /** This object's shard number (0 when unsharded). */
  readonly index: number;
  /** The other shards (none when unsharded). */
  others(): ShardPeer[];
  /** Shard `index`, when it is another shard of this server. */
  peer(index: number): ShardPeer | undefined;
  /** Makes `receiver` callable from another shard. */
  remote(receiver: AckReceiver): AckReceiver;
}

/** The link of an object that is the whole server. */
export const NO_SHARDS: ShardLink = {
  index: 0,
  others: () => [],
  peer: () => undefined,
  remote: (r) => r,
};

/** Sends `request` to every shard in `peers`, logging failures; resolves when all answered. */
export function tellAll(peers: ShardPeer[], request: ShardRequest): Promise<void> {
  return Promise.all(
    peers.map((p) =>
      p.request(request).then(
        () => undefined,
        (e: unknown) => reportShardFailure(p.index, e),
      ),
    ),
  ).then(() => undefined);
}

/** Logs that shard `index` failed a request. */
export function reportShardFailure(index: number, error: unknown): void {
  console.error(`socket.io-durable: shard ${index} failed:`, error);
}
