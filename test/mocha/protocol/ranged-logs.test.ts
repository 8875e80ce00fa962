/**
 * Chain reads that scale (protocol/chain/logs.ts): every log read goes in numeric block ranges from the
 * deployment's block, never from 0 and never open-ended, so it works through an RPC that caps eth_getLogs like
 * public ones (and a yard's agent gateway, 10,000 blocks) do. A real HTTP JSON-RPC proxy in front of the embedded
 * chain records every eth_getLogs and refuses one without numeric fromBlock/toBlock or wider than its cap; after
 * 12,000 mined blocks every read answers through it exactly what it answers straight to the chain.
 */
import { expect } from "chai";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { readFile, readdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { JsonRpcProvider, Wallet } from "ethers";
import {
  ACCEPTANCE_TYPES,
  ChainError,
  MarketClient,
  MEMO_REREAD_BLOCKS,
  OFFER_TYPES,
  contractLogs,
  isIconError,
  readDeployment,
  type Offer,
} from "../../../protocol/index.ts";
import { appStatus, fundingRequests } from "../../../icon-agent/app.ts";
import { TEST_POLICY, USD, clientFor, startMarket, type TestMarket } from "../../../scripts/lib/testbed.ts";
import { projectRoot } from "../../../scripts/lib/hardhat.ts";
import { RpcFilter } from "../../../yard-node/agent-gateway-rpc.ts";

interface RpcCall {
  id?: unknown;
  method: string;
  params?: unknown[];
}

/** A public-like RPC: forwards to `upstream`, records every eth_getLogs, refuses unranged or too-wide ones. */
async function cappingProxy(upstream: string, cap: number) {
  const seen: Array<{ from: string; to: string; refused: boolean }> = [];
  const forward = async (call: RpcCall): Promise<unknown> => {
    if (call.method === "eth_getLogs") {
      const f = (call.params?.[0] ?? {}) as { fromBlock?: unknown; toBlock?: unknown };
      const hex = (v: unknown): v is string => typeof v === "string" && /^0x[0-9a-f]+$/i.test(v);
      const refuse = (message: string) => {
        seen.push({ from: String(f.fromBlock), to: String(f.toBlock), refused: true });
        return { jsonrpc: "2.0", id: call.id, error: { code: -32005, message } };
      };
      if (!hex(f.fromBlock) || !hex(f.toBlock))
        return refuse("eth_getLogs needs a numeric fromBlock and toBlock on this endpoint");
      if (Number(f.toBlock) - Number(f.fromBlock) + 1 > cap)
        return refuse(`block range too large: at most ${cap} blocks per eth_getLogs`);
      seen.push({ from: f.fromBlock, to: f.toBlock, refused: false });
    }
    const res = await fetch(upstream, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(call),
    });
    return res.json();
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      void (async () => {
        const body = JSON.parse(Buffer.concat(chunks).toString()) as RpcCall | RpcCall[];
        const out = Array.isArray(body) ? await Promise.all(body.map(forward)) : await forward(body);
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(out));
      })().catch((e: unknown) => res.writeHead(500).end(String(e)));
    });
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const provider = new JsonRpcProvider(url, undefined, { staticNetwork: true, cacheTimeout: -1 });
  return {
    url,
    provider,
    seen,
    close: async () => {
      provider.destroy();
      await new Promise<void>((ok) => server.close(() => ok()));
    },
  };
}

describe("ranged log reads through an RPC that caps eth_getLogs", function () {
  this.timeout(180_000);
  const CAP = 1_000; // below the default window (2,000): every read must also halve its window once
  let m: TestMarket;
  let proxy: Awaited<ReturnType<typeof cappingProxy>>;
  let root: bigint;
  let child: bigint;
  let relayer: string;
  let lease: (account: bigint) => Promise<bigint>;
  const clients: MarketClient[] = [];
  const throughProxy = async (): Promise<MarketClient> => {
    const c = await MarketClient.connect({ deployment: m.deployment, rpcUrl: proxy.url });
    clients.push(c);
    return c;
  };

  before(async () => {
    m = await startMarket();
    proxy = await cappingProxy(m.chain.url, CAP);
    const provider = await clientFor(m, 1, USD(1_000));
    const owner = await clientFor(m, 2, USD(1_000));
    const icon = await clientFor(m, 3);
    const listing = (n: string) => ({
      peerId: "0x0024080112" + n.padStart(64, "0"),
      multiaddrs: ["/ip4/127.0.0.1/tcp/4001"],
      domain: "edge.example",
      region: "test-1",
      cpuMillis: 4000,
      memoryMiB: 8192,
      cpuPricePerSecond: 10n,
      memoryPricePerSecond: 5n,
    });
    await provider.register(listing("01"));
    await provider.stake(USD(500));
    relayer = await provider.address();
    root = await owner.createApp(await icon.address(), TEST_POLICY, USD(50));
    lease = async (account: bigint): Promise<bigint> => {
      const t = BigInt((await m.provider.getBlock("latest"))!.timestamp);
      const offer: Offer = {
        provider: await provider.address(),
        account,
        token: m.deployment.token,
        pricePerSecond: 100n,
        cpuMillis: 500,
        memoryMiB: 256,
        start: t + 10n,
        end: t + 3610n,
        specHash: "0x" + "ab".repeat(32),
        nonce: BigInt(Math.floor(Math.random() * 2 ** 48)),
        deadline: t + 600n,
      };
      const providerSig = await provider.signer!.signTypedData(provider.domain(), OFFER_TYPES, offer);
      const tenantSig = await icon.signer!.signTypedData(icon.domain(), ACCEPTANCE_TYPES, { offer });
      return provider.openLease(offer, providerSig, tenantSig);
    };
    const mine = (n: number) => m.provider.send("hardhat_mine", ["0x" + n.toString(16)]);
    // History spread over many windows: events, 12,000 empty blocks (past a gateway's 10,000), events again.
    await lease(root);
    await icon.requestFunding(root, USD(2));
    await provider.relay(await icon.intents.sign("requestFunding", [root, USD(1)], root, { fee: 1_000n }));
    await mine(12_000);
    child = await icon.createAccount(root, Wallet.createRandom().address);
    await owner.fund(root, USD(2.5));
    await icon.allocate(root, child, USD(1));
    await lease(root);
    await provider.relay(await icon.intents.sign("requestFunding", [root, USD(0.5)], root, { fee: 2_000n }));
    const other = await clientFor(m, 4, USD(1_000));
    await other.register(listing("02"));
    await mine(3_000);
    await lease(root);
  });
  after(async () => {
    for (const c of clients) (c.provider as JsonRpcProvider).destroy();
    await proxy?.close();
    await m?.close();
  });

  it("answers leasesOf, listedOperators, relayFeesOf, the app's status and the relayers exactly as the chain does", async () => {
    const direct = m.admin;
    const ranged = await throughProxy();
    const head = await m.provider.getBlockNumber();
    expect(head).to.be.above(15_000);
    expect(m.deployment.blockNumber).to.be.above(0);

    // The old way (from block 0, no toBlock) is what a capped RPC refuses: the bug this fixes.
    const old = await proxy.provider
      .send("eth_getLogs", [{ address: m.deployment.market, fromBlock: "0x0" }])
      .catch((e: unknown) => e);
    expect(String((old as Error).message)).to.match(/numeric fromBlock and toBlock/);
    proxy.seen.length = 0;

    const leases = await ranged.leasesOf(root);
    expect(leases).to.have.length(3);
    expect(leases).to.deep.equal(await direct.leasesOf(root));
    const ops = await ranged.listedOperators();
    expect(ops).to.have.length(2);
    expect(ops).to.deep.equal(await direct.listedOperators());
    expect(await ranged.relayFeesOf(root)).to.equal(3_000n);
    expect(await ranged.relayFeesOf(root)).to.equal(await direct.relayFeesOf(root));
    const relayers = await ranged.intents.relayers(head);
    expect(relayers).to.deep.equal([relayer]);
    expect(relayers).to.deep.equal(await direct.intents.relayers(head));
    const asked = await fundingRequests(ranged, root);
    expect(asked.map((r) => [r.amount, r.answered])).to.deep.equal([
      [USD(2), USD(2)],
      [USD(1), USD(0.5)],
      [USD(0.5), 0n],
    ]);
    expect(asked).to.deep.equal(await fundingRequests(direct, root));
    const nowS = BigInt((await m.provider.getBlock(head))!.timestamp);
    expect(await appStatus(ranged, root, nowS)).to.deep.equal(await appStatus(direct, root, nowS));

    // Every call had a numeric range within the cap, from the deployment's block on; the default window (2,000)
    // was refused and halved, never below the cap's size.
    const ok = proxy.seen.filter((s) => !s.refused);
    expect(ok.length).to.be.above(15);
    for (const s of ok) {
      const [from, to] = [Number(s.from), Number(s.to)];
      expect(to - from + 1, `${s.from}..${s.to}`).to.be.within(1, CAP);
      expect(from, `${s.from}..${s.to}`).to.be.at.least(m.deployment.blockNumber);
    }
    const refused = proxy.seen.filter((s) => s.refused);
    expect(refused.length).to.be.above(0);
    for (const s of refused) expect(Number(s.to) - Number(s.from) + 1).to.equal(2_000);

    // History is scanned once per client: asked again, only the last blocks below the head are read again, and
    // a lease opened since is there.
    proxy.seen.length = 0;
    expect(await ranged.leasesOf(root)).to.deep.equal(leases);
    expect(proxy.seen.map((s) => Number(s.to) - Number(s.from) + 1)).to.deep.equal([MEMO_REREAD_BLOCKS]);
    const later = await lease(root);
    expect(await ranged.leasesOf(root)).to.deep.equal([...leases, later]);
    expect(await ranged.leasesOf(root)).to.deep.equal(await direct.leasesOf(root));
  });

  it("through a yard's real agent gateway filter (10,000 blocks per eth_getLogs), as an agent in a sidecar reads", async () => {
    const filter = new RpcFilter({
      rpcUrl: m.chain.url,
      maxAnswerBytes: 4 << 20,
      callGas: 10_000_000n,
      upstreamConcurrent: 4,
    });
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        void filter
          .handle(JSON.parse(Buffer.concat(chunks).toString()))
          .then((a) => res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(a)))
          .catch((e: unknown) => res.writeHead(500).end(String(e)));
      });
    });
    await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const viaGateway = await MarketClient.connect({ deployment: m.deployment, rpcUrl: url });
      clients.push(viaGateway);
      // What leasesOf did before (LeaseOpened from block 0 to the head): the gateway refuses it on this chain.
      const old = await viaGateway.market
        .queryFilter(viaGateway.market.filters.LeaseOpened!(null, null, root), 0)
        .catch((e: unknown) => e);
      expect(String((old as Error).message)).to.match(/the gateway carries at most 10000 blocks per call/);
      expect(await viaGateway.leasesOf(root)).to.deep.equal(await m.admin.leasesOf(root));
      const nowS = BigInt((await m.provider.getBlock("latest"))!.timestamp);
      expect(await appStatus(viaGateway, root, nowS)).to.deep.equal(await appStatus(m.admin, root, nowS));
    } finally {
      await new Promise<void>((ok) => server.close(() => ok()));
    }
  });

  it("refuses with a sentence naming the range when even the narrowest window is refused", async () => {
    const ranged = await throughProxy();
    const from = m.deployment.blockNumber;
    const err = await contractLogs(ranged.market, "LeaseOpened", {
      fromBlock: from,
      toBlock: from + 5_000,
      window: 4_000,
      floor: 2_000,
    }).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(ChainError);
    expect(isIconError(err, "LOG_RANGE_REFUSED")).to.equal(true);
    expect((err as Error).message).to.include(`blocks ${from}..${from + 1_999}`);
    // A bad window is refused before any call.
    const before = proxy.seen.length;
    const bad = await contractLogs(ranged.market, "LeaseOpened", { fromBlock: from, window: 0 }).catch((e) => e);
    expect(isIconError(bad, "BAD_LOG_WINDOW")).to.equal(true);
    expect(proxy.seen.length).to.equal(before);
  });

  it("records the block the registry and market were created in; an older file without it reads as 0", async () => {
    const b = m.deployment.blockNumber;
    const first = [m.deployment.registry, m.deployment.market];
    const codes = async (at: number) => Promise.all(first.map((a) => m.provider.getCode(a, at)));
    expect((await codes(b - 1)).every((c) => c === "0x")).to.equal(true);
    expect((await codes(b)).some((c) => c !== "0x")).to.equal(true);

    const file = path.join(m.dir, "old-deployment.json");
    const { blockNumber: _, ...old } = m.deployment;
    await writeFile(file, JSON.stringify(old));
    expect((await readDeployment(file)).blockNumber).to.equal(0);
    await writeFile(file, JSON.stringify({ ...old, blockNumber: -3 }));
    const err = await readDeployment(file).catch((e: unknown) => e);
    expect(isIconError(err, "BAD_DEPLOYMENT")).to.equal(true);
    expect((err as Error).message).to.include('field "blockNumber"');
  });

  it("no log query outside protocol/chain/logs.ts in the runtime folders", async () => {
    const offenders: string[] = [];
    const walk = async (dir: string): Promise<void> => {
      for (const e of await readdir(path.join(projectRoot, dir), { withFileTypes: true })) {
        const rel = path.join(dir, e.name);
        if (e.isDirectory()) {
          if (e.name !== "node_modules") await walk(rel);
        } else if (e.name.endsWith(".ts") && rel !== path.join("protocol", "chain", "logs.ts")) {
          const text = await readFile(path.join(projectRoot, rel), "utf8");
          text.split("\n").forEach((line, i) => {
            if (/\bqueryFilter\(|\bgetLogs\(/.test(line)) offenders.push(`${rel}:${i + 1}: ${line.trim()}`);
          });
        }
      }
    };
    for (const dir of ["protocol", "yard-node", "icon-agent", "scripts/cli", "scripts/lib"]) await walk(dir);
    expect(offenders).to.deep.equal([]);
  });
});
