/**
 * The pieces of "never two instances" that need no yard (issue 16, review findings 4, 7, 8, 11): the agent's fence
 * (icon-agent/acting.ts) waits for what is in flight and lets only a permitted act through; a hand-over's failure
 * tells a yard's refusal from an unknown outcome and prints none of the yard's control characters; the state a
 * migration carries is trimmed to fit the sealed state's 64 KiB. The yards here are fakes (real libp2p on
 * loopback, a LeaseProvider that answers what the test needs) — the faults are theirs.
 */
import { expect } from "chai";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Wallet } from "ethers";
import type { Libp2p } from "@libp2p/interface";
import {
  LEASE_PROTOCOL,
  createIconNode,
  isIconError,
  serveLeases,
  type IconError,
  type LeaseProvider,
  type MarketClient,
} from "../../../protocol/index.ts";
import { ActingFence } from "../../../icon-agent/acting.ts";
import type { AgentEnv, SidecarSpec } from "../../../icon-agent/config.ts";
import { handOver, refusedByYard, sealedAgentPart } from "../../../icon-agent/handover.ts";
import { fitCarried } from "../../../icon-agent/pair.ts";
import { SEALED_STATE_MAX_BYTES, writeAgentState, type AgentSeed } from "../../../icon-agent/state.ts";

const SIDECAR: SidecarSpec = {
  imageRef: "icon/agent:1",
  imageDigest: `0x${"ab".repeat(32)}`,
  command: [],
  cpuMillis: 100,
  memoryMiB: 160,
};
const ENV = { rpcUrl: "http://127.0.0.1:8545", sidecar: SIDECAR } as unknown as AgentEnv;

function seedOf(extra: Partial<AgentSeed> = {}): AgentSeed {
  return {
    name: "shop",
    account: 7n,
    root: 7n,
    placement: {
      leaseId: 5n,
      leaseStart: 0n,
      yard: {
        peerId: "",
        addrs: [],
        host: "127.0.0.1",
        name: "fake",
        operator: "0x0",
        cpuPricePerSecond: 1n,
        memoryPricePerSecond: 1n,
      },
      endpoint: "127.0.0.1:1",
      pricePerSecond: 1n,
      end: 100n,
      since: 0,
    },
    subnets: [],
    children: {},
    replicas: 0,
    ...extra,
  };
}

describe("the fence of an instance, hand-over faults, the carried state's size", function () {
  this.timeout(60_000);

  describe("ActingFence", () => {
    it("waits for the acts in flight before it resolves; nothing new passes the gate, only a permitted act", async () => {
      const fence = new ActingFence(() => "shop");
      let release!: () => void;
      const inFlight = fence.track(() => new Promise<void>((r) => (release = r)));
      let fenced = false;
      const closing = fence.fence(10_000).then((idle) => {
        fenced = true;
        return idle;
      });
      await new Promise((r) => setImmediate(r));
      // The flag is down at once: the next signature is refused …
      expect(() => fence.check()).to.throw(/this instance handed its ICON over/);
      // … but the fence waits for the act already under way.
      expect(fenced).to.equal(false);
      expect(fence.inFlight).to.equal(1);
      release();
      await inFlight;
      expect(await closing).to.equal(true);
      // A permitted act (the undo's own intent) goes through, and only inside its scope, awaits included.
      let inside = false;
      await fence.permit(async () => {
        await new Promise((r) => setTimeout(r, 1));
        fence.check();
        inside = true;
      });
      expect(inside).to.equal(true);
      const e = (() => {
        try {
          fence.check();
        } catch (x) {
          return x;
        }
      })();
      expect(isIconError(e, "RETIRED")).to.equal(true);
      fence.unfence();
      expect(() => fence.check()).to.not.throw();
    });

    it("waits for an act in flight at most as long as it is told, and says so", async () => {
      const fence = new ActingFence(() => "shop");
      void fence.track(() => new Promise<void>(() => {})); // never settles
      const t = Date.now();
      expect(await fence.fence(200)).to.equal(false);
      expect(Date.now() - t).to.be.at.least(150);
      expect(fence.acting).to.equal(false);
    });
  });

  describe("a hand-over's failure", () => {
    let yard: Libp2p;
    let me: Libp2p;
    let answer: LeaseProvider["redeploy"];
    let dir: string;
    const client = {
      domain: () => ({ name: "IconMarket", version: "1", chainId: 31337n, verifyingContract: `0x${"11".repeat(20)}` }),
    } as unknown as Pick<MarketClient, "domain">;
    const spec = { imageRef: "icon/web:1", imageDigest: `0x${"cd".repeat(32)}`, command: [], env: [], ports: [8080] };

    before(async () => {
      yard = await createIconNode();
      me = await createIconNode();
      // The fake yard: its Redeploy answers whatever the test put in `answer`.
      const provider: LeaseProvider = {
        capacity: () => Promise.reject(new Error("not a quoting yard")),
        quote: () => Promise.reject(new Error("not a quoting yard")),
        accept: () => Promise.reject(new Error("not a quoting yard")),
        redeploy: (a, s, ctx) => answer!(a, s, ctx),
      };
      await serveLeases(yard, provider);
      dir = await mkdtemp(path.join(tmpdir(), "icon-fence-"));
      await writeAgentState(dir, ENV, seedOf(), Wallet.createRandom().privateKey);
    });
    after(async () => {
      await me?.stop();
      await yard?.stop();
      await rm(dir, { recursive: true, force: true });
    });

    const attempt = (): Promise<IconError> =>
      handOver({
        node: me,
        holder: Wallet.createRandom(),
        client,
        dir,
        placement: { leaseId: 5n, yard: { ...seedOf().placement!.yard, addrs: [yard.getMultiaddrs()[0]!.toString()] } },
        spec,
        sidecar: SIDECAR,
      }).then(
        () => expect.fail("the fake yard refuses"),
        (e: unknown) => e as IconError,
      );

    it("a yard's Failed is a refusal, and its control characters reach neither the message nor a terminal", async () => {
      answer = async () => ({ failed: "no\u001b[2J\u001b]0;pwned\u0007 room\r\nfake line\u202e" });
      const e = await attempt();
      expect(e.code).to.equal("HANDOVER_FAILED");
      expect(refusedByYard(e)).to.equal(true);
      expect(e.message).to.not.match(/[\p{Cc}\p{Cf}]/u);
      expect(e.message).to.contain("no [2J ]0;pwned  room  fake line");
    });

    it("a yard that cuts the stream once it has the request leaves the outcome unknown (not a refusal): the sidecar may run", async () => {
      // Another fake yard: it reads the Redeploy and cuts the stream without an answer (as a crash or a lost
      // connection after the yard started the sidecar would).
      const cutter = await createIconNode();
      try {
        await cutter.handle(LEASE_PROTOCOL, async (stream) => {
          for await (const _chunk of stream) {
            stream.abort(new Error("the fake yard cuts the stream"));
            break;
          }
        });
        const e = await handOver({
          node: me,
          holder: Wallet.createRandom(),
          client,
          dir,
          placement: {
            leaseId: 5n,
            yard: { ...seedOf().placement!.yard, addrs: [cutter.getMultiaddrs()[0]!.toString()] },
          },
          spec,
          sidecar: SIDECAR,
        }).then(
          () => expect.fail("the fake yard does not answer"),
          (x: unknown) => x as IconError,
        );
        expect(e.code).to.equal("HANDOVER_FAILED");
        expect(refusedByYard(e)).to.equal(false);
      } finally {
        await cutter.stop();
      }
    });
  });

  describe("the state a migration carries", () => {
    it("is trimmed until the sealed state fits 64 KiB: children's addresses, then children, then observations", async () => {
      const dir = await mkdtemp(path.join(tmpdir(), "icon-carried-"));
      try {
        const addr = (i: number, j: number) => `/dns4/${"h".repeat(200)}-${i}-${j}.example/tcp/4100`;
        const seed = seedOf({
          carried: {
            controller: {
              rates: Array.from(
                { length: 64 },
                (_, i) => [`10.${i}.0.0/24${"x".repeat(150)}`, i, i] as [string, number, number],
              ),
              latencies: Array.from(
                { length: 192 },
                (_, i) => [`10.${i}.0.0/24|${"y".repeat(150)}`, i, i] as [string, number, number],
              ),
              lastActionAt: 1,
              streak: {},
            } as never,
            children: Array.from({ length: 64 }, (_, i) => ({
              account: BigInt(100 + i),
              addrs: Array.from({ length: 8 }, (_, j) => addr(i, j)),
              epoch: 0n,
            })),
            policyVersion: 3,
          },
        });
        await writeAgentState(dir, ENV, seed, Wallet.createRandom().privateKey);
        // As it was carried before: too large for a Deploy's agent secret.
        const before = await sealedAgentPart(dir, SIDECAR, { seed }).then(
          () => undefined,
          (e: unknown) => e as IconError,
        );
        expect(before?.code).to.equal("BAD_SEALED_STATE");
        await fitCarried(dir, ENV, seed);
        const { part } = await sealedAgentPart(dir, SIDECAR, { seed });
        expect(part.secret.bytes().length).to.be.at.most(SEALED_STATE_MAX_BYTES);
        part.secret.wipe();
        // The newest children and observations are what stays; every child keeps at least two addresses.
        expect(seed.carried!.children.length).to.be.greaterThan(0);
        expect(seed.carried!.children[0]!.account).to.equal(100n);
        for (const ch of seed.carried!.children) expect(ch.addrs.length).to.equal(2);
        expect(seed.carried!.policyVersion).to.equal(3);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  });
});
