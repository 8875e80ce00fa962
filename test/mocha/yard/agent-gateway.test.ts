/**
 * The agent gateway (yard-node/agent-gateway.ts), tested from inside containers: real chain, two in-process yards
 * on real Docker with the host firewall (nftables, root), real libp2p. A lease's agent part runs the gateway probe
 * (test/helpers/gateway-probe.ts, bundled into an image made from icon/agent:1 in `before`): a small server on the
 * agent's libp2p port, reached from the test through the yard's ingress at the lease's agent endpoint, that runs the
 * JavaScript the test posts — so each check is made by a sidecar, from its own address on the container network,
 * as an agent would make it. Lease A (tenant 1) and lease C (tenant 2) carry the probe at yard A; lease B (tenant 2)
 * is a service alone at yard A; yard B is the other yard an agent dials.
 */
import { expect } from "chai";
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { Wallet } from "ethers";
import { generateKeyPair } from "@libp2p/crypto/keys";
import { peerIdFromPrivateKey, peerIdFromString } from "@libp2p/peer-id";
import type { Multiaddr } from "@multiformats/multiaddr";
import {
  LeaseSecret,
  STATUS_GRANT_TYPES,
  statusGrantQuery,
  type AgentPart,
  type IconStatusAnswer,
} from "../../../protocol/index.ts";
import { AGENT_INGRESS_KEY } from "../../../yard-node/agent-gateway.ts";
import type { Yard } from "../../../yard-node/yard.ts";
import { DockerRuntime } from "../../../yard-node/docker.ts";
import { WEB_IMAGE, execIn, waitFor } from "../../helpers/docker.ts";
import { FAST_LEASE, useTwoYards } from "../../helpers/yard.ts";
import { Tenant, USD, clientFor, type TestMarket } from "../../../scripts/lib/testbed.ts";

const run = promisify(execFile);
const PROBE_IMAGE = "icon/gw-probe:test";
const root = path.resolve(import.meta.dirname, "../../..");

/** Builds the probe image: icon/agent:1 with the bundled probe as its entry (offline: the base is local). */
async function buildProbeImage(): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), "icon-gw-probe-"));
  try {
    await run(
      path.join(root, "node_modules/.bin/esbuild"),
      [
        "test/helpers/gateway-probe.ts",
        "--bundle",
        "--platform=node",
        "--format=esm",
        "--target=node24",
        "--log-level=warning",
        `--outfile=${dir}/probe.js`,
        '--banner:js=import { createRequire as iconCreateRequire } from "node:module"; const require = iconCreateRequire(import.meta.url);',
      ],
      { cwd: root },
    );
    await writeFile(
      path.join(dir, "Dockerfile"),
      'FROM icon/agent:1\nCOPY probe.js /app/probe.js\nENTRYPOINT ["/usr/local/bin/node", "/app/probe.js"]\nCMD []\n',
    );
    const socket = process.env.ICON_DOCKER_SOCKET ?? DockerRuntime.defaultSocket();
    await run("/usr/bin/docker", ["-H", `unix://${socket}`, "build", "-q", "-t", PROBE_IMAGE, dir], {
      env: { ...process.env, DOCKER_BUILDKIT: "0" },
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** What the probe answers: the program's value, or its error. */
type ProbeAnswer<T> = { ok: true; value: T } | { ok: false; error: string };

/** Runs `program` (the body of an async function of `lib`) in the sidecar whose agent endpoint is `port`. */
async function inSidecar<T = Record<string, unknown>>(port: number, program: string): Promise<T> {
  const res = await fetch(`http://127.0.0.1:${port}/`, { method: "POST", body: program });
  const a = (await res.json()) as ProbeAnswer<T>;
  if (!a.ok) throw new Error(`the probe's program failed: ${a.error}`);
  return a.value;
}

/** Prelude of probe programs: `g` the gateway, `get`/`post` answering { status, body }. */
const PRELUDE = `
  const g = lib.gateway;
  const answer = async (r) => { const t = await r.text(); let body; try { body = JSON.parse(t); } catch { body = t; } return { status: r.status, body }; };
  const get = async (p) => answer(await fetch(g + p));
  const post = async (p, body) => answer(await fetch(g + p, { method: "POST", headers: { "content-type": "application/json" }, body: typeof body === "string" ? body : JSON.stringify(body) }));
  const call = (method, params = [], id = 1) => ({ jsonrpc: "2.0", id, method, params });
  /** Sends multistream-select's header to host:port; what came back within 3 s. */
  const greet = (host, port) => new Promise((resolve) => {
    const s = lib.net.connect({ host, port });
    let got = "";
    const done = () => { s.destroy(); resolve(got); };
    s.on("data", (d) => { got += d.toString("latin1"); if (got.includes("/multistream/1.0.0")) done(); });
    s.on("error", done);
    s.on("close", done);
    s.on("connect", () => s.write(Buffer.concat([Buffer.from([19]), Buffer.from("/multistream/1.0.0\\n")])));
    setTimeout(done, 3000);
  });
`;

describe("agent gateway (what a sidecar can reach, tested from inside)", function () {
  this.timeout(240_000);
  let tenant1: Tenant | undefined;
  let tenant2: Tenant | undefined;
  const two = useTwoYards("gw", {
    overrides: { lease: FAST_LEASE },
    stopFirst: () => [tenant1, tenant2],
  });
  let m: TestMarket;
  let a: Yard;
  let b: Yard;
  let gw: string;
  let probe: string;
  let leaseA: bigint;
  let leaseB: bigint;
  let leaseC: bigint;
  /** Lease C's renewal, which takes its sidecar over. */
  let leaseR: bigint;
  let webId: string;
  /** Agent endpoints (ingress ports on 127.0.0.1) of leases A and C. */
  let portA: number;
  let portC: number;
  /** The service container of lease B. */
  let serviceB: string;

  const agentPart = (): AgentPart => ({
    imageRef: PROBE_IMAGE,
    imageDigest: probe,
    command: [],
    cpuMillis: 250,
    memoryMiB: 128,
    secret: LeaseSecret.of(Buffer.from("probe")),
  });
  const agentPort = (y: Yard, id: bigint): number => y.db.lease(id)!.ingress[AGENT_INGRESS_KEY]!;
  /** Waits until the probe behind `port` answers. */
  const probeUp = (port: number) =>
    waitFor("the probe to answer", () => inSidecar(port, "return 1").then(() => true), 60_000);
  const counter = (y: Yard, name: string, labels: Record<string, string> = {}) =>
    Number((y.metrics as unknown as { get(n: string, l: object): unknown }).get(name, labels) ?? 0);

  before(async () => {
    ({ m, a, b } = two.get());
    await buildProbeImage();
    probe = await two.imageId(PROBE_IMAGE);
    const web = (webId = await two.imageId(WEB_IMAGE));
    gw = new URL(a.gateway.url!).hostname;
    tenant1 = await Tenant.create(m, 2, 3, USD(100));
    tenant2 = await Tenant.create(m, 4, 6, USD(100));
    const addr = a.node.getMultiaddrs()[0]!;
    const shape = { slotSeconds: 600, cpuMillis: 500, memoryMiB: 192 };
    leaseA = (await tenant1.lease(addr, web, shape, { agent: agentPart() })).leaseId;
    leaseB = (await tenant2.lease(addr, web, { slotSeconds: 600 })).leaseId;
    leaseC = (await tenant2.lease(addr, web, shape, { agent: agentPart() })).leaseId;
    portA = agentPort(a, leaseA);
    portC = agentPort(a, leaseC);
    await Promise.all([probeUp(portA), probeUp(portC)]);
    serviceB = a.db.lease(leaseB)!.containerId!;
  });

  it("serves its own sidecar: /self names its lease, ICON_GATEWAY is the only variable the yard sets; reads pass, writes, dev-chain controls, a too-wide eth_getLogs and an oversize batch are refused", async () => {
    const stranger = Wallet.createRandom().address;
    const r = await inSidecar<Record<string, { status: number; body: unknown }> & { self: unknown }>(
      portA,
      `${PRELUDE}
      return {
        self: lib.parseGatewaySelf((await get("/self")).body),
        block: await post("/rpc", call("eth_blockNumber")),
        decimals: await post("/rpc", call("eth_call", [{ to: "${m.deployment.token}", data: "0x313ce567" }, "latest"])),
        send: await post("/rpc", call("eth_sendRawTransaction", ["0x00"])),
        setBalance: await post("/rpc", call("hardhat_setBalance", ["${stranger}", "0x100"])),
        mine: await post("/rpc", call("evm_mine")),
        wideLogs: await post("/rpc", call("eth_getLogs", [{ fromBlock: "earliest", toBlock: "0x4e20" }])),
        logs: await post("/rpc", call("eth_getLogs", [{ fromBlock: "0x0", toBlock: "latest", address: "${m.deployment.market}" }])),
        batch: await post("/rpc", [call("eth_chainId", [], "x"), call("eth_sendTransaction", [{}], 7), call("eth_chainId", [], 7)]),
        oversize: await post("/rpc", Array.from({ length: 17 }, (_, i) => call("eth_chainId", [], i))),
        huge: await post("/rpc", "[" + " ".repeat(300 * 1024) + "]"),
        // Initcode that returns the gas it was given: without a cap the node gives its block gas limit.
        gasNone: await post("/rpc", call("eth_call", [{ data: "0x5a60005260206000f3" }, "latest"])),
        gasHuge: await post("/rpc", call("eth_call", [{ data: "0x5a60005260206000f3", gas: "0x3b9aca00" }, "latest"])),
        stateOverride: await post("/rpc", call("eth_call", [{ to: "${m.deployment.token}", data: "0x313ce567" }, "latest", { "${m.deployment.token}": { code: "0x00" } }])),
        blockOverride: await post("/rpc", call("eth_estimateGas", [{ data: "0x00" }, "latest", {}, { number: "0x1" }])),
        unknown: await get("/nothing"),
        alto: await get("/alto/networkmap"),
      };`,
    );
    const self = r.self as { leaseId: string; yard: { peerId: string }; agentAddrs: string[]; dns: string | null };
    expect(self.leaseId).to.equal(leaseA.toString());
    expect(self.yard.peerId).to.equal(a.node.peerId.toString());
    expect(self.agentAddrs).to.deep.equal([`/ip4/127.0.0.1/tcp/${portA}`]);
    expect(self.dns).to.equal(`${gw}:53`);
    // Reads are carried, with the chain's own answers.
    const head = await m.provider.getBlockNumber();
    expect(Number((r.block!.body as { result: string }).result)).to.be.within(head - 50, head + 50);
    const decimals = await m.provider.call({ to: m.deployment.token, data: "0x313ce567" });
    expect(r.decimals!.body).to.deep.include({ result: decimals, id: 1 });
    // Writes and dev-chain controls: -32601 with the sentence, and no effect.
    for (const [k, method] of [
      ["send", "eth_sendRawTransaction"],
      ["setBalance", "hardhat_setBalance"],
      ["mine", "evm_mine"],
    ] as const) {
      const e = (r[k]!.body as { error: { code: number; message: string } }).error;
      expect(e.code, method).to.equal(-32601);
      expect(e.message).to.match(
        new RegExp(`^${method} is not carried by the yard's agent gateway: it allows reads only`),
      );
    }
    expect(await m.provider.getBalance(stranger)).to.equal(0n);
    expect((r.wideLogs!.body as { error: { message: string } }).error.message).to.match(
      /eth_getLogs over 20001 blocks .* at most 10000 blocks per call/,
    );
    expect((r.logs!.body as { result: unknown[] }).result).to.be.an("array").that.is.not.empty;
    // A batch: each call answered under its own id, the refused one refused alone.
    const batch = r.batch!.body as { id: unknown; result?: string; error?: { code: number } }[];
    expect(batch.map((x) => x.id)).to.deep.equal(["x", 7, 7]);
    expect(batch[0]!.result).to.equal(batch[2]!.result).and.to.match(/^0x/);
    expect(batch[1]!.error!.code).to.equal(-32601);
    // eth_call's gas is capped (agentGateway.limits.callGas, 10M), named or not; overrides are refused.
    for (const k of ["gasNone", "gasHuge"]) {
      const left = BigInt((r[k]!.body as { result: string }).result);
      expect(left, k).to.be.lessThanOrEqual(10_000_000n).and.greaterThan(9_000_000n);
    }
    for (const k of ["stateOverride", "blockOverride"])
      expect((r[k]!.body as { error: { code: number; message: string } }).error, k).to.deep.include({ code: -32602 });
    expect((r.stateOverride!.body as { error: { message: string } }).error.message).to.match(
      /overrides are not carried/,
    );
    expect(r.oversize).to.deep.include({ status: 400 });
    expect((r.oversize!.body as { error: string }).error).to.match(/a batch of 17 calls; the gateway takes 1\.\.16/);
    expect(r.huge!.status).to.equal(413);
    expect(r.unknown!.status).to.equal(404);
    expect((r.alto!.body as { error: string }).error).to.match(/names no ALTO server/);
    // The sidecar's environment: the image's, plus ICON_GATEWAY and nothing else.
    const docker = two.get().engine.docker;
    const agentId = a.db.lease(leaseA)!.agentContainerId!;
    const env = (await docker.getContainer(agentId).inspect()).Config.Env;
    const imageEnv = (await docker.getImage(PROBE_IMAGE).inspect()).Config.Env ?? [];
    expect(env.filter((e) => !imageEnv.includes(e))).to.deep.equal([`ICON_GATEWAY=http://${gw}:8547`]);
  });

  it("dials another yard through a forward that noise proves; a non-libp2p address or another peer id is refused and opens nothing; the forward answers its sidecar only", async () => {
    const echo = net.createServer((s) => s.pipe(s).on("error", () => {}));
    await new Promise<void>((resolve) => echo.listen(0, "127.0.0.1", resolve));
    try {
      const echoPort = (echo.address() as net.AddressInfo).port;
      const peerB = b.node.peerId.toString();
      const addrB = b.node
        .getMultiaddrs()
        .map((x: Multiaddr) => x.toString())
        .find((x) => x.includes("/tcp/"))!
        .replace(/\/p2p\/.*$/, "");
      const other = peerIdFromPrivateKey(await generateKeyPair("Ed25519")).toString();
      const r = await inSidecar<Record<string, unknown>>(
        portA,
        `${PRELUDE}
        const ok = await post("/dial", { peer: "${peerB}", addrs: ["${addrB}"] });
        const again = await post("/dial", { peer: "${peerB}", addrs: ["${addrB}"] });
        const { addr } = lib.parseGatewayDial(ok.body);
        const [, , host, , port] = addr.split("/");
        const node = await lib.createIconNode({ listen: [] });
        let remote;
        try {
          const conn = await node.dial(lib.multiaddr(addr + "/p2p/${peerB}"));
          remote = conn.remotePeer.toString();
        } finally {
          await node.stop();
        }
        return {
          ok, again, host, port: Number(port), remote,
          greeting: await greet(host, Number(port)),
          echo: await post("/dial", { peer: "${peerB}", addrs: ["/ip4/127.0.0.1/tcp/${echoPort}"] }),
          wrong: await post("/dial", { peer: "${other}", addrs: ["${addrB}"] }),
          foreign: await post("/dial", { peer: "${other}", addrs: ["${addrB}/p2p/${peerB}"] }),
          bad: await post("/dial", { peer: "x", addrs: [] }),
          metadata: await post("/dial", { peer: "${peerB}", addrs: ["/ip4/169.254.169.254/tcp/80"] }),
          named: await post("/dial", { peer: "${peerB}", addrs: ["/dns4/localhost/tcp/${parseInt(addrB.split("/tcp/")[1]!, 10)}"] }),
          direct: await greet("127.0.0.1", ${parseInt(addrB.split("/tcp/")[1]!, 10)}),
        };`,
      );
      expect(r.remote, "a libp2p connection through the forward reaches yard B").to.equal(peerB);
      expect((r.again as { body: unknown }).body, "the same forward is reused").to.deep.equal(
        (r.ok as { body: unknown }).body,
      );
      expect(r.host).to.equal(gw);
      expect(r.greeting).to.include("/multistream/1.0.0");
      expect(r.direct, "yard B's own address is not reachable from the sidecar").to.equal("");
      expect(r.echo).to.deep.include({ status: 502 });
      // Whatever failed, one sentence: no error text tells a closed port from another service.
      expect((r.echo as { body: { error: string } }).body.error).to.equal(
        "the peer could not be reached as itself at any of the given addresses",
      );
      expect(r.wrong).to.deep.include({ status: 502 });
      expect((r.wrong as { body: unknown }).body).to.deep.equal((r.echo as { body: unknown }).body);
      expect(r.metadata).to.deep.include({ status: 400 });
      expect((r.metadata as { body: { error: string } }).body.error).to.match(/does not dial a link-local address/);
      expect(r.named).to.deep.include({ status: 400 });
      expect((r.named as { body: { error: string } }).body.error).to.match(/no dns names/);
      expect(r.foreign).to.deep.include({ status: 400 });
      expect(r.bad).to.deep.include({ status: 400 });
      expect(a.gateway.forwardPorts(leaseA), "only the proven forward is open").to.deep.equal([r.port]);
      // The forward's port is let through the host firewall, and refuses another lease's container.
      const { stdout } = await run("nft", ["list", "set", "inet", `icon-yard-${a.config.yardId}`, "allowed"]);
      expect(stdout).to.include(`${gw} . tcp . ${r.port as number}`);
      const refusedBefore = counter(a, "icon_yard_gateway_refused_sources_total");
      const docker = two.get().engine.docker;
      const fromService = await execIn(
        docker,
        serviceB,
        `printf '\\023/multistream/1.0.0\\n' | nc -w 3 ${gw} ${r.port as number}; echo; echo done`,
      );
      expect(fromService.out).to.include("done");
      expect(fromService.out).to.not.include("multistream");
      await waitFor("the refusal to be counted", () =>
        counter(a, "icon_yard_gateway_refused_sources_total") > refusedBefore ? true : undefined,
      );
    } finally {
      echo.close();
    }
  });

  it("gives a service container nothing; lease A's sidecar cannot read lease B's telemetry with A's key, its own it can", async () => {
    const docker = two.get().engine.docker;
    const refusedBefore = counter(a, "icon_yard_gateway_refused_sources_total");
    // (busybox's wget needs more than this image has: a request by hand)
    const fromService = await execIn(
      docker,
      serviceB,
      `printf 'GET /self HTTP/1.1\\r\\nHost: gw\\r\\n\\r\\n' | nc -w 3 ${gw} 8547; echo "done"`,
    );
    expect(fromService.out).to.include("done");
    expect(fromService.out).to.not.include("HTTP/1.1");
    await waitFor("the refusal to be counted", () =>
      counter(a, "icon_yard_gateway_refused_sources_total") > refusedBefore ? true : undefined,
    );
    const domain = tenant1!.owner.domain();
    const r = await inSidecar<{ own: unknown; other: string }>(
      portA,
      `${PRELUDE}
      const self = lib.parseGatewaySelf((await get("/self")).body);
      const { addr } = lib.parseGatewayDial((await post("/dial", { peer: self.yard.peerId, addrs: self.yard.addrs })).body);
      const yard = lib.multiaddr(addr + "/p2p/" + self.yard.peerId);
      const key = new lib.Wallet("${m.keys[3]}");
      const domain = ${JSON.stringify({ ...domain, chainId: String(domain.chainId) })};
      const node = await lib.createIconNode({ listen: [] });
      try {
        const mine = await lib.signLeaseAccess(key, domain, ${leaseA}n, node.peerId);
        const own = await lib.readTelemetry(node, yard, { access: mine });
        const theirs = await lib.signLeaseAccess(key, domain, ${leaseB}n, node.peerId);
        let other = "read";
        try { await lib.readTelemetry(node, yard, { access: theirs }); } catch (e) { other = String(e.message); }
        return { own: own.flows, other };
      } finally {
        await node.stop();
      }`,
    );
    expect(r.own).to.be.an("array");
    expect(r.other).to.match(new RegExp(`does not hold lease ${leaseB}`));
  });

  it("bounds a flood from one sidecar (429s, counted) while another sidecar is still served", async () => {
    const limitedBefore = counter(a, "icon_yard_gateway_requests_total", { outcome: "limited" });
    const flood = inSidecar<{ ok: number; limited: number; failed: number; ms: number }>(
      portC,
      `${PRELUDE}
      const t0 = Date.now();
      const n = { ok: 0, limited: 0, failed: 0 };
      const worker = async () => {
        while (Date.now() - t0 < 3000) {
          try {
            const r = await fetch(g + "/self");
            await r.arrayBuffer();
            if (r.status === 200) n.ok++; else if (r.status === 429) n.limited++; else n.failed++;
          } catch { n.failed++; }
        }
      };
      await Promise.all(Array.from({ length: 12 }, worker));
      return { ...n, ms: Date.now() - t0 };`,
    );
    // Meanwhile lease A's sidecar asks at an agent's pace (10 per second).
    const served = inSidecar<{ statuses: number[] }>(
      portA,
      `${PRELUDE}
      const statuses = [];
      for (let i = 0; i < 20; i++) {
        const t = Date.now();
        statuses.push((await get("/self")).status);
        await new Promise((r) => setTimeout(r, Math.max(0, 100 - (Date.now() - t))));
      }
      return { statuses };`,
    );
    const [f, s] = await Promise.all([flood, served]);
    expect(
      s.statuses.every((x) => x === 200),
      `lease A's statuses: ${s.statuses.join(",")}`,
    ).to.equal(true);
    expect(f.limited).to.be.greaterThan(0);
    // The bucket: 40 at once, then 20 per second.
    expect(f.ok).to.be.at.most(40 + Math.ceil((f.ms / 1000) * 20) + 5);
    expect(counter(a, "icon_yard_gateway_requests_total", { outcome: "limited" })).to.be.at.least(
      limitedBefore + f.limited,
    );
  });

  it("keeps a sidecar's status report for its owner only: oversize 413, a flood past the burst 429, the latest served to the owner's grant and back to its own sidecar only", async () => {
    const pushed = await inSidecar<{ big: number; statuses: number[]; ms: number }>(
      portA,
      `${PRELUDE}
      const report = (v) => ({ name: "a", account: "${tenant1!.account}", instance: 1, policyVersion: v, atMs: Date.now(), subnets: [{ subnet: "198.18.4.0/24", ratePerS: 1, latencyMs: 5 }], decisions: [{ atMs: 1, text: "migrate to edge-b", u: 0.4, uBest: 0.7, latency: [{ subnet: "198.18.4.0/24", beforeMs: 31.5, afterMs: null }] }] });
      const big = (await post("/status", { ...report(0), name: "x".repeat(20000) })).status;
      const statuses = [];
      const t0 = Date.now();
      for (let v = 1; v <= 10; v++) statuses.push((await post("/status", report(v))).status);
      return { big, statuses, ms: Date.now() - t0 };`,
    );
    expect(pushed.big).to.equal(413);
    // A bucket of 1 per second, burst 5: the first 5 kept, then one more per second the pushes took (measured in the
    // sidecar, so a slow machine refilling the bucket mid-flood is no failure), the rest 429.
    const why = `${pushed.statuses.join(",")} in ${pushed.ms} ms`;
    const kept = pushed.statuses.filter((x) => x === 200).length;
    expect(pushed.statuses.slice(0, 5), why).to.deep.equal([200, 200, 200, 200, 200]);
    expect(
      pushed.statuses.every((x) => x === 200 || x === 429),
      why,
    ).to.equal(true);
    expect(kept, why).to.be.at.most(5 + pushed.ms / 1000 + 1);
    // The latest accepted push is the one served.
    const latest = pushed.statuses.lastIndexOf(200) + 1;
    const owner = new Wallet(m.keys[2]!);
    const grant = {
      app: tenant1!.account,
      yard: a.operator,
      reader: owner.address,
      expiry: BigInt(Math.floor(Date.now() / 1000) + 300),
    };
    const sig = await owner.signTypedData(a.chain.domain(), STATUS_GRANT_TYPES, grant);
    const res = await fetch(`${a.httpUrl}/icons?${statusGrantQuery(grant, sig)}`);
    const body = (await res.json()) as IconStatusAnswer;
    expect(body.icons.map((i) => [i.leaseId, i.report.policyVersion])).to.deep.equal([[leaseA.toString(), latest]]);
    // Lease C's holder (the other tenant) gets nothing of lease A.
    const other = new Wallet(m.keys[4]!);
    const g2 = { ...grant, reader: other.address };
    const r2 = await fetch(
      `${a.httpUrl}/icons?${statusGrantQuery(g2, await other.signTypedData(a.chain.domain(), STATUS_GRANT_TYPES, g2))}`,
    );
    expect(r2.status).to.equal(403);
    // GET /status at the gateway: lease A's sidecar is handed its own latest report back (what a restarted agent,
    // its state directory a fresh tmpfs, takes its decisions from); lease C's sidecar gets none, not A's.
    const back = await inSidecar<{
      a: { status: number; body: { report: { policyVersion: number; decisions: unknown[] } } };
    }>(portA, `${PRELUDE} return { a: await get("/status") };`);
    expect(back.a.status).to.equal(200);
    expect(back.a.body.report.policyVersion).to.equal(latest);
    expect(back.a.body.report.decisions).to.deep.equal([
      {
        atMs: 1,
        text: "migrate to edge-b",
        u: 0.4,
        uBest: 0.7,
        latency: [{ subnet: "198.18.4.0/24", beforeMs: 31.5, afterMs: null }],
      },
    ]);
    const none = await inSidecar<{ status: number; body: unknown }>(portC, `${PRELUDE} return await get("/status");`);
    expect(none).to.deep.equal({ status: 200, body: { report: null } });
  });

  it("bounds /dial: two under way per lease (a third is refused at once), each address proven within 3 s", async () => {
    // A listener that accepts and never answers: the yard's noise handshake waits on it until its timeout.
    const silent = net.createServer((s) => s.on("error", () => {}));
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    try {
      const port = (silent.address() as net.AddressInfo).port;
      const peer = peerIdFromPrivateKey(await generateKeyPair("Ed25519")).toString();
      const r = await inSidecar<{ statuses: number[]; ms: number }>(
        portA,
        `${PRELUDE}
        const t0 = Date.now();
        const all = await Promise.all(Array.from({ length: 3 }, () => post("/dial", { peer: "${peer}", addrs: ["/ip4/127.0.0.1/tcp/${port}"] })));
        return { statuses: all.map((a) => a.status).sort(), ms: Date.now() - t0 };`,
      );
      expect(r.statuses).to.deep.equal([429, 502, 502]);
      expect(r.ms, "the proof's timeout").to.be.below(9_000);
      // libp2p records the failed dial in the peer store after the dial gave up: the yard drops that entry too.
      await waitFor(
        "the made-up peer to be gone from the yard's peer store",
        async () => ((await a.node.peerStore.has(peerIdFromString(peer))) ? undefined : true),
        5_000,
      );
    } finally {
      silent.close();
    }
  });

  it("charges a batch one token per call: four batches of 16 at once exceed the burst of 40", async () => {
    const r = await inSidecar<{ statuses: number[]; errors: string[] }>(
      portA,
      `${PRELUDE}
      const batch = Array.from({ length: 16 }, (_, i) => call("eth_chainId", [], i));
      const all = await Promise.all(Array.from({ length: 4 }, () => post("/rpc", batch)));
      return { statuses: all.map((a) => a.status), errors: all.filter((a) => a.status !== 200).map((a) => a.body.error) };`,
    );
    expect(r.statuses.filter((x) => x === 200).length, r.statuses.join(",")).to.be.within(1, 3);
    expect(r.statuses.filter((x) => x === 429).length).to.be.at.least(1);
    expect(r.errors[0]).to.match(/a batch of 16 calls is 16 requests/);
  });

  it("a renewal that carries the sidecar over (not the service) keeps its agent endpoint, its libp2p connection through a forward and the forward", async () => {
    const before = await inSidecar<{ leaseId: string; fwd: string }>(
      portC,
      `${PRELUDE}
      const self = lib.parseGatewaySelf((await get("/self")).body);
      const { addr } = lib.parseGatewayDial((await post("/dial", { peer: self.yard.peerId, addrs: self.yard.addrs })).body);
      const node = await lib.createIconNode({ listen: [] });
      const conn = await node.dial(lib.multiaddr(addr + "/p2p/" + self.yard.peerId));
      globalThis.kept = { node, conn };
      return { leaseId: self.leaseId.toString(), fwd: addr };`,
    );
    expect(before.leaseId).to.equal(leaseC.toString());
    const fwdPort = Number(before.fwd.split("/")[4]);
    expect(a.gateway.forwardPorts(leaseC)).to.include(fwdPort);
    // Another service port: the service stays with lease C, the sidecar goes to the renewal.
    const shape = { slotSeconds: 600, cpuMillis: 500, memoryMiB: 192, renewsLeaseId: leaseC };
    leaseR = (await tenant2!.lease(a.node.getMultiaddrs()[0]!, webId, shape, { agent: agentPart(), ports: [8081] }))
      .leaseId;
    expect(a.db.lease(leaseR)!.agentContainerId, "the sidecar was carried over").to.be.a("string");
    expect(agentPort(a, leaseR), "the agent endpoint keeps its port").to.equal(portC);
    expect(a.gateway.forwardPorts(leaseR)).to.include(fwdPort);
    expect(a.gateway.forwardPorts(leaseC)).to.deep.equal([]);
    const after = await inSidecar<{ leaseId: string; status: string; ping: boolean }>(
      portC,
      `${PRELUDE}
      const self = lib.parseGatewaySelf((await get("/self")).body);
      const { node, conn } = globalThis.kept;
      let ping = false;
      try { await node.services.ping.ping(conn.remotePeer); ping = true; } catch {}
      const status = conn.status;
      await node.stop();
      return { leaseId: self.leaseId.toString(), status, ping };`,
    );
    expect(after).to.deep.equal({ leaseId: leaseR.toString(), status: "open", ping: true });
  });

  it("closes everything of a lease at its end: forwards, their firewall elements, the agent endpoint", async () => {
    const ports = a.gateway.forwardPorts(leaseA);
    expect(ports).to.not.be.empty;
    const table = `icon-yard-${a.config.yardId}`;
    await (await clientFor(m, 3)).terminate(leaseA);
    await waitFor(
      "lease A to end at the yard",
      () => (a.db.lease(leaseA)!.status !== "deployed" ? true : undefined),
      30_000,
    );
    await waitFor("its forwards to close", () => (a.gateway.forwardPorts(leaseA).length === 0 ? true : undefined));
    const { stdout } = await run("nft", ["list", "set", "inet", table, "allowed"]);
    for (const p of ports) expect(stdout).to.not.include(`${gw} . tcp . ${p} `);
    expect(a.firewall!.allowed().filter((x) => ports.includes(x.port))).to.deep.equal([]);
    for (const p of ports) {
      const refused = await new Promise<boolean>((resolve) => {
        const s = net.connect({ host: gw, port: p });
        s.on("connect", () => (s.destroy(), resolve(false)));
        s.on("error", () => resolve(true));
      });
      expect(refused, `forward port ${p} is closed`).to.equal(true);
    }
    const endpoint = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host: "127.0.0.1", port: portA });
      s.on("connect", () => (s.destroy(), resolve(false)));
      s.on("error", () => resolve(true));
    });
    expect(endpoint, "the agent endpoint is closed").to.equal(true);
    // Lease C's sidecar is still served.
    const r = await inSidecar<{ status: number }>(portC, `${PRELUDE} return await get("/self");`);
    expect(r.status).to.equal(200);
  });

  it("serves a sidecar no more once the yard let it go, while its container still runs (the stop window)", async () => {
    expect((await inSidecar<{ status: number }>(portC, `${PRELUDE} return await get("/self");`)).status).to.equal(200);
    // The hook the lease lifecycle calls before it stops the container: the container is still up after it.
    await a.gateway.leaseEnded(leaseR);
    const r = await inSidecar<{ self: string; dial: string }>(
      portC,
      `${PRELUDE}
      const tryIt = async (f) => { try { return String((await f()).status); } catch { return "closed"; } };
      return {
        self: await tryIt(() => get("/self")),
        dial: await tryIt(() => post("/dial", { peer: "${b.node.peerId.toString()}", addrs: ["${b.node
          .getMultiaddrs()[0]!
          .toString()
          .replace(/\/p2p\/.*$/, "")}"] })),
      };`,
    );
    expect(r).to.deep.equal({ self: "closed", dial: "closed" });
    expect(a.gateway.forwardPorts(leaseR)).to.deep.equal([]);
  });
});
