/**
 * Yamux window updates at half the window (protocol/net/yamux-window.ts): the rule on a stream's fields; the
 * project's nodes pace every stream and send about one noise message per data message instead of two; and a paced
 * node moves data both ways with a node on the library's own pacing, including a paused reader (backpressure)
 * that resumes.
 */
import { expect } from "chai";
import { createHash, randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type { Libp2p, Stream } from "@libp2p/interface";
import { Uint8ArrayList } from "uint8arraylist";
import { createIconNode, yamuxWindowStats } from "../../../protocol/net/node.ts";
import { noiseCrypto } from "../../../protocol/net/noise-crypto.ts";
import { paceWindowUpdates } from "../../../protocol/net/yamux-window.ts";

const PROTOCOL = "/icon/test/yamux-window/1.0.0";
const WINDOW = 256 * 1024;
const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

/** The YamuxStream fields the rule reads, with a `sendWindowUpdate` that counts the updates it would send. */
function streamFields(state: number, recvWindowCapacity: number) {
  const sent = { n: 0 };
  const s = {
    state,
    recvWindow: WINDOW,
    recvWindowCapacity,
    sendWindowUpdate(): void {
      sent.n++;
    },
  };
  return { s, sent };
}

describe("yamux window updates at half the window", function () {
  this.timeout(60_000);

  it("holds an update back while the remote has half a window of credit, sends it below half or with a flag", () => {
    const stats = { paced: 0, unpaced: 0, deferred: 0 };
    const { s, sent } = streamFields(3, WINDOW - 24);
    paceWindowUpdates(s, stats);
    expect(stats.paced).to.equal(1);
    s.sendWindowUpdate();
    s.recvWindowCapacity = WINDOW / 2;
    s.sendWindowUpdate();
    expect(sent.n, "credit ≥ half: nothing sent").to.equal(0);
    expect(stats.deferred).to.equal(2);
    s.recvWindowCapacity = WINDOW / 2 - 1;
    s.sendWindowUpdate();
    expect(sent.n, "credit below half: the library's update").to.equal(1);
    // SYN/ACK due (Init, SYNReceived) and paused streams are the library's business, whatever the credit.
    for (const state of [0, 1, 2, 4, 5]) {
      const f = streamFields(state, WINDOW - 1);
      paceWindowUpdates(f.s, stats);
      f.s.sendWindowUpdate();
      expect(f.sent.n, `state ${state}`).to.equal(1);
    }
    expect(stats.deferred).to.equal(2);
  });

  it("leaves an object without YamuxStream's fields alone and counts it as unpaced", () => {
    const stats = { paced: 0, unpaced: 0, deferred: 0 };
    const odd = { state: 3, sendWindowUpdate: () => {} };
    const own = odd.sendWindowUpdate;
    paceWindowUpdates(odd, stats);
    expect(stats).to.deep.equal({ paced: 0, unpaced: 1, deferred: 0 });
    expect(odd.sendWindowUpdate).to.equal(own);
  });

  describe("on libp2p nodes", () => {
    const nodes: Libp2p[] = [];
    afterEach(async () => {
      await Promise.all(nodes.splice(0).map((n) => n.stop()));
    });

    /** A node answering every message on PROTOCOL with the same bytes, and a counter of the noise messages it seals. */
    async function echoNode(yamuxWindow: "half" | "library") {
      const sealed = { n: 0 };
      const crypto = { ...noiseCrypto };
      crypto.chaCha20Poly1305Encrypt = (p, n, ad, k) => {
        sealed.n++;
        return noiseCrypto.chaCha20Poly1305Encrypt(p, n, ad, k);
      };
      const node = await createIconNode({ yamuxWindow, noiseCrypto: crypto });
      nodes.push(node);
      await node.handle(PROTOCOL, (stream) => {
        stream.addEventListener("message", (e) => void stream.send(e.data));
        stream.addEventListener("remoteCloseWrite", () => void stream.close().catch(() => {}));
      });
      return { node, sealed };
    }

    /** `rounds` sequential 24-byte requests on one stream, each awaiting its echo; returns the bytes echoed. */
    async function pingPong(stream: Stream, rounds: number): Promise<number> {
      let got = 0;
      for (let i = 0; i < rounds; i++) {
        const msg = Buffer.from(`request ${String(i).padStart(16, "0")}`);
        const back = new Promise<Uint8Array>((resolve) =>
          stream.addEventListener("message", (e) => resolve(e.data.subarray()), { once: true }),
        );
        stream.send(msg);
        const b = await back;
        expect(Buffer.from(b).toString()).to.equal(msg.toString());
        got += b.byteLength;
      }
      return got;
    }

    it("paces every stream of the project's nodes: one noise message per data message, not two", async () => {
      const rounds = 300;
      const perRequest: Record<string, number> = {};
      for (const mode of ["half", "library"] as const) {
        const a = await echoNode(mode);
        const b = await echoNode(mode);
        const stream = await a.node.dialProtocol(b.node.getMultiaddrs()[0]!, PROTOCOL);
        await pingPong(stream, 5); // stream set-up (multistream-select, SYN/ACK) out of the count
        const [a0, b0] = [a.sealed.n, b.sealed.n];
        expect(await pingPong(stream, rounds)).to.equal(rounds * 24);
        perRequest[mode] = (a.sealed.n - a0 + (b.sealed.n - b0)) / rounds;
        await stream.close();
        if (mode === "half") {
          for (const n of [a.node, b.node]) {
            const stats = yamuxWindowStats(n)!;
            expect(stats.active, "every stream paced").to.equal(true);
            expect(stats.paced).to.be.greaterThan(0);
            expect(stats.deferred, "an update held back per data frame received").to.be.at.least(rounds);
          }
        } else {
          expect(yamuxWindowStats(a.node)).to.equal(undefined);
        }
      }
      // A request and its echo: two data messages; the library adds a window update after each.
      expect(perRequest.half, "half: noise messages per request").to.be.at.most(2.05);
      expect(perRequest.library, "library: noise messages per request").to.be.at.least(3.9);
    });

    for (const pacedDials of [true, false]) {
      it(`moves 8 MiB both ways with a node on the library's pacing, a paused reader included (${
        pacedDials ? "paced" : "library"
      } node dials)`, async () => {
        const paced = await createIconNode();
        const stock = await createIconNode({ yamuxWindow: "library" });
        nodes.push(paced, stock);
        const [from, to] = pacedDials ? [paced, stock] : [stock, paced];
        // The far end reads slowly at first: paused for 300 ms, then everything, echoing it back.
        let receivedWhilePaused = 0;
        await to.handle(PROTOCOL, (stream) => {
          stream.pause();
          const paused = Promise.withResolvers<void>();
          stream.addEventListener("message", (e) => {
            void paused.promise.then(() => stream.send(e.data));
          });
          stream.addEventListener("remoteCloseWrite", () => {
            void paused.promise.then(() => stream.close().catch(() => {}));
          });
          void sleep(300).then(() => {
            receivedWhilePaused = stream.readBufferLength;
            paused.resolve();
            stream.resume();
          });
        });
        const data = randomBytes(8 * 1024 * 1024);
        const stream = await from.dialProtocol(to.getMultiaddrs()[0]!, PROTOCOL);
        const back = new Uint8ArrayList();
        const done = new Promise<void>((resolve, reject) => {
          stream.addEventListener("message", (e) => {
            back.append(e.data);
            if (back.byteLength >= data.byteLength) resolve();
          });
          stream.addEventListener("close", (e) => {
            if (back.byteLength < data.byteLength) reject(e.error ?? new Error(`closed at ${back.byteLength} bytes`));
          });
        });
        let stalled = 0;
        for (let off = 0; off < data.byteLength; off += 64 * 1024) {
          if (!stream.send(data.subarray(off, off + 64 * 1024))) {
            stalled++;
            await new Promise((r) => stream.addEventListener("drain", r, { once: true }));
          }
        }
        await done;
        await stream.close();
        expect(sha256(back.subarray())).to.equal(sha256(data));
        expect(stalled, "the sender waited for the paused reader's window").to.be.greaterThan(0);
        // A paused reader grants no more credit: it holds at most the first window (256 KiB).
        expect(receivedWhilePaused).to.be.at.most(WINDOW);
        expect(yamuxWindowStats(paced)!.active).to.equal(true);
      });
    }
  });
});
