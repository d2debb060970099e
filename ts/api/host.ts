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
}
