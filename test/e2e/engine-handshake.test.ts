// Engine.IO v4 handshake and request verification, over raw HTTP and raw
// WebSocket, compared with what Node's engine.io answers.
import { afterEach, describe, expect, it } from "vitest";
import {
  clientsCount,
  errorBody,
  type HttpResult,
  httpUrl,
  openWebSocket,
  PING_INTERVAL,
  PING_TIMEOUT,
  PollingSession,
  parseOpen,
  Resources,
  request,
  settle,
  waitForClientsCount,
  wsUrl,
} from "../helpers/eio.js";
import { WsClient, type WsRefused } from "../helpers/ws-client.js";

const resources = new Resources();
afterEach(() => resources.closeAll());

function expectError(result: HttpResult, status: number, code: number, message: string): void {
  expect(result.status, `status of an answer with body ${result.body}`).toBe(status);
  expect(errorBody(result)).toEqual({ code, message });
}

/** A WebSocket handshake that must be refused (no 101). */
async function expectWsRefused(url: string): Promise<WsRefused> {
  const outcome = await WsClient.tryConnect(url);
  if (outcome instanceof WsClient) {
    resources.ws(outcome);
    const first = await outcome.next(1_000).catch(() => undefined);
    throw new Error(
      `expected the WebSocket handshake to ${url} to be refused, but it opened (first frame: ${String(first)})`,
    );
  }
  return outcome;
}

describe("polling handshake", () => {
  it("opens a session with an open packet carrying exactly sid, upgrades, pingInterval, pingTimeout, maxPayload", async () => {
    const result = await request(httpUrl("engine.io", { EIO: "4", transport: "polling" }));
    expect(result.status).toBe(200);
    expect(result.headers.get("content-type") ?? "").toContain("text/plain");
    expect(result.body.startsWith("0")).toBe(true);
    const open = parseOpen(result.body);
    resources.polling(new PollingSession("engine.io", open.sid, open));
    expect(Object.keys(open).sort()).toEqual([
      "maxPayload",
      "pingInterval",
      "pingTimeout",
      "sid",
      "upgrades",
    ]);
    expect(typeof open.sid).toBe("string");
    expect(open.sid.length).toBeGreaterThan(0);
    expect(open.upgrades).toEqual(["websocket"]);
    expect(open.pingInterval).toBe(PING_INTERVAL);
    expect(open.pingTimeout).toBe(PING_TIMEOUT);
    expect(open.maxPayload).toBe(1_000_000);
  });

  it("gives every session its own sid and counts it in the stats", async () => {
    await settle("engine.io");
    const a = resources.polling(await PollingSession.open("engine.io"));
    const b = resources.polling(await PollingSession.open("engine.io"));
    expect(a.sid).not.toBe(b.sid);
    expect(await clientsCount("engine.io")).toBe(2);
  });

  it("announces maxPayload = maxHttpBufferSize on /eio-small/", async () => {
    const session = resources.polling(await PollingSession.open("eio-small"));
    expect(session.open.maxPayload).toBe(100);
    expect(session.open.upgrades).toEqual(["websocket"]);
  });

  it("announces no upgrade when upgrades are disabled (/eio-no-upgrade/)", async () => {
    const session = resources.polling(await PollingSession.open("eio-no-upgrade"));
    expect(session.open.upgrades).toEqual([]);
  });

  it("announces no upgrade when websocket is not an allowed transport (/eio-polling-only/)", async () => {
    const session = resources.polling(await PollingSession.open("eio-polling-only"));
    expect(session.open.upgrades).toEqual([]);
  });

  it("refuses a missing or unknown transport with 400 code 0", async () => {
    expectError(await request(httpUrl("engine.io", { EIO: "4" })), 400, 0, "Transport unknown");
    expectError(
      await request(httpUrl("engine.io", { EIO: "4", transport: "abc" })),
      400,
      0,
      "Transport unknown",
    );
    expectError(
      await request(httpUrl("engine.io", { EIO: "4", transport: "constructor" })),
      400,
      0,
      "Transport unknown",
    );
  });

  it("checks the transport before anything else", async () => {
    // Bad EIO, unknown sid and a POST: the transport error still wins.
    expectError(
      await request(httpUrl("engine.io", { EIO: "3", transport: "abc" })),
      400,
      0,
      "Transport unknown",
    );
    expectError(
      await request(httpUrl("engine.io", { EIO: "4", transport: "abc", sid: "unknown-sid" })),
      400,
      0,
      "Transport unknown",
    );
    expectError(
      await request(httpUrl("engine.io", { EIO: "4", transport: "abc" }), {
        method: "POST",
        body: "4x",
      }),
      400,
      0,
      "Transport unknown",
    );
  });

  it("refuses polling on a websocket-only mount with 400 code 0", async () => {
    expectError(
      await request(httpUrl("eio-ws-only", { EIO: "4", transport: "polling" })),
      400,
      0,
      "Transport unknown",
    );
  });

  it("refuses a missing or unsupported EIO version with 400 code 5", async () => {
    for (const eio of [undefined, "abc", "3", "5"]) {
      const result = await request(httpUrl("engine.io", { EIO: eio, transport: "polling" }));
      expectError(result, 400, 5, "Unsupported protocol version");
    }
  });

  it("refuses a handshake with a method other than GET with 400 code 2", async () => {
    const post = await request(httpUrl("engine.io", { EIO: "4", transport: "polling" }), {
      method: "POST",
      body: "4hi",
    });
    expectError(post, 400, 2, "Bad handshake method");
    const put = await request(httpUrl("engine.io", { EIO: "4", transport: "polling" }), {
      method: "PUT",
      body: "4hi",
    });
    expectError(put, 400, 2, "Bad handshake method");
  });

  it("refuses transport=websocket without a WebSocket upgrade with 400 code 3", async () => {
    expectError(
      await request(httpUrl("engine.io", { EIO: "4", transport: "websocket" })),
      400,
      3,
      "Bad request",
    );
  });

  it("refuses an unknown sid with 400 code 1, for GET and POST", async () => {
    const get = await request(
      httpUrl("engine.io", { EIO: "4", transport: "polling", sid: "does-not-exist" }),
    );
    expectError(get, 400, 1, "Session ID unknown");
    const post = await request(
      httpUrl("engine.io", { EIO: "4", transport: "polling", sid: "does-not-exist" }),
      {
        method: "POST",
        body: "4hello",
      },
    );
    expectError(post, 400, 1, "Session ID unknown");
  });

  it("refuses transport=websocket with the sid of a polling session but no upgrade, with 400 code 3", async () => {
    const session = resources.polling(await PollingSession.open("engine.io"));
    const result = await request(
      httpUrl("engine.io", { EIO: "4", transport: "websocket", sid: session.sid }),
    );
    expectError(result, 400, 3, "Bad request");
    // The session itself is not harmed.
    await session.send("4intact");
    expect(await session.receive(1)).toEqual(["4intact"]);
  });

  it("refuses polling requests with the sid of a WebSocket session, with 400 code 3", async () => {
    const { client, open } = await openWebSocket("engine.io", {}, { autoPong: true });
    resources.ws(client);
    const get = await request(
      httpUrl("engine.io", { EIO: "4", transport: "polling", sid: open.sid }),
    );
    expectError(get, 400, 3, "Bad request");
    const post = await request(
      httpUrl("engine.io", { EIO: "4", transport: "polling", sid: open.sid }),
      {
        method: "POST",
        body: "4sneaky",
      },
    );
    expectError(post, 400, 3, "Bad request");
    client.send("4intact");
    expect(await client.next()).toBe("4intact");
  });

  it("does not accept the sid of a session that lives on another mount", async () => {
    const session = resources.polling(await PollingSession.open("engine.io"));
    const result = await request(
      httpUrl("eio-small", { EIO: "4", transport: "polling", sid: session.sid }),
    );
    expectError(result, 400, 1, "Session ID unknown");
  });

  it("creates no session for a refused handshake", async () => {
    await settle("engine.io");
    await request(httpUrl("engine.io", { EIO: "3", transport: "polling" }));
    await request(httpUrl("engine.io", { EIO: "4", transport: "polling" }), {
      method: "POST",
      body: "4x",
    });
    await request(httpUrl("engine.io", { EIO: "4", transport: "websocket" }));
    expect(await clientsCount("engine.io")).toBe(0);
  });
});

describe("allowRequest (/eio-auth/)", () => {
  it("refuses a handshake without the token with 403 code 4", async () => {
    expectError(
      await request(httpUrl("eio-auth", { EIO: "4", transport: "polling" })),
      403,
      4,
      "Forbidden",
    );
    expectError(
      await request(httpUrl("eio-auth", { EIO: "4", transport: "polling", token: "wrong" })),
      403,
      4,
      "Forbidden",
    );
    expect(await clientsCount("eio-auth")).toBe(0);
  });

  it("accepts a handshake with token=secret, and the session then works", async () => {
    const session = resources.polling(await PollingSession.open("eio-auth", { token: "secret" }));
    expect(session.open.upgrades).toEqual(["websocket"]);
    await session.send("4authorized");
    expect(await session.receive(1)).toEqual(["4authorized"]);
  });

  it("refuses a WebSocket handshake without the token, and accepts one with it", async () => {
    const refused = await expectWsRefused(wsUrl("eio-auth", { EIO: "4", transport: "websocket" }));
    expect(refused.status, refused.message).toBeGreaterThanOrEqual(400);
    expect(refused.status).toBeLessThan(500);
    const { client, open } = await openWebSocket(
      "eio-auth",
      { token: "secret" },
      { autoPong: true },
    );
    resources.ws(client);
    expect(open.upgrades).toEqual([]);
    client.send("4ws-authorized");
    expect(await client.next()).toBe("4ws-authorized");
  });
});

describe("WebSocket handshake", () => {
  it("opens a session whose first frame is an open packet with upgrades []", async () => {
    const client = resources.ws(
      await WsClient.connect(wsUrl("engine.io", { EIO: "4", transport: "websocket" })),
    );
    const first = await client.nextText();
    expect(first.startsWith("0")).toBe(true);
    const open = parseOpen(first);
    expect(Object.keys(open).sort()).toEqual([
      "maxPayload",
      "pingInterval",
      "pingTimeout",
      "sid",
      "upgrades",
    ]);
    expect(typeof open.sid).toBe("string");
    expect(open.sid.length).toBeGreaterThan(0);
    expect(open.upgrades).toEqual([]);
    expect(open.pingInterval).toBe(PING_INTERVAL);
    expect(open.pingTimeout).toBe(PING_TIMEOUT);
    expect(open.maxPayload).toBe(1_000_000);
  });

  it("opens a session on the websocket-only mount and counts it", async () => {
    await settle("eio-ws-only");
    const { client, open } = await openWebSocket("eio-ws-only", {}, { autoPong: true });
    resources.ws(client);
    expect(open.upgrades).toEqual([]);
    expect(open.pingInterval).toBe(PING_INTERVAL);
    expect(await clientsCount("eio-ws-only")).toBe(1);
    await client.close();
    await waitForClientsCount("eio-ws-only", 0);
  });

  it("refuses an upgrade with a missing or invalid EIO", async () => {
    for (const eio of [undefined, "abc", "3"]) {
      const refused = await expectWsRefused(
        wsUrl("engine.io", { EIO: eio, transport: "websocket" }),
      );
      expect(refused.status, refused.message).toBe(400);
    }
  });

  it("refuses an upgrade with a missing or invalid transport", async () => {
    for (const transport of [undefined, "abc"]) {
      const refused = await expectWsRefused(wsUrl("engine.io", { EIO: "4", transport }));
      expect(refused.status, refused.message).toBe(400);
    }
  });

  it("refuses a WebSocket on a polling-only mount", async () => {
    const refused = await expectWsRefused(
      wsUrl("eio-polling-only", { EIO: "4", transport: "websocket" }),
    );
    expect(refused.status, refused.message).toBe(400);
  });

  it("refuses a WebSocket with an unknown sid", async () => {
    const refused = await expectWsRefused(
      wsUrl("engine.io", { EIO: "4", transport: "websocket", sid: "nope" }),
    );
    expect(refused.status, refused.message).toBe(400);
  });

  it("creates no session for a refused upgrade", async () => {
    await settle("engine.io");
    await expectWsRefused(wsUrl("engine.io", { EIO: "abc", transport: "websocket" }));
    await expectWsRefused(wsUrl("engine.io", { EIO: "4", transport: "abc" }));
    expect(await clientsCount("engine.io")).toBe(0);
  });
});

describe("CORS", () => {
  it('answers Access-Control-Allow-Origin "*" on /engine.io/ (origin "*")', async () => {
    const result = await request(httpUrl("engine.io", { EIO: "4", transport: "polling" }), {
      headers: { Origin: "https://anywhere.example" },
    });
    expect(result.status).toBe(200);
    resources.polling(
      new PollingSession("engine.io", parseOpen(result.body).sid, parseOpen(result.body)),
    );
    expect(result.headers.get("access-control-allow-origin")).toBe("*");
  });

  it("puts the CORS headers on error answers too", async () => {
    const result = await request(httpUrl("engine.io", { EIO: "4", transport: "abc" }), {
      headers: { Origin: "https://anywhere.example" },
    });
    expectError(result, 400, 0, "Transport unknown");
    expect(result.headers.get("access-control-allow-origin")).toBe("*");
  });

  it("answers a preflight on /engine.io/ with 204", async () => {
    const result = await request(httpUrl("engine.io", { EIO: "4", transport: "polling" }), {
      method: "OPTIONS",
      headers: { Origin: "https://anywhere.example", "Access-Control-Request-Method": "POST" },
    });
    expect(result.status).toBe(204);
    expect(result.headers.get("access-control-allow-origin")).toBe("*");
    expect(result.headers.get("access-control-allow-methods")).toBe(
      "GET,HEAD,PUT,PATCH,POST,DELETE",
    );
  });

  it("reflects the configured origin and credentials on /eio-cors/", async () => {
    const result = await request(httpUrl("eio-cors", { EIO: "4", transport: "polling" }), {
      headers: { Origin: "https://allowed.example" },
    });
    expect(result.status).toBe(200);
    const open = parseOpen(result.body);
    const session = resources.polling(new PollingSession("eio-cors", open.sid, open));
    expect(result.headers.get("access-control-allow-origin")).toBe("https://allowed.example");
    expect(result.headers.get("access-control-allow-credentials")).toBe("true");

    // Later requests of the session carry the headers too.
    const post = await session.post("4cors", { headers: { Origin: "https://allowed.example" } });
    expect(post.status).toBe(200);
    expect(post.headers.get("access-control-allow-origin")).toBe("https://allowed.example");
    expect(post.headers.get("access-control-allow-credentials")).toBe("true");
    const get = await session.get({}, { headers: { Origin: "https://allowed.example" } });
    expect(get.status).toBe(200);
    expect(get.body).toBe("4cors");
    expect(get.headers.get("access-control-allow-origin")).toBe("https://allowed.example");
    expect(get.headers.get("access-control-allow-credentials")).toBe("true");
  });

  it("answers a preflight on /eio-cors/ with 204, methods and the requested headers", async () => {
    const result = await request(httpUrl("eio-cors", { EIO: "4", transport: "polling" }), {
      method: "OPTIONS",
      headers: {
        Origin: "https://allowed.example",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type,x-custom-header",
      },
    });
    expect(result.status).toBe(204);
    expect(result.headers.get("access-control-allow-origin")).toBe("https://allowed.example");
    expect(result.headers.get("access-control-allow-credentials")).toBe("true");
    expect(result.headers.get("access-control-allow-methods")).toBe(
      "GET,HEAD,PUT,PATCH,POST,DELETE",
    );
    expect(result.headers.get("access-control-allow-headers")).toBe("content-type,x-custom-header");
  });

  it("never allows a foreign origin on /eio-cors/", async () => {
    const result = await request(httpUrl("eio-cors", { EIO: "4", transport: "polling" }), {
      headers: { Origin: "https://evil.example" },
    });
    if (result.status === 200) {
      const open = parseOpen(result.body);
      resources.polling(new PollingSession("eio-cors", open.sid, open));
    }
    const allowed = result.headers.get("access-control-allow-origin");
    expect(allowed).not.toBe("https://evil.example");
    expect(allowed).not.toBe("*");
  });
});
