// The part of socket.io-client 2.x (installed as `socket.io-client-v2`, which ships no
// types) that the tests use.
declare module "socket.io-client-v2" {
  /** A packet of the client's parser (socket.io-parser 3.x). */
  interface Packet {
    type: number;
    nsp: string;
    id?: number;
    data?: unknown[];
  }

  /** socket.io-client 2.x's engine.io-client 3.x socket. */
  interface EngineSocket {
    id: string;
    transport: { name: string };
    readyState: string;
    on(event: string, fn: (...args: unknown[]) => void): this;
    once(event: string, fn: (...args: unknown[]) => void): this;
    close(): void;
  }

  export interface Manager {
    engine: EngineSocket | undefined;
    reconnection(enabled: boolean): this;
    on(event: string, fn: (...args: unknown[]) => void): this;
  }

  export interface Socket {
    id: string | undefined;
    nsp: string;
    connected: boolean;
    io: Manager;
    on(event: string, fn: (...args: never[]) => void): this;
    emit(event: string, ...args: unknown[]): this;
    connect(): this;
    disconnect(): this;
    close(): this;
    /** Handles an EVENT packet (the tests wrap it to record every event). */
    onevent(packet: Packet): void;
  }

  export interface Options {
    path?: string;
    forceNew?: boolean;
    reconnection?: boolean;
    reconnectionDelay?: number;
    transports?: string[];
    query?: Record<string, string> | string;
    upgrade?: boolean;
  }

  function io(url: string, options?: Options): Socket;
  export default io;
}
