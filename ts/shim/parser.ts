/**
 * The `parser` option: which wire format the server speaks. The core has the two that
 * Socket.IO clients use, the default parser's and msgpack's (`socket.io-msgpack-parser`);
 * the option names one of them, or is the parser module itself, as Node's server takes
 * it (`parser: require("socket.io-msgpack-parser")`).
 */
import type { ParserModule } from "../api/options.js";
import { msgpackEventArgs } from "./wasm.js";

/** The wire format the core speaks. */
export type WireFormat = "default" | "msgpack";

/** The packet a parser module is asked to encode, to tell which format it writes. */
const PROBE = { type: 2, nsp: "/", data: ["probe", 1] };
/** The default parser's text for {@link PROBE}. */
const PROBE_TEXT = '2["probe",1]';
/** {@link PROBE}'s arguments as the core reads them back from a msgpack frame. */
const PROBE_ARGS = '["probe",1]';

function bytesOf(v: unknown): Uint8Array | null {
  if (v instanceof ArrayBuffer) return new Uint8Array(v);
  if (ArrayBuffer.isView(v)) return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  return null;
}

const REFUSED =
  'the parser option takes "default", "msgpack", socket.io-parser or socket.io-msgpack-parser';

/**
 * Resolves the `parser` option: absent or `"default"` (or the `socket.io-parser`
 * module) is the default format, `"msgpack"` (or the `socket.io-msgpack-parser`
 * module) msgpack. A module is recognised by what its `Encoder` writes for one event:
 * the default parser's text, or one msgpack frame that the core reads back as that
 * event. Anything else throws: the core cannot run another parser's code.
 */
export function resolveParser(option: unknown): WireFormat {
  if (option === undefined || option === "default") return "default";
  if (option === "msgpack") return "msgpack";
  const Encoder =
    option !== null && typeof option === "object"
      ? (option as { Encoder?: unknown }).Encoder
      : undefined;
  if (typeof Encoder !== "function") throw new TypeError(`${REFUSED} (got ${describe(option)})`);
  let encoded: unknown;
  try {
    encoded = new (Encoder as ParserModule["Encoder"])().encode({
      ...PROBE,
      data: [...PROBE.data],
    });
  } catch (error) {
    throw new TypeError(`${REFUSED}: its Encoder failed (${(error as Error)?.message ?? error})`);
  }
  if (Array.isArray(encoded) && encoded.length === 1) {
    const [frame] = encoded as unknown[];
    if (frame === PROBE_TEXT) return "default";
    const bytes = bytesOf(frame);
    if (bytes && msgpackEventArgs(bytes) === PROBE_ARGS) return "msgpack";
  }
  throw new TypeError(`${REFUSED}: this one writes another format`);
}

function describe(v: unknown): string {
  return typeof v === "string" ? JSON.stringify(v) : typeof v;
}
