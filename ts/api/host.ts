/**
 * What the app-facing objects need from the Durable Object that hosts them.
 */
import type { CoreAction, SocketCoreLike } from "../shim/core-types.js";

/** The Socket.IO core and the way to carry out its actions. */
export interface CoreHost {
  /** The core state machine. */
  readonly core: SocketCoreLike;
  /** Carries out actions the core returned. */
  run(actions: CoreAction[] | undefined): void;
  /** Answers held polls once the current turn is over. */
  queueFlush(): void;
  /**
   * Rebuilds the JavaScript side of a socket the core knows but this incarnation of the
   * object has not met yet (after an eviction). Returns whether the socket exists now.
   */
  revive?(id: string): boolean;
  /** Names of the namespaces that have stored sockets (after an eviction). */
  storedNamespaces?(): string[];
}
