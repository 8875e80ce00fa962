/**
 * Namespaces bound to applications on chain (issue 15, item 2), attacked end to end: embedded chain, three real
 * yards on real libp2p, real Docker containers, two tenants.
 *  - the victim's services are `victimapp.r<victim root>.*`; a second tenant deploying into that namespace is
 *    refused at Deploy with a sentence naming the namespace it owns (and so is a name in a third app's namespace
 *    that the victim's allow rule opens to);
 *  - yard C is an active yard (listed and staked) that lies: it announces the attacker's lease, the victim's lease
 *    that another yard hosts, and a lease that does not exist as instances of the victim's service, in a route
 *    push and in route answers. Yard A takes none of them, and the victim's round-robin keeps only its own
 *    instances;
 *  - a tunnel's source service (`from`) is taken only from an active yard and only for a source lease of that
 *    application which the opener hosts;
 *  - while A cannot read the chain, the routes it verified stay and a push keeps working; an instance it cannot
 *    verify is left out until the chain is back.
 */
import { expect } from "chai";
import {
  MarketClient,
  ROUTES_PROTOCOL,
  createIconNode,
  overlayRequest,
  type TunnelHeader,
} from "../../../protocol/index.ts";
import { createLogger } from "../../../protocol/log.ts";
import { TunnelManager } from "../../../yard-node/overlay/tunnel.ts";
import { LeaseOwners } from "../../../yard-node/overlay/owners.ts";
import { Wallet } from "ethers";
import { parseYardConfig } from "../../../yard-node/config.ts";
import { Yard } from "../../../yard-node/yard.ts";
import { FAST_LEASE, startTestYard } from "../../helpers/yard.ts";
import { FlakyRpcProxyFake } from "../../helpers/faults.ts";
import { BUSYBOX_IMAGE, WEB_IMAGE, useDockerYard, waitFor } from "../../helpers/docker.ts";
import { Tenant, USD, startMarket, yardConfig, type TestMarket } from "../../../scripts/lib/testbed.ts";
import { getOver, rawGet } from "../../helpers/net.ts";

const log = createLogger({ level: process.env.ICON_TEST_LOG ? "debug" : "error" });

const page = (tag: string): string[] => [
  "sh",
  "-c",
  `mkdir -p /tmp/w && echo inst-${tag} > /tmp/w/index.html && exec httpd -f -p 8080 -h /tmp/w`,
];
const tags = (text: string): string[] => [...text.matchAll(/inst-([a-z0-9-]+)/g)].map((m) => m[1]!);

const refusal = (p: Promise<unknown>): Promise<Error | undefined> =>
  p.then(
    () => undefined,
    (e: Error) => e,
  );

describe("namespaces are bound to applications on chain (three yards, two tenants, real containers)", function () {
  this.timeout(180_000);
  after(async () => {
    await victim?.stop();
    await attacker?.stop();
    await a?.stop();
    await b?.stop();
    await c?.stop();
    await proxy?.down();
    await m?.close();
  });
  const yards = useDockerYard("squat");
  let m: TestMarket;
  let proxy: FlakyRpcProxyFake;
  let a: Yard;
  let b: Yard;
  let c: Yard;
  let victim: Tenant;
  let attacker: Tenant;
  let web: string;
  let busybox: string;
  let WEB: string;
  let CLIENT: string;
  const ids = new Map<string, bigint>();
  const id = (tag: string): bigint => ids.get(tag)!;
  const addrOf = (y: Yard) => y.node.getMultiaddrs()[0]!;

  async function instance(t: Tenant, y: Yard, service: string, tag: string, allow?: string[]): Promise<bigint> {
    const l = await t.lease(
      addrOf(y),
      web,
      { slotSeconds: 180 },
      { command: page(tag), ports: [8080], service, ...(allow ? { allow } : {}) },
    );
    ids.set(tag, l.leaseId);
    await waitFor(`instance ${tag} to answer`, async () => tags(await rawGet(l.endpoint, 2000))[0] === tag, 30_000);
    return l.leaseId;
  }

  /** The tags of `n` round-robin connections to WEB from the victim's client container at A. */
  async function roundRobin(n: number): Promise<string[]> {
    const out: string[] = [];
    for (let i = 0; i < n; i++) {
      const d = await a.overlay.connect(WEB, "rr", 8080, {
        client: "127.0.0.1",
        from: CLIENT,
        fromInstance: id("client"),
      });
      out.push(tags(await getOver(d))[0] ?? "?");
    }
    return out;
  }

  const webIds = async (): Promise<bigint[]> =>
    (await a.overlay.instances(WEB)).map((i) => i.instanceId).sort((x, y) => (x < y ? -1 : 1));

  before(async () => {
    m = await startMarket();
    // A reads the chain through a proxy the last test takes down.
    proxy = new FlakyRpcProxyFake(m.chain.url);
    await proxy.up();
    const start = (key: number, yardId: string, overlay: Record<string, unknown>) =>
      startTestYard(
        m,
        key,
        yardId,
        { lease: FAST_LEASE, capacity: { cpuMillis: 4000, memoryMiB: 4096, pidsPerLease: 256 }, overlay },
        log,
      );
    const pid = process.pid % 20;
    b = await start(5, yards.make("squatb").yardId, { serviceCidr: `10.233.${120 + pid}.0/24` });
    c = await start(7, yards.make("squatc").yardId, { serviceCidr: `10.233.${140 + pid}.0/24` });
    // No provider on A's operator wallet: A connects to chain.rpcUrl (the proxy) itself.
    const operatorA = new Wallet(m.keys[1]!);
    await m.admin.mint(operatorA.address, USD(1000));
    const inputA = yardConfig(m, yards.get().yardId, {
      lease: FAST_LEASE,
      capacity: { cpuMillis: 4000, memoryMiB: 4096, pidsPerLease: 256 },
      overlay: { serviceCidr: `10.233.${160 + pid}.0/24`, peers: [addrOf(b).toString(), addrOf(c).toString()] },
    });
    inputA.chain = { ...inputA.chain, rpcUrl: proxy.url };
    a = await Yard.start({ config: parseYardConfig(inputA, `${m.dir}/a.json`), wallet: operatorA, log });
    victim = await Tenant.create(m, 2, 3, USD(200));
    attacker = await Tenant.create(m, 8, 9, USD(200));
    expect(victim.namespace).to.not.equal(attacker.namespace);
    WEB = victim.service("victimapp", "web");
    CLIENT = victim.service("victimapp", "client");
    const imageId = async (ref: string) => "0x" + (await yards.get().runtime.imageId(ref))!.slice(7);
    web = await imageId(WEB_IMAGE);
    busybox = await imageId(BUSYBOX_IMAGE);
    await Promise.all([
      instance(victim, a, WEB, "va"),
      instance(victim, b, WEB, "vb"),
      instance(attacker, c, attacker.service("evil", "web"), "xc"),
      (async () => {
        const l = await victim.lease(
          addrOf(a),
          busybox,
          { slotSeconds: 180 },
          { command: ["sleep", "600"], ports: [], service: CLIENT },
        );
        ids.set("client", l.leaseId);
      })(),
    ]);
  });

  it("refuses a second tenant's Deploy into the victim's namespace, naming the namespace it owns", async () => {
    const refused = await refusal(
      attacker.lease(addrOf(a), web, { slotSeconds: 60 }, { command: page("x"), service: WEB }),
    );
    expect(refused?.message).to.match(/deploy failed/);
    expect(refused?.message).to.include(`must be ${attacker.namespace}`);
    expect(refused?.message).to.include(`victimapp.${attacker.namespace}.web.prod`);
    // Every yard checks, and so for the namespace of a third app that a victim's allow rule opens to.
    const third = await refusal(
      attacker.lease(addrOf(b), web, { slotSeconds: 60 }, { command: page("y"), service: "friend.r999.api.prod" }),
    );
    expect(third?.message).to.include(`must be ${attacker.namespace}`);
    expect(a.metrics.get("icon_yard_deploys_refused_total", { reason: "namespace" })).to.equal(1);
    // Nothing of the victim's namespace runs for the attacker anywhere.
    for (const y of [a, b, c])
      for (const l of y.db.leases(["deployed"]))
        if (l.spec?.service?.split(".")[1] === victim.namespace) expect(l.offer.account).to.equal(victim.account);
  });

  it("a remote yard ignores a push or answer of instances whose lease is another app's, another yard's or none; the victim's round robin keeps only its own", async () => {
    expect(await webIds()).to.deep.equal([id("va"), id("vb")].sort((x, y) => (x < y ? -1 : 1)));
    const foreign0 = a.overlay.foreignRoutes;
    // C is an active yard (listed, staked): its word about its own instances counts, but only what the chain
    // binds to it. It pushes the attacker's lease, the victim's lease that B hosts, and a lease that does not exist.
    const me = c.node.peerId.toString();
    const addrs = c.node.getMultiaddrs().map(String).slice(0, 1);
    const lie = (instanceId: bigint) => ({ service: WEB, instanceId, yard: me, addrs, ports: [8080] });
    const ack = await overlayRequest(c.node, a.node.peerId, ROUTES_PROTOCOL, {
      type: "routePush",
      service: WEB,
      instances: [lie(id("xc")), lie(id("vb")), lie(999_999n)],
      version: { epochMs: BigInt(Date.now()), seq: 1n },
    });
    expect(ack.type).to.equal("routingAck");
    expect(await webIds()).to.deep.equal([id("va"), id("vb")].sort((x, y) => (x < y ? -1 : 1)));
    expect(a.overlay.foreignRoutes - foreign0).to.equal(3);
    // C's answers too: its database now claims the attacker's container serves the victim's service (a yard that
    // skipped the Deploy check); A asks again and takes nothing from it.
    const row = c.db.lease(id("xc"))!;
    c.db.update(row.id, { spec: { ...row.spec!, service: WEB } });
    c.overlay.localChanged(WEB);
    const all = await a.overlay.instances(WEB, { force: true });
    expect(all.filter((i) => i.yard === me)).to.deep.equal([]);
    expect(a.overlay.foreignRoutes - foreign0).to.be.at.least(4);
    const seen = await roundRobin(8);
    expect(seen.filter((t) => t === "va").length, seen.join()).to.equal(4);
    expect(seen.filter((t) => t === "vb").length, seen.join()).to.equal(4);
  });

  it("a tunnel's source service counts only from an active yard hosting a lease of that application", async () => {
    const header = (h: Partial<TunnelHeader>): TunnelHeader => ({
      service: WEB,
      instanceId: id("vb"),
      port: 8080,
      client: "127.0.0.1",
      ...h,
    });
    // C names the victim's client service with the attacker's own lease, then with the victim's lease at A.
    const viaC = await refusal(
      c.tunnels.open(b.node.peerId, [addrOf(b)], header({ from: CLIENT, fromInstance: id("xc") })),
    );
    expect(viaC?.message).to.match(/not vouched for by the opener: lease \d+ is paid by application/);
    expect(viaC?.message).to.include(`must be ${attacker.namespace}`);
    const borrowed = await refusal(
      c.tunnels.open(b.node.peerId, [addrOf(b)], header({ from: CLIENT, fromInstance: id("client") })),
    );
    expect(borrowed?.message).to.match(/hosted by provider 0x[0-9a-f]+, not by the yard that names it/);
    // A stranger (no registry listing) may not name a source service at all.
    const stranger = await createIconNode();
    const tunnels = new TunnelManager(stranger, { resolve: async () => ({ error: "serves no tunnels" }) });
    await tunnels.start();
    try {
      const s = await refusal(
        tunnels.open(b.node.peerId, [addrOf(b)], header({ from: CLIENT, fromInstance: id("client") })),
      );
      expect(s?.message).to.match(/taken from active yards only/);
    } finally {
      await tunnels.stop();
      await stranger.stop();
    }
    // A hosts the victim's client: its tunnel names it and gets through.
    const ok = await a.tunnels.open(b.node.peerId, [addrOf(b)], header({ from: CLIENT, fromInstance: id("client") }));
    expect(tags(await getOver(ok))).to.deep.equal(["vb"]);
  });

  it("while the chain cannot be read, verified routes stay and pushes apply; an unverifiable instance waits for the chain", async () => {
    expect(await webIds()).to.include(id("vb"));
    const unreadable0 = a.owners.unreadable;
    await proxy.down();
    try {
      // B gets a second instance (B reads the chain directly) and pushes its set to A, which cannot verify it.
      await instance(victim, b, WEB, "vb2");
      await waitFor("B's push to reach A", () => a.owners.unreadable > unreadable0, 15_000);
      const held = await a.overlay.instances(WEB);
      expect(held.map((i) => i.instanceId))
        .to.include(id("vb"))
        .and.to.include(id("va"));
      expect(held.map((i) => i.instanceId)).to.not.include(id("vb2"));
      const seen = await roundRobin(4);
      expect(new Set(seen)).to.deep.equal(new Set(["va", "vb"]));
    } finally {
      await proxy.up();
    }
    await waitFor(
      "A to take vb2 once the chain is readable",
      async () => (await a.overlay.instances(WEB, { force: true })).some((i) => i.instanceId === id("vb2")),
      20_000,
    );
  });

  it("LeaseOwners: one chain read per lease, bounded, never throws; an unknown lease is not cached for long", async () => {
    const client = await MarketClient.connect({ deployment: m.deployment, rpcUrl: proxy.url });
    const owners = new LeaseOwners(client, { maxEntries: 2, unknownTtlMs: 50 });
    const f = await owners.facts(id("va"));
    expect(f?.root).to.equal(victim.account);
    expect(f?.provider).to.equal(a.operator.toLowerCase());
    const reads = owners.reads;
    await owners.facts(id("va"));
    expect(owners.reads).to.equal(reads);
    expect(await owners.facts(999_999n)).to.equal(null);
    await owners.facts(id("vb"));
    await owners.facts(id("xc"));
    expect(owners.size).to.equal(2);
    await proxy.down();
    try {
      expect(await owners.facts(id("xc"))).to.deep.include({ root: attacker.account });
      expect(await owners.facts(id("va"))).to.equal(undefined); // evicted, and the chain cannot be read
      expect(owners.unreadable).to.equal(1);
    } finally {
      await proxy.up();
    }
    expect(await owners.facts(id("va"))).to.deep.include({ root: victim.account });
  });

  it("LeaseOwners: a yard announcing ever new made-up lease ids makes at most its read budget of chain reads", async () => {
    const client = await MarketClient.connect({ deployment: m.deployment, rpcUrl: m.chain.url });
    const owners = new LeaseOwners(client, { readBudget: { burst: 3, refillPerS: 0.001 } });
    const said: (string | null | undefined)[] = [];
    for (let i = 0; i < 10; i++) {
      const f = await owners.facts(1_000_000n + BigInt(i), { spender: "rogue" });
      said.push(f === null ? null : f?.provider);
    }
    // Three read (no such lease: null), seven "cannot tell now" (undefined: such instances are left out).
    expect(said).to.deep.equal([null, null, null, ...Array<undefined>(7).fill(undefined)]);
    expect(owners.reads).to.equal(3);
    expect(owners.throttled).to.equal(7);
    // Another yard's budget is its own; what is cached costs nobody anything.
    expect(await owners.facts(id("va"), { spender: "honest" })).to.deep.include({ root: victim.account });
    const reads = owners.reads;
    expect(await owners.facts(id("va"), { spender: "rogue" })).to.deep.include({ root: victim.account });
    expect(owners.reads).to.equal(reads);
  });
});
