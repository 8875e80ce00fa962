/**
 * Hardhat runtime for tools that run outside `hardhat …` (the CLI, the demo, benchmarks): an HRE rooted at
 * the project whatever the working directory, contracts compiled on demand, the dev chain and deployment.
 */
import { mkdir, rm, stat } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { createHardhatRuntimeEnvironment } from "hardhat/hre";
import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import { HDNodeWallet, JsonRpcProvider, Wallet } from "ethers";
import type { Deployment } from "../../protocol/index.ts";
import { ConfigError, IconError } from "../../protocol/errors.ts";
import type { PublicRpcProxyFake } from "./rpc-proxy.ts";

// Two levels above scripts/lib/, three above the built copy in .build/scripts/lib/ (scripts/build-js.ts).
const here = path.dirname(fileURLToPath(import.meta.url));
export const projectRoot = path.resolve(
  here,
  path.basename(path.resolve(here, "../..")) === ".build" ? "../../.." : "../..",
);

/**
 * A module of the project outside the trees .build/ holds (hardhat.config.ts, the Ignition modules), imported from
 * its source by absolute URL whether this file runs from scripts/lib/ or from .build/ (scripts/build-js.ts).
 */
const fromProject = <T>(file: string): Promise<T> =>
  import(pathToFileURL(path.join(projectRoot, file)).href) as Promise<T>;

let hrePromise: Promise<HardhatRuntimeEnvironment> | undefined;

/** The project's Hardhat runtime (created once per process). */
export function hre(): Promise<HardhatRuntimeEnvironment> {
  hrePromise ??= fromProject<typeof import("../../hardhat.config.ts")>("hardhat.config.ts").then(
    ({ default: config }) =>
      createHardhatRuntimeEnvironment(config, { config: path.join(projectRoot, "hardhat.config.ts") }, projectRoot),
  );
  return hrePromise;
}

/** Compiles the contracts if they changed (quietly). */
export async function ensureBuilt(): Promise<void> {
  const h = await hre();
  // Test processes in parallel (npm test's lanes) each ask at their start: one at a time, because Hardhat writes
  // its compile cache through one temporary file name (two at once: ENOENT renaming cache/compile-cache.json.tmp).
  await oneBuildAtATime(() => h.tasks.getTask("build").run({ quiet: true }));
}

/** Runs `fn` holding cache/.icon-build.lock (a directory: mkdir is atomic); a lock older than 2 min is stale. */
async function oneBuildAtATime<T>(fn: () => Promise<T>): Promise<T> {
  const lock = path.join(projectRoot, "cache", ".icon-build.lock");
  await mkdir(path.dirname(lock), { recursive: true });
  const giveUp = Date.now() + 300_000;
  for (;;) {
    try {
      await mkdir(lock);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      const since = await stat(lock).then(
        (st) => st.mtimeMs,
        () => Date.now(),
      );
      if (Date.now() - since > 120_000)
        await rm(lock, { recursive: true, force: true }); // its build was killed
      else if (Date.now() > giveUp)
        throw new Error(`another contract build has held ${lock} for 5 min: remove it if no build is running`, {
          cause: e,
        });
      else await new Promise((r) => setTimeout(r, 200));
    }
  }
  try {
    return await fn();
  } finally {
    await rm(lock, { recursive: true, force: true });
  }
}

/** A running embedded chain (Hardhat EDR behind a JSON-RPC server). */
export interface DevChain {
  /** Where clients reach it: the server, or with `ICON_RPC_PROXY=1` the public-like proxy in front of it. */
  url: string;
  /** The public-like RPC proxy `url` names, when `ICON_RPC_PROXY=1` (scripts/lib/rpc-proxy.ts). */
  proxy?: PublicRpcProxyFake;
  close(): Promise<void>;
}

/** Starts an embedded dev chain serving JSON-RPC on `host:port` (port 0 picks a free one). */
export async function startDevChain(host = "127.0.0.1", port = 8545, chainId = 31337): Promise<DevChain> {
  const h = await hre();
  // Blocks may share a timestamp: otherwise every automined block adds a second, and a busy chain (many
  // transactions per second) runs ahead of the wall clock that slot times are quoted in.
  const server = await h.network.createServer(
    { network: "default", override: { chainId, allowBlocksWithSameTimestamp: true } },
    host,
    port,
  );
  const addr = await server.listen();
  const url = `http://${addr.address}:${addr.port}`;
  if (process.env.ICON_RPC_PROXY !== "1") return { url, close: () => server.close() };
  // The e2e lanes behind a public-like RPC (test/lanes.ts): every client of this chain goes through the proxy, and
  // closing the chain fails when a log query it saw had no block range or a wider one than 2,000 blocks.
  const { PublicRpcProxyFake, e2eFaults, checkRanged } = await import("./rpc-proxy.ts");
  const proxy = await PublicRpcProxyFake.start([url], e2eFaults());
  return {
    url: proxy.url,
    proxy,
    close: async () => {
      await proxy.close();
      await server.close();
      checkRanged(proxy);
    },
  };
}

/** Hardhat's well-known development account keys (public knowledge: only for the embedded dev chain). */
export function devKeys(count: number): string[] {
  const mnemonic = "test test test test test test test test test test test junk";
  return Array.from(
    { length: count },
    (_, i) => HDNodeWallet.fromPhrase(mnemonic, undefined, `m/44'/60'/0'/0/${i}`).privateKey,
  );
}

/** Deployment parameters (integer units and seconds). */
export interface DeployParams {
  token?: string;
  minStake?: bigint;
  unbondingPeriod?: bigint;
  slashCapBps?: bigint;
  startWindow?: bigint;
  collateralBps?: bigint;
  arbiterDelay?: bigint;
  arbiter?: string;
}

/** Where to deploy: a JSON-RPC URL, or a network declared in hardhat.config.ts (scripts/lib/networks.ts). */
export type DeployTarget = string | { network: string };

/** Deployment options beyond the module's parameters. */
export interface DeployOptions {
  /** Confirmations Ignition waits for on each transaction (its default 5; automined chains need none). */
  confirmations?: number;
}

/**
 * Deploys the market with Hardhat Ignition to `target` (a URL, or a named network), with `privateKey` as
 * deployer. Without `token`, a TestToken is deployed too (development); with one, the token is probed first
 * (protocol/chain/token-probe.ts) and one that takes a fee on transfer or rebases is refused before anything is
 * deployed. Returns the deployment record.
 */
export async function deployMarket(
  target: DeployTarget,
  privateKey: string,
  params: DeployParams = {},
  log: (s: string) => void = () => {},
  options: DeployOptions = {},
): Promise<Deployment> {
  await ensureBuilt();
  const h = await hre();
  const conn = await connect(h, target, privateKey);
  try {
    const url = conn.networkConfig.type === "http" ? await conn.networkConfig.url.get() : undefined;
    const chainId = Number(
      (
        await conn.ethers.provider.getNetwork().catch((cause: unknown) => {
          throw new IconError("CHAIN_UNREACHABLE", `cannot reach ${where(target, url)}`, { cause });
        })
      ).chainId,
    );
    const deploymentId = `chain-${chainId}`;
    if (chainId === 31337) {
      // The dev chain starts empty every time: forget Ignition's journal of the previous dev chain.
      await rm(path.join(projectRoot, "contracts/ignition/deployments", deploymentId), {
        recursive: true,
        force: true,
      });
    }
    const { token: tokenAddress, ...rest } = params;
    if (tokenAddress && url) {
      const { probeToken } = await import("../../protocol/chain/token-probe.ts");
      const provider = new JsonRpcProvider(url, undefined, {
        staticNetwork: true,
        cacheTimeout: -1,
        pollingInterval: 1000,
      });
      try {
        const deployer = new Wallet(privateKey, provider);
        await probeToken({ token: tokenAddress, deployer, log });
        // Ignition refuses (HHE10402) a deployer whose transactions are not yet as deep as it wants its own.
        const depth = options.confirmations ?? ((await automined(provider)) ? 1 : IGNITION_CONFIRMATIONS);
        await untilDeep(provider, deployer.address, depth, log);
      } finally {
        provider.destroy();
      }
    }
    if (!tokenAddress && chainId !== 31337)
      log(
        `no --token: deploying the development TestToken (its owner mints at will) on chain ${chainId}; a market for real money takes --token <address>`,
      );
    const { IconMarketDevModule, IconMarketModule, defaultMarketParameters } = await fromProject<
      typeof import("../../contracts/ignition/modules/IconMarket.ts")
    >("contracts/ignition/modules/IconMarket.ts");
    const moduleParams: Record<string, unknown> = { ...defaultMarketParameters };
    for (const [k, v] of Object.entries(rest)) if (v !== undefined) moduleParams[k] = v;
    const module = (tokenAddress ? IconMarketModule : IconMarketDevModule) as typeof IconMarketDevModule;
    if (tokenAddress) moduleParams.token = tokenAddress;
    log(
      `deploying ${tokenAddress ? "the market over token " + tokenAddress : "a test token and the market"} to chain ${chainId} with Hardhat Ignition …`,
    );
    const before = await conn.ethers.provider.getBlockNumber();
    const config = options.confirmations !== undefined ? { requiredConfirmations: options.confirmations } : {};
    const d = await conn.ignition.deploy(module, {
      parameters: { [module.id]: moduleParams as never },
      deploymentId,
      config,
    });
    const [registry, market] = [await d.registry.getAddress(), await d.market.getAddress()];
    const p = conn.ethers.provider;
    const created = async (a: string) => creationBlock((b) => p.getCode(a, b), before, await p.getBlockNumber());
    return {
      chainId,
      token: await d.token.getAddress(),
      registry,
      market,
      accessManager: await d.manager.getAddress(),
      deployedAt: new Date().toISOString(),
      // Where every log read starts (protocol/chain/logs.ts): the first block holding the registry or the market.
      blockNumber: Math.min(await created(registry), await created(market)),
    };
  } finally {
    await conn.close();
  }
}

/** Ignition's default confirmations on a chain that mines on its own (ignition-core's defaultConfig). */
const IGNITION_CONFIRMATIONS = 5;

/** Whether the chain mines a block for each transaction (as Ignition tells: then it wants 1 confirmation). */
async function automined(provider: JsonRpcProvider): Promise<boolean> {
  try {
    return Boolean(await provider.send("hardhat_getAutomine", []));
  } catch {
    return false; // not a Hardhat or Anvil node
  }
}

/**
 * Returns once every transaction `address` sent is `depth` blocks deep (its nonce at block head − depth + 1 is
 * its pending nonce): what Ignition checks before it sends anything. Says so while it waits; wakes on new blocks.
 */
async function untilDeep(
  provider: JsonRpcProvider,
  address: string,
  depth: number,
  log: (s: string) => void,
): Promise<void> {
  let said = false;
  for (;;) {
    const head = await provider.getBlockNumber();
    const pending = await provider.getTransactionCount(address, "pending");
    const settled = head - depth + 1 >= 0 ? await provider.getTransactionCount(address, head - depth + 1) : 0;
    if (settled === pending) return;
    if (!said)
      log(
        `waiting for the token probe's transactions to be ${depth} blocks deep (Hardhat Ignition deploys only after the deployer's earlier transactions are as deep as it wants its own) …`,
      );
    said = true;
    await new Promise<void>((resolve) => void provider.once("block", () => resolve()));
  }
}

/** A network connection to `target` with `privateKey` as its only account. */
async function connect(h: HardhatRuntimeEnvironment, target: DeployTarget, privateKey: string) {
  if (typeof target === "string")
    return h.network.create({ network: "target", override: { url: target, accounts: [privateKey] } });
  const { declaredNetworks, rpcUrlVariable } = await import("./networks.ts");
  const config = h.config.networks[target.network];
  if (!declaredNetworks().includes(target.network) || config?.type !== "http") {
    const known = declaredNetworks();
    throw new ConfigError(
      "UNKNOWN_NETWORK",
      `no network "${target.network}" is declared: set ${rpcUrlVariable(target.network)} to its JSON-RPC URL (declared now: ${known.join(", ") || "none"})`,
    );
  }
  return h.network.create({ network: target.network, override: { accounts: [privateKey] } });
}

/** The target for people: the network's name, or the endpoint without path or credentials. */
function where(target: DeployTarget, url: string | undefined): string {
  let endpoint = "the configured RPC endpoint";
  try {
    const u = new URL(url ?? (typeof target === "string" ? target : ""));
    endpoint = `${u.protocol}//${u.host}`;
  } catch {
    // not a URL: say no more than that
  }
  return typeof target === "string" ? endpoint : `network "${target.network}" at ${endpoint}`;
}

/**
 * The block in which the contract whose code `codeAt` reads was created, searched in `before + 1 … head` (a fresh
 * deployment) or, when it already had code at `before` (Ignition resumed an earlier deployment), in `0 … before`.
 * A node that cannot read old state (no archive) gives `before + 1` (fresh) or 0: a lower bound, never too late.
 */
export async function creationBlock(
  codeAt: (block: number) => Promise<string>,
  before: number,
  head: number,
): Promise<number> {
  const has = async (b: number): Promise<boolean> => (await codeAt(b)) !== "0x";
  let [lo, hi] = [before + 1, head];
  let fresh = false;
  try {
    if (await has(before)) [lo, hi] = [0, before];
    else fresh = true;
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      if (await has(mid)) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  } catch {
    return fresh ? before + 1 : 0;
  }
}
