// `@socket.io/admin-ui` on `/inst/` (see test/e2e/README.md): the real package
// instruments the object in `setup`, and a socket.io-client connects to its `/admin`
// namespace with the options of the dashboard (ui/ of the package, App.vue), then
// receives what the dashboard shows: the sockets with their rooms, transport and
// handshake, the server's stats, and live updates of the other clients.
import { afterEach, describe, expect, it } from "vitest";
import { type Client, Clients, settled, uid } from "../helpers/sio.js";
import { withTimeout } from "../helpers/util.js";

const clients = new Clients();
afterEach(() => clients.closeAll());

/** A socket as the admin UI serialises it. */
interface Serialized {
  id: string;
  clientId: string;
  transport: string;
  nsp: string;
  data: Record<string, unknown>;
  handshake: {
    address: string;
    headers: Record<string, string>;
    query: Record<string, string>;
    issued: number;
    secure: boolean;
    time: string;
    url: string;
    xdomain: boolean;
  };
  rooms: string[];
}

interface Stats {
  serverId: string;
  clientsCount: number;
  pollingClientsCount: number;
  aggregatedEvents: { timestamp: number; type: string; subType?: string; count: number }[];
  namespaces: { name: string; socketsCount: number }[];
}

/** The dashboard's connection: `io(serverUrl + namespace, ...)` as App.vue opens it. */
async function dashboard(): Promise<Client> {
  const admin = clients.create("inst", "/admin", {
    withCredentials: true,
    transports: ["polling", "websocket"],
    auth: { sessionId: undefined },
  });
  await admin.connected();
  return admin;
}

/** The next `event` of `client` whose arguments satisfy `match`. */
function nextWhere(
  client: Client,
  event: string,
  match: (args: unknown[]) => boolean,
  timeoutMs = 8_000,
): Promise<unknown[]> {
  return client.next(event, timeoutMs, match);
}

function sidOf(client: Client): string {
  return client.socket.io.engine.id ?? "";
}

describe("@socket.io/admin-ui", () => {
  it("the dashboard gets the config, every socket with its rooms, transport and handshake, and the stats", async () => {
    const tag = uid();
    const room = `room-${uid()}`;
    const mw = `mw-${uid()}`;
    const c = await clients.connect("inst", "/", { query: { tag }, auth: { room: mw } });
    await settled(c, { name: "upgrade", settled: "websocket" });
    await c.call("join", room);

    const admin = await dashboard();
    const [config] = (await admin.next("config")) as [{ supportedFeatures: string[] }];
    expect(config.supportedFeatures).toEqual(
      expect.arrayContaining(["EMIT", "JOIN", "LEAVE", "DISCONNECT", "MJOIN", "MLEAVE"]),
    );
    expect(config.supportedFeatures).toEqual(
      expect.arrayContaining(["MDISCONNECT", "AGGREGATED_EVENTS", "ALL_EVENTS"]),
    );

    const [all] = (await admin.next("all_sockets")) as [Serialized[]];
    const mine = all.find((s) => s.id === c.id);
    expect(mine).toBeDefined();
    expect(mine?.nsp).toBe("/");
    expect(mine?.transport).toBe("websocket");
    expect(mine?.clientId).toBe(sidOf(c).slice(0, 12));
    expect([...(mine?.rooms ?? [])].sort()).toEqual([c.id, mw, room].sort());
    expect(mine?.handshake).toMatchObject({
      address: "127.0.0.1",
      query: { tag, EIO: "4", transport: "polling" },
      secure: false,
      xdomain: false,
    });
    expect(mine?.handshake.url.startsWith("/inst/?")).toBe(true);
    expect(typeof mine?.handshake.issued).toBe("number");
    expect(mine?.handshake.headers.host).toMatch(/^127\.0\.0\.1:\d+$/);
    // The dashboard's own socket is listed too, in /admin.
    expect(all.some((s) => s.id === admin.id && s.nsp === "/admin")).toBe(true);

    const [stats] = (await admin.next("server_stats", 8_000)) as [Stats];
    expect(stats.clientsCount).toBeGreaterThanOrEqual(2);
    expect(typeof stats.serverId).toBe("string");
    expect(stats.pollingClientsCount).toBeGreaterThanOrEqual(0);
    const names = stats.namespaces.map((n) => n.name);
    expect(names).toEqual(expect.arrayContaining(["/", "/admin"]));
    for (const n of stats.namespaces) {
      if (n.name === "/" || n.name === "/admin") expect(n.socketsCount).toBeGreaterThanOrEqual(1);
    }
  });

  it("connections, upgrades, events, rooms and disconnections of other clients reach the dashboard as they happen", async () => {
    const admin = await dashboard();
    await admin.next("all_sockets");
    const room = `live-${uid()}`;
    const c = clients.create("inst", "/"); // polling, then the upgrade
    await c.connected();
    const id = c.id;
    const ofC = (args: unknown[]) => (args[0] as { id?: string }).id === id;

    const [connected, at] = await nextWhere(admin, "socket_connected", ofC);
    expect(connected).toMatchObject({ id, nsp: "/", transport: "polling", rooms: [id] });
    expect(Number.isNaN(Date.parse(String(at)))).toBe(false);
    await settled(c, { name: "upgrade", settled: "websocket" });
    const [updated] = await nextWhere(admin, "socket_updated", ofC);
    expect(updated).toEqual({ id, nsp: "/", transport: "websocket" });

    c.socket.emit("echo", "hello", 42);
    const byC = (args: unknown[]) => args[0] === "/" && args[1] === id;
    const received = await nextWhere(
      admin,
      "event_received",
      (a) => byC(a) && (a[2] as unknown[])[0] === "echo",
    );
    expect(received.slice(0, 3)).toEqual(["/", id, ["echo", "hello", 42]]);
    const sent = await nextWhere(
      admin,
      "event_sent",
      (a) => byC(a) && (a[2] as unknown[])[0] === "echo",
    );
    expect(sent.slice(0, 3)).toEqual(["/", id, ["echo", "hello", 42]]);

    await c.call("join", room);
    const joined = await nextWhere(admin, "room_joined", (a) => a[1] === room);
    expect(joined.slice(0, 3)).toEqual(["/", room, id]);
    await c.call("leave", room);
    const left = await nextWhere(admin, "room_left", (a) => a[1] === room);
    expect(left.slice(0, 3)).toEqual(["/", room, id]);

    c.socket.disconnect();
    const gone = await nextWhere(admin, "socket_disconnected", (a) => a[1] === id);
    expect(gone.slice(0, 3)).toEqual(["/", id, "client namespace disconnect"]);
    const ownRoom = await nextWhere(admin, "room_left", (a) => a[1] === id);
    expect(ownRoom.slice(0, 3)).toEqual(["/", id, id]);
  });

  it("the dashboard's operations act on the object's sockets: join, emit, leave, disconnect", async () => {
    const admin = await dashboard();
    await admin.next("all_sockets");
    const c = await clients.connect("inst", "/", { transports: ["websocket"] });
    const id = c.id;
    const room = `op-${uid()}`;

    admin.socket.emit("join", "/", room, id);
    expect((await nextWhere(admin, "room_joined", (a) => a[1] === room)).slice(0, 3)).toEqual([
      "/",
      room,
      id,
    ]);
    admin.socket.emit("emit", "/", room, "from-admin", { n: 1 });
    expect(await c.next("from-admin")).toEqual([{ n: 1 }]);
    admin.socket.emit("leave", "/", room, id);
    expect((await nextWhere(admin, "room_left", (a) => a[1] === room)).slice(0, 3)).toEqual([
      "/",
      room,
      id,
    ]);
    admin.socket.emit("_disconnect", "/", false, id);
    expect(await c.next1("disconnect")).toBe("io server disconnect");
    const gone = await nextWhere(admin, "socket_disconnected", (a) => a[1] === id);
    expect(gone.slice(0, 3)).toEqual(["/", id, "server namespace disconnect"]);
  });

  it("the stats count the connections, packets and bytes in both directions", async () => {
    const admin = await dashboard();
    const c = await clients.connect("inst", "/", { transports: ["websocket"] });
    for (let i = 0; i < 3; i++) {
      c.socket.emit("echo", "x".repeat(100));
      await c.next("echo");
    }
    // Aggregated events are handed out once: add them up over the stats that follow.
    const totals = new Map<string, number>();
    await withTimeout(
      (async () => {
        for (;;) {
          const [stats] = (await admin.next("server_stats", 8_000)) as [Stats];
          for (const e of stats.aggregatedEvents) {
            totals.set(e.type, (totals.get(e.type) ?? 0) + e.count);
          }
          const all = ["rawConnection", "packetsIn", "bytesIn", "packetsOut", "bytesOut"];
          if (all.every((t) => (totals.get(t) ?? 0) > 0) && (totals.get("bytesIn") ?? 0) > 300) {
            return;
          }
        }
      })(),
      20_000,
      "stats with packets and bytes",
    );
    expect(totals.get("packetsIn")).toBeGreaterThanOrEqual(3);
    expect(totals.get("packetsOut")).toBeGreaterThanOrEqual(3);
    expect(totals.get("bytesOut")).toBeGreaterThan(300);
  });
});
