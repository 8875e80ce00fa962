/**
 * The served side of the overlay tree, `/icon/tree/1.0.0` (protocol/overlay/tree.ts), as a service of the agent's
 * libp2p node in js-libp2p's shape (`treeService(init): (components) => TreeService`): the node builds it, registers
 * its handler at its start behind the agent's readiness gate (protocol/net/ready.ts) and unregisters it at its stop.
 * This room reads a request frame and writes the answer; the ICON's tree member (tree.ts) answers.
 *
 * The gate opens where the member used to register the handler itself and closes where it unregistered it, so what a
 * peer sees keeps its order: every stream is refused (reset, NOT_READY) until the agent has reconciled its state
 * with the chain (recovery.ts) and its member starts joining the tree (`TreeMember.start`), again from a join that
 * failed until the agent tries again (every 10 periods), and from the member's stop.
 *
 * A member on a node built without this service (tests, tools: `createIconNode()` alone) serves through
 * {@link ownTreeServing}: the same handler registered on the node at its start, unregistered at its stop.
 *
 * @example
 *   const node = await createIconNode({ services: { tree: treeService({ gate: new ReadyGate("the ICON is starting") }) } });
 *   const member = new TreeMember({ node, serving: treeServing(node), … }); // its start opens the gate
 */
import type { Connection, Libp2p, PeerId, Startable, Stream } from "@libp2p/interface";
import { lpStream } from "@libp2p/utils";
import {
  TREE_PROTOCOL,
  TreeError,
  TreeErrorCode,
  decodeTreeFrame,
  encodeTreeFrame,
  treeLimits,
  type HandlerRegistrar,
  type IconServiceComponents,
  type ReadyGate,
  type TreeMessage,
} from "../protocol/index.ts";
import { describeError } from "./tree-funding.ts";

/** The member's answer to one request of `remote` (a TreeError becomes an error frame with its code). */
export type TreeAnswer = (m: TreeMessage, remote: PeerId) => Promise<TreeMessage>;

/** How a tree member serves: from `open` its answers go out, from `close` streams are refused (or not handled). */
export interface TreeServing {
  open(answer: TreeAnswer): void | Promise<void>;
  close(): void | Promise<void>;
}

/** What the tree service is built from. */
export interface TreeServiceInit {
  /** The agent's readiness gate: closed until the member opens it. */
  gate: ReadyGate;
}

/** Streams served at once (libp2p refuses more per connection). */
const MAX_INBOUND_STREAMS = 64;
/** Time for the request frame to arrive, and for the answer to be written. */
const FRAME_MS = 10_000;

/** The tree protocol's handler, registered at start and unregistered at stop on its (gated) registrar. */
export class TreeService implements Startable, TreeServing {
  readonly #registrar: HandlerRegistrar;
  readonly #gate: Pick<ReadyGate, "open" | "close"> | undefined;
  #answer: TreeAnswer | undefined;

  constructor(registrar: HandlerRegistrar, gate?: Pick<ReadyGate, "open" | "close">) {
    this.#registrar = registrar;
    this.#gate = gate;
  }

  async start(): Promise<void> {
    await this.#registrar.handle(TREE_PROTOCOL, (stream, connection) => this.#serve(stream, connection), {
      maxInboundStreams: MAX_INBOUND_STREAMS,
    });
  }

  async stop(): Promise<void> {
    await this.#registrar.unhandle(TREE_PROTOCOL);
  }

  /** The member answers from now on: the gate opens. */
  open(answer: TreeAnswer): void {
    this.#answer = answer;
    this.#gate?.open();
  }

  /** The member stopped (or its join failed): streams are refused from now on, those under way finish. */
  close(): void {
    this.#gate?.close();
  }

  async #serve(stream: Stream, connection: Connection): Promise<void> {
    const lp = lpStream(stream, { maxDataLength: treeLimits.maxFrameBytes });
    let reply: TreeMessage;
    try {
      const m = decodeTreeFrame((await lp.read({ signal: AbortSignal.timeout(FRAME_MS) })).subarray());
      if (!this.#answer) throw new TreeError(TreeErrorCode.TREE_INTERNAL, "no tree member answers here yet");
      reply = await this.#answer(m, connection.remotePeer);
    } catch (e) {
      const code = e instanceof TreeError ? e.treeCode : TreeErrorCode.TREE_INTERNAL;
      reply = { type: "error", code, message: e instanceof TreeError ? e.message : describeError(e) };
    }
    try {
      await lp.write(encodeTreeFrame(reply), { signal: AbortSignal.timeout(FRAME_MS) });
      await stream.close();
    } catch (e) {
      stream.abort(e instanceof Error ? e : new Error(String(e)));
    }
  }
}

/** The tree protocol as a service of the agent's node: `services: { tree: treeService({ gate }) }`. */
export function treeService(
  init: TreeServiceInit,
): (components: Pick<IconServiceComponents, "registrar">) => TreeService {
  return ({ registrar }) => new TreeService(init.gate.registrar(registrar), init.gate);
}

/** The tree service of `node` (built with {@link treeService} under the name `tree`). */
export function treeServing(node: Libp2p): TreeService {
  const s = (node.services as { tree?: unknown }).tree;
  if (!(s instanceof TreeService)) throw new Error("the node was built without the tree service (treeService)");
  return s;
}

/**
 * A member on a node without the tree service (tests, tools) serves through its own: registered on the node at
 * `open`, unregistered at `close` — what the member did itself before the service existed.
 */
export function ownTreeServing(node: Pick<Libp2p, "handle" | "unhandle">): TreeServing {
  const s = new TreeService(node);
  return {
    open: async (answer) => {
      s.open(answer);
      await s.start();
    },
    close: () => s.stop().catch(() => {}),
  };
}
