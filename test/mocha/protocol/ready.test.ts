/**
 * The readiness gate of a daemon's libp2p services (protocol/net/ready.ts), on two real nodes: a service handed to
 * createIconNode registers its handler at the node's start; until the gate opens every stream is refused at once
 * (none reaches the handler, none waits), then served; closed again, refused again; the node's stop stops the service;
 * outbound work registered with `whenOpen` runs when the gate opens.
 */
import { expect } from "chai";
import type { Libp2p, Stream } from "@libp2p/interface";
import { ReadyGate, createIconNode, type IconServiceComponents } from "../../../protocol/index.ts";

const PROTOCOL = "/icon/test-ready/1.0.0";

/** A service in js-libp2p's shape: echoes one message, counts what reached it and whether it was started. */
function echo(state: { served: number; started: boolean }): (c: IconServiceComponents) => {
  start(): Promise<void>;
  stop(): Promise<void>;
} {
  return ({ registrar }) => ({
    start: async () => {
      state.started = true;
      await registrar.handle(PROTOCOL, async (stream: Stream) => {
        state.served++;
        for await (const chunk of stream) {
          stream.send(chunk);
          break;
        }
        await stream.close();
      });
    },
    stop: async () => {
      state.started = false;
      await registrar.unhandle(PROTOCOL);
    },
  });
}

/** One exchange: the echoed bytes, or the error the stream ended with. */
async function ask(client: Libp2p, server: Libp2p): Promise<string> {
  try {
    const stream = await client.dialProtocol(server.getMultiaddrs()[0]!, PROTOCOL);
    stream.send(new TextEncoder().encode("hello"));
    for await (const chunk of stream) return new TextDecoder().decode(chunk.subarray());
    return "ended without an answer";
  } catch (e) {
    return `error: ${(e as Error).message}`;
  }
}

describe("readiness gate of libp2p services", function () {
  this.timeout(60_000);
  const nodes: Libp2p[] = [];
  after(async () => {
    await Promise.all(nodes.map((n) => n.stop()));
  });

  it("refuses every stream before ready and after close, serves between, and stops with the node", async () => {
    const refusals: string[] = [];
    const gate = new ReadyGate("the test daemon is starting", { onRefused: (p) => refusals.push(p) });
    const state = { served: 0, started: false };
    const server = await createIconNode({
      services: {
        echo: (c) =>
          echo(state)({
            peerId: c.peerId,
            registrar: gate.registrar(c.registrar),
            connectionManager: c.connectionManager,
          }),
      },
    });
    const client = await createIconNode();
    nodes.push(server, client);
    expect(state.started).to.equal(true); // started with the node, before the daemon is ready

    const before = await Promise.all(Array.from({ length: 8 }, () => ask(client, server)));
    for (const answer of before) expect(answer).to.not.equal("hello");
    expect(state.served).to.equal(0);
    expect(gate.refused).to.equal(8);
    expect(refusals).to.deep.equal(Array(8).fill(PROTOCOL));

    gate.open();
    expect(await ask(client, server)).to.equal("hello");
    expect(state.served).to.equal(1);

    gate.close();
    expect(await ask(client, server)).to.not.equal("hello");
    expect(state.served).to.equal(1);
    expect(gate.refused).to.equal(9);

    await server.stop();
    expect(state.started).to.equal(false);
  });

  it("runs a service's outbound work when the gate opens (at once when open), not after the service forgot it", () => {
    const gate = new ReadyGate("the test daemon is starting");
    const runs: string[] = [];
    const forgetA = gate.whenOpen(() => runs.push("a"));
    gate.whenOpen(() => runs.push("b"));
    expect(runs, "nothing before the gate opens").to.deep.equal([]);
    gate.open();
    gate.open(); // already open: nothing runs again
    expect(runs).to.deep.equal(["a", "b"]);
    gate.whenOpen(() => runs.push("c")); // registered while open: runs at once
    expect(runs).to.deep.equal(["a", "b", "c"]);
    forgetA();
    gate.close();
    gate.open();
    expect(runs).to.deep.equal(["a", "b", "c", "b", "c"]);
  });
});
