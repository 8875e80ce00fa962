/**
 * A whole market on one machine, for tests, benchmarks and the demo: an embedded chain served over JSON-RPC (so a yard in another process can
 * reach it too), the contracts deployed, tokens minted, yard configs, and a tenant that negotiates, deploys and
 * terminates leases the way an ICON does.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { JsonRpcProvider, Wallet } from "ethers";
import type { Libp2p, PeerId } from "@libp2p/interface";
import type { Multiaddr } from "@multiformats/multiaddr";
import {
  ACCEPTANCE_TYPES,
  LeaseRejectedError,
  LeaseSession,
  RejectCode,
  MarketClient,
  rpcProvider,
  appNamespace,
  appServiceName,
  createIconNode,
  writeDeployment,
  type AgentPart,
  type Deployment,
  type Offer,
  type Policy,
  type Rfq,
  type RfqProof,
  signRfqProof,
} from "../../protocol/index.ts";
import { deployMarket, devKeys, projectRoot, startDevChain, type DevChain } from "./hardhat.ts";
import { type YardConfigInput, DockerRuntime, HostFirewall } from "../../yard-node/index.ts";

/** `n` tokens of the dev TestToken (6 decimals: contracts/TestToken.sol) in units; the testbed always deploys it. */
export const USD = (n: number): bigint => BigInt(Math.round(n * 1e6));
/** The app policy the testbed's tenants and the tests' budget accounts use: balanced weight, 10 % thresholds, no price cap. */
export const TEST_POLICY: Policy = {
  weightBps: 5000,
  migrateThresholdBps: 1000,
  replicateThresholdBps: 1000,
  terminateThresholdBps: 1000,
  maxPricePerSecond: 0n,
  maxRelayFee: 50_000n,
  relayAllowancePerDay: 5_000_000n,
};

export interface TestMarket {
  chain: DevChain;
  deployment: Deployment;
  deploymentFile: string;
  dir: string;
  keys: string[];
  admin: MarketClient;
  provider: JsonRpcProvider;
  close(): Promise<void>;
}

/** Chain + contracts + a tmp dir; key 0 deploys and mints. */
export async function startMarket(): Promise<TestMarket> {
  const chain = await startDevChain("127.0.0.1", 0);
  const keys = devKeys(20);
  const deployment = await deployMarket(chain.url, keys[0]!);
  const dir = await mkdtemp(path.join(tmpdir(), "icon-yard-"));
  const deploymentFile = path.join(dir, "deployment.json");
  await writeDeployment(deploymentFile, deployment);
  // No request cache: two senders with one key (a yard and its restart, a test and a yard) must each read the
  // pending nonce fresh, not a cached answer of the other's query.
  // rpcProvider: behind the public-like proxy (ICON_RPC_PROXY=1, hardhat.ts) the tests' own calls ride out its 429s too.
  const provider = rpcProvider(chain.url, { pollingInterval: 100, cacheTimeout: -1 });
  const admin = await MarketClient.connect({ deployment, provider, signer: new Wallet(keys[0]!, provider) });
  return {
    chain,
    deployment,
    deploymentFile,
    dir,
    keys,
    admin,
    provider,
    close: async () => {
      provider.destroy();
      await chain.close();
    },
  };
}

/** A client for key `i`, with `mint` tokens minted to it first. */
export async function clientFor(m: TestMarket, i: number, mint = 0n): Promise<MarketClient> {
  const wallet = new Wallet(m.keys[i]!, m.provider);
  if (mint > 0n) await m.admin.mint(wallet.address, mint);
  return MarketClient.connect({ deployment: m.deployment, provider: m.provider, signer: wallet });
}

/** A yard config for `yardId` with test-friendly timings (automine: no confirmations). */
export function yardConfig(m: TestMarket, yardId: string, over: Partial<YardConfigInput> = {}): YardConfigInput {
  return {
    yardId,
    dataDir: path.join(m.dir, yardId),
    chain: { rpcUrl: m.chain.url, deployment: m.deploymentFile, confirmations: 0, pollMs: 200 },
    listen: ["/ip4/127.0.0.1/tcp/0"],
    publicHost: "127.0.0.1",
    http: { host: "127.0.0.1", port: 0 },
    listing: { domain: "test.icon", region: "test-1", stake: "100 iUSD" },
    capacity: { cpuMillis: 4000, memoryMiB: 4096, pidsPerLease: 64 },
    pricing: { floorPerSecond: "10 units", cpuPerCoreSecond: "100 units", memoryPerGiBSecond: "40 units" },
    lease: { startLeadS: 2, earlyStartS: 2, claimIntervalS: 5, stopTimeoutS: 1, imageGraceS: 0 },
    // Every yard of a test bed listens on 127.0.0.1: its sidecars' /dial must reach there.
    agentGateway: { dialLoopback: true },
    ...over,
  };
}

/** Writes `c` as `<dir>/<yardId>.json`; returns the path. */
export async function writeYardConfig(m: TestMarket, c: YardConfigInput): Promise<string> {
  const file = path.join(m.dir, `${c.yardId}.json`);
  await writeFile(file, JSON.stringify(c, null, 2));
  return file;
}

/** An app owner and its ICON: the owner funds an app whose root account the ICON key controls. */
export class Tenant {
  readonly owner: MarketClient;
  readonly icon: Wallet;
  readonly account: bigint;
  readonly node: Libp2p;
  #proof: RfqProof | undefined;

  private constructor(owner: MarketClient, icon: Wallet, account: bigint, node: Libp2p) {
    this.owner = owner;
    this.icon = icon;
    this.account = account;
    this.node = node;
  }

  /** The app's namespace label (`r<root>`): its services are named `<app>.<namespace>.<service>.<servicens>`. */
  get namespace(): string {
    return appNamespace(this.account);
  }

  /** The service key `app.r<root>.service.servicens` of this tenant's application. */
  service(app: string, service: string, servicens = "prod"): string {
    return appServiceName({ app, service, servicens }, this.account);
  }

  static async create(m: TestMarket, ownerKey: number, iconKey: number, deposit: bigint): Promise<Tenant> {
    const owner = await clientFor(m, ownerKey, deposit);
    const icon = new Wallet(m.keys[iconKey]!, m.provider);
    const account = await owner.createApp(icon.address, TEST_POLICY, deposit);
    return new Tenant(owner, icon, account, await createIconNode());
  }

  /** The tenant of an application already made (`deployApp`): its owner, its ICON's own key and root account. */
  static async forIcon(owner: MarketClient, icon: Wallet, account: bigint): Promise<Tenant> {
    return new Tenant(owner, icon, account, await createIconNode());
  }

  rfq(imageDigest: string, over: Partial<Rfq> = {}): Rfq {
    return {
      cpuMillis: 250,
      memoryMiB: 64,
      slotSeconds: 60,
      earliestStart: 0n,
      maxPricePerSecond: 10_000n,
      imageRef: "icon/web:1",
      imageDigest,
      tenantAccount: this.account,
      ...over,
    };
  }

  /**
   * RFQ → Quote → Accept → Opened; returns the lease id and the offer. A yard whose opening transaction did not
   * go through answers INTERNAL "…; retry": the tenant does, on a new negotiation, up to twice.
   */
  async open(yard: PeerId | Multiaddr, rfq: Rfq): Promise<{ leaseId: bigint; offer: Offer; session: LeaseSession }> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#openOnce(yard, rfq);
      } catch (e) {
        const retry = e instanceof LeaseRejectedError && e.reject === RejectCode.INTERNAL && /retry/.test(e.message);
        if (!retry || attempt >= 3) throw e;
        await new Promise((r) => setTimeout(r, 500 * attempt));
      }
    }
  }

  /** A proof that this tenant's node speaks for its account, signed by the ICON key (renewed before it expires). */
  async proof(): Promise<RfqProof> {
    if (!this.#proof || Number(this.#proof.expiry) < Date.now() / 1000 + 600)
      this.#proof = await signRfqProof(this.icon, {
        domain: this.owner.domain(),
        account: this.account,
        peer: this.node.peerId,
      });
    return this.#proof;
  }

  async #openOnce(
    yard: PeerId | Multiaddr,
    rfq: Rfq,
  ): Promise<{ leaseId: bigint; offer: Offer; session: LeaseSession }> {
    const session = await LeaseSession.open(this.node, yard);
    // The tenant's own account is proven; an RFQ naming another account (a test's attack) goes as it is.
    const proof = rfq.proof ?? (rfq.tenantAccount === this.account ? await this.proof() : undefined);
    const q = await session.request({ type: "rfq", rfq: proof ? { ...rfq, proof } : rfq });
    if (q.type !== "quote") throw new Error(`expected a quote, got ${q.type}`);
    const tenantSignature = await this.icon.signTypedData(this.owner.domain(), ACCEPTANCE_TYPES, { offer: q.offer });
    const o = await session.request({ type: "accept", tenantSignature });
    if (o.type !== "opened") throw new Error(`expected opened, got ${o.type}`);
    return { leaseId: o.leaseId, offer: q.offer, session };
  }

  /** Opens a lease and deploys `image` (port 8080); returns the lease id and the ingress endpoint. */
  async lease(
    yard: PeerId | Multiaddr,
    imageDigest: string,
    over: Partial<Rfq> = {},
    spec: {
      command?: string[];
      env?: string[];
      ports?: number[];
      httpPorts?: number[];
      udpPorts?: number[];
      service?: string;
      allow?: string[];
      imageRef?: string;
      /** The ICON's agent, run as a sidecar beside the service (its secret reaches only the sidecar). */
      agent?: AgentPart;
    } = {},
  ): Promise<{ leaseId: bigint; offer: Offer; endpoint: string }> {
    const { leaseId, offer, session } = await this.open(yard, this.rfq(imageDigest, over));
    const r = await session.request({
      type: "deploy",
      spec: {
        leaseId,
        imageRef: spec.imageRef ?? "icon/web:1",
        imageDigest,
        command: spec.command ?? [],
        env: spec.env ?? [],
        ports: spec.ports ?? [8080],
        ...(spec.httpPorts ? { httpPorts: spec.httpPorts } : {}),
        ...(spec.udpPorts ? { udpPorts: spec.udpPorts } : {}),
        ...(spec.service ? { service: spec.service } : {}),
        ...(spec.allow ? { allow: spec.allow } : {}),
        ...(spec.agent ? { agent: spec.agent } : {}),
      },
    });
    await session.close();
    if (r.type !== "running") throw new Error(`deploy failed: ${r.type === "failed" ? r.message : r.type}`);
    return { leaseId, offer, endpoint: r.endpoint };
  }

  async stop(): Promise<void> {
    await this.node.stop();
  }
}

/** GET http://<endpoint>/ with a short timeout; the body, or throws. */
export async function httpGet(endpoint: string, timeoutMs = 2000): Promise<string> {
  const res = await fetch(`http://${endpoint}/`, { signal: AbortSignal.timeout(timeoutMs) });
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
  return res.text();
}

/** A yard running as `icon yard start` in a child process. */
export interface YardProcess {
  child: ChildProcess;
  out: string[];
  /** What it wrote to stderr (JSON log lines at --log-level warn and above). */
  err: string[];
  http: string;
  addr: string;
  exited: Promise<number | null>;
}

/** Starts `icon yard start --config <file>` with `key` as the operator key; resolves when it is ready. */
export async function startYardProcess(
  configFile: string,
  key: string,
  o: { logLevel?: "debug" | "info" | "warn" } = {},
): Promise<YardProcess> {
  // As an operator runs it: the `icon` launcher (set-up, then `exec node` on the built JavaScript), so that
  // child.pid is the yard's Node process once it is ready.
  const child = spawn(
    path.join(projectRoot, "scripts/icon"),
    ["yard", "start", "--config", configFile, "--log-level", o.logLevel ?? "warn"],
    { env: { ...process.env, ICON_PRIVATE_KEY: key }, stdio: ["ignore", "pipe", "pipe"] },
  );
  const out: string[] = [];
  const err: string[] = [];
  child.stdout!.on("data", (d: Buffer) => out.push(d.toString()));
  child.stderr!.on("data", (d: Buffer) => err.push(d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const ready = await poll(
    "the yard process to be ready",
    () => {
      if (child.exitCode !== null) throw new Error(`the yard exited with ${child.exitCode}: ${err.join("")}`);
      const text = out.join("");
      const http = /status and metrics at (http:\/\/\S+)\/status/.exec(text)?.[1];
      const addr = /listening on (\S+?)(,|\s)/.exec(text)?.[1];
      return http && addr ? { http, addr } : undefined;
    },
    60_000,
  ).catch(async (e: unknown) => {
    // Not ready: it must not outlive the caller's failure (nobody else holds it).
    child.kill("SIGKILL");
    await exited;
    throw new Error(`${(e as Error).message}; its stderr: ${err.join("").slice(-2000)}`, { cause: e });
  });
  return { child, out, err, exited, ...ready };
}

/**
 * Runs `icon <args>` (the built CLI, as an owner runs it) against `m`'s chain with `key` (and the project's Docker
 * engine); its stdout, or throws with both outputs.
 */
export async function runIcon(m: TestMarket, a: string[], key: string): Promise<string> {
  const child = spawn(
    path.join(projectRoot, "scripts/icon"),
    ["--rpc", m.chain.url, "--deployment", m.deploymentFile, ...a],
    {
      env: { ...process.env, ICON_PRIVATE_KEY: key, ICON_DOCKER_SOCKET: DockerRuntime.defaultSocket() },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let out = "";
  let err = "";
  child.stdout!.setEncoding("utf8").on("data", (d: string) => (out += d));
  child.stderr!.setEncoding("utf8").on("data", (d: string) => (err += d));
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  if (code !== 0) throw new Error(`icon ${a.slice(0, 2).join(" ")} exited with ${code}:\n${out}\n${err}`);
  return out;
}

/** Polls `check` every 50 ms until it returns something other than undefined/false; throws after `timeoutMs`. */
export async function poll<T>(
  what: string,
  check: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`, { cause: last });
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Removes what a yard of `runtime`'s id left on the engine: every container labelled icon.yard=<yardId>, the
 * yard's network (`onError` hears why it could not go) and its host firewall table (a yard keeps the table while
 * its containers run; they are gone now).
 */
export async function removeYardLeftovers(runtime: DockerRuntime, onError: (why: string) => void): Promise<void> {
  const containers = await runtime.docker.listContainers({
    all: true,
    filters: { label: [`icon.yard=${runtime.yardId}`] },
  });
  await Promise.all(
    containers.map((c) =>
      runtime.docker
        .getContainer(c.Id)
        .remove({ force: true, v: true })
        .catch(() => undefined),
    ),
  );
  await runtime
    .removeNetwork()
    .catch((e: unknown) => onError(`could not remove network ${runtime.network}: ${String(e)}`));
  await new HostFirewall({ yardId: runtime.yardId }).remove().catch(() => {});
}
