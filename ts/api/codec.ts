/**
 * Argument encoding for the core: values become the JSON text of the packet payload,
 * with every binary value (ArrayBuffer or any view of one) replaced by a
 * `{"_placeholder":true,"num":i}` and carried as the `i`-th attachment. Received
 * payloads go the other way, attachments arriving as `Uint8Array`.
 */

/** A payload ready for the core. */
export interface Encoded {
  /** JSON text of the array. */
  json: string;
  /** Attachments, in placeholder order. */
  binaries: Uint8Array[];
}

const NO_BINARIES: Uint8Array[] = [];

/** Whether `v` is binary data that travels as an attachment. */
function isBinary(v: unknown): v is ArrayBuffer | ArrayBufferView {
  return v instanceof ArrayBuffer || ArrayBuffer.isView(v);
}

function toBytes(v: ArrayBuffer | ArrayBufferView): Uint8Array {
  if (v instanceof Uint8Array) return v;
  if (v instanceof ArrayBuffer) return new Uint8Array(v);
  return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
}

/** Nesting depth past which the walk gives up and lets the slower exact path decide. */
const MAX_SCAN_DEPTH = 100;

/**
 * Whether a value holds binary data somewhere (looking through `toJSON` like
 * `JSON.stringify` does). Errs on the side of `true` for very deep values.
 */
function hasBinary(v: unknown, depth: number): boolean {
  if (v === null || typeof v !== "object") return false;
  if (depth > MAX_SCAN_DEPTH) return true;
  if (isBinary(v)) return true;
  if (Array.isArray(v)) {
    for (const item of v) if (hasBinary(item, depth + 1)) return true;
    return false;
  }
  const toJSON = (v as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === "function") {
    const j = toJSON.call(v);
    return j !== v && hasBinary(j, depth + 1);
  }
  for (const key in v) {
    if (Object.hasOwn(v, key) && hasBinary((v as Record<string, unknown>)[key], depth + 1)) {
      return true;
    }
  }
  return false;
}

/**
 * Encodes `values` (an array) as JSON, binary values taken out as attachments.
 * `toJSON` is honoured as by `JSON.stringify` (a `Date` becomes its ISO string).
 */
export function encode(values: unknown[]): Encoded {
  if (!values.some((v) => hasBinary(v, 0))) {
    return { json: JSON.stringify(values), binaries: NO_BINARIES };
  }
  const binaries: Uint8Array[] = [];
  const json = JSON.stringify(values, function (this: Record<string, unknown>, key, value) {
    // `this[key]` is the value before `toJSON` ran: binary data is caught there.
    const raw = this[key];
    if (isBinary(raw)) {
      binaries.push(toBytes(raw));
      return { _placeholder: true, num: binaries.length - 1 };
    }
    return value;
  });
  return { json, binaries };
}

/**
 * Puts the attachments of an EVENT or ACK back in place of their placeholders, in the
 * arguments as the core handed them (parsed), for packets that came with attachments.
 * The core has checked that every placeholder names one of them.
 */
export function withAttachments(args: unknown[], binaries: Uint8Array[] | undefined): void {
  if (!binaries || binaries.length === 0) return;
  for (let i = 0; i < args.length; i++) args[i] = restore(args[i], binaries);
}

/** The values of an {@link encode}d payload, attachments put back in place. */
export function decode(json: string, binaries: Uint8Array[]): unknown[] {
  const values = JSON.parse(json) as unknown[];
  withAttachments(values, binaries);
  return values;
}

function restore(v: unknown, binaries: Uint8Array[]): unknown {
  if (v === null || typeof v !== "object") return v;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) v[i] = restore(v[i], binaries);
    return v;
  }
  const o = v as Record<string, unknown>;
  if (o._placeholder === true && typeof o.num === "number") return binaries[o.num] ?? o;
  for (const key of Object.keys(o)) o[key] = restore(o[key], binaries);
  return o;
}

/** The CONNECT payload as `socket.handshake.auth`: an object, `{}` when absent or not one. */
export function authOf(auth: unknown): Record<string, unknown> {
  if (auth !== null && typeof auth === "object" && !Array.isArray(auth)) {
    return auth as Record<string, unknown>;
  }
  return {};
}

/** JSON text of a value; values JSON cannot represent become `null`. */
export function toJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? "null";
  } catch {
    return "null";
  }
}

/** One value encoded as packet arguments are; `[null]` when it cannot be written as JSON. */
export function encodeValue(value: unknown): Encoded {
  try {
    return encode([value]);
  } catch {
    return { json: "[null]", binaries: [] };
  }
}

/** The value {@link encodeValue} encoded; `null` when it cannot be read. */
export function decodeValue(json: string, binaries: Uint8Array[]): unknown {
  try {
    return decode(json, binaries)[0] ?? null;
  } catch {
    return null;
  }
}

/** The value of JSON text; `null` when it is not JSON. */
export function fromJson(json: string): unknown {
  try {
    return JSON.parse(json);
  } catch {
    return null;
  }
}
