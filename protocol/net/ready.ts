/**
 * A daemon's readiness gate for its libp2p services. js-libp2p starts the services handed to `createLibp2p` with
 * the node's listeners, but a daemon may have work to do before it answers anyone (a yard lists its addresses on
 * chain and restores its leases first). The services register their handlers on the gate's registrar at the node's
 * start; until `open()` — and again after `close()` — every stream those handlers receive is refused at once: reset
 * with a NOT_READY error naming the protocol and the reason, counted and reported to `onRefused`. Nothing waits, so
 * a stranger's streams before ready cannot pile up. A service's outbound work (announcements, pushes, timers that
 * dial) waits for the same moment: `whenOpen(fn)` runs `fn` when the gate opens.
 *
 * @example
 *   const ready = new ReadyGate("the yard is starting: it lists its addresses and restores its leases first");
 *   const node = await createIconNode({ services: { tunnels: (c) => tunnels(init)(gatedComponents(c, ready)) } });
 *   await boot(); ready.open(); // … ready.close(); await node.stop();
 */
import type { Connection, Stream, StreamHandler, StreamHandlerOptions } from "@libp2p/interface";
import { IconError } from "../errors.ts";

/** What a protocol service registers its handlers with (js-libp2p's registrar, the part services use). */
export interface HandlerRegistrar {
  handle(protocol: string, handler: StreamHandler, options?: StreamHandlerOptions): Promise<void>;
  unhandle(protocol: string): Promise<void>;
}

/** Gates the handlers of a daemon's libp2p services on its readiness. */
export class ReadyGate {
  readonly #reason: string;
  readonly #onRefused: ((protocol: string, peer: string) => void) | undefined;
  #open = false;
  readonly #onOpen = new Set<() => void>();
  /** Streams refused because the daemon was not ready (or stopping). */
  refused = 0;

  /** `reason`: the sentence a refused stream carries, e.g. "the yard is starting: …". */
  constructor(reason: string, o: { onRefused?: (protocol: string, peer: string) => void } = {}) {
    this.#reason = reason;
    this.#onRefused = o.onRefused;
  }

  get isOpen(): boolean {
    return this.#open;
  }

  /** The daemon is ready: handlers registered through the gate serve from now on; `whenOpen` callbacks run. */
  open(): void {
    if (this.#open) return;
    this.#open = true;
    for (const fn of [...this.#onOpen]) fn();
  }

  /**
   * Runs `fn` each time the gate opens (at once when it is open now): a service's outbound work starts when the
   * daemon is ready, not when the node starts. Returns the function that forgets `fn` (the service's stop).
   */
  whenOpen(fn: () => void): () => void {
    this.#onOpen.add(fn);
    if (this.#open) fn();
    return () => void this.#onOpen.delete(fn);
  }

  /** The daemon stops: streams arriving from now on are refused (those already served run on). */
  close(): void {
    this.#open = false;
  }

  /** `registrar` whose handlers refuse every stream while the gate is not open. */
  registrar(registrar: HandlerRegistrar): HandlerRegistrar {
    return {
      handle: (protocol, handler, options) =>
        registrar.handle(
          protocol,
          (stream: Stream, connection: Connection) => {
            if (this.#open) return handler(stream, connection);
            this.#refuse(protocol, stream, connection);
          },
          options,
        ),
      unhandle: (protocol) => registrar.unhandle(protocol),
    };
  }

  #refuse(protocol: string, stream: Stream, connection: Connection): void {
    this.refused++;
    const peer = connection.remotePeer.toString();
    this.#onRefused?.(protocol, peer);
    stream.abort(new IconError("NOT_READY", `${protocol} refused: ${this.#reason}`, { details: { peer } }));
  }
}
