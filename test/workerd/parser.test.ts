// The `parser` option, resolved inside workerd with the real parser modules: the
// msgpack parser and the default one are recognised by what their Encoder writes, the
// option's string forms are taken as they are, and any other parser is refused.

import * as msgpackParser from "socket.io-msgpack-parser";
import * as defaultParser from "socket.io-parser";
import { describe, expect, it } from "vitest";
import { resolveParser } from "../../ts/shim/parser.js";
import { loadCore } from "../../ts/shim/wasm.js";

loadCore();

describe("the parser option", () => {
  it("takes the two formats by name, the default when absent", () => {
    expect(resolveParser(undefined)).toBe("default");
    expect(resolveParser("default")).toBe("default");
    expect(resolveParser("msgpack")).toBe("msgpack");
  });

  it("recognises the parser modules as Node's server takes them", () => {
    expect(resolveParser(msgpackParser)).toBe("msgpack");
    expect(resolveParser(defaultParser)).toBe("default");
  });

  it("refuses any other parser, saying why", () => {
    expect(() => resolveParser("json")).toThrow(/the parser option takes .* \(got "json"\)/);
    expect(() => resolveParser({})).toThrow(/\(got object\)/);
    // A JSON parser of its own: one text frame, but not the default parser's.
    class JsonEncoder {
      encode(packet: unknown): unknown[] {
        return [JSON.stringify(packet)];
      }
    }
    expect(() => resolveParser({ Encoder: JsonEncoder })).toThrow(/writes another format/);
    // msgpack of another layout (an array instead of a map).
    class ArrayEncoder {
      encode(): unknown[] {
        return [new Uint8Array([0x93, 0x02, 0xa1, 0x2f, 0x90])];
      }
    }
    expect(() => resolveParser({ Encoder: ArrayEncoder })).toThrow(/writes another format/);
    class Failing {
      encode(): unknown[] {
        throw new Error("boom");
      }
    }
    expect(() => resolveParser({ Encoder: Failing })).toThrow(/its Encoder failed \(boom\)/);
  });
});
