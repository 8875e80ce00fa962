/**
 * Shared fixture for contract tests: a fresh market on a fresh embedded chain, a listed and staked
 * provider, and an application budget, plus helpers to build and sign offers.
 */
import { network } from "hardhat";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import { IconMarketDevModule, defaultMarketParameters } from "../../../contracts/ignition/modules/IconMarket.ts";
import { ACCEPTANCE_TYPES, OFFER_TYPES, marketDomain, type Offer } from "../../../protocol/eip712.ts";

export const USD = (n: number | bigint): bigint => BigInt(Math.round(Number(n) * 1e6));
export const params = defaultMarketParameters;

export type Connection = Awaited<ReturnType<typeof network.create>>;

/** Deploys the dev market and returns contracts and named signers. */
export async function deployMarket(conn: Connection) {
  const { ethers, ignition } = conn;
  const d = await ignition.deploy(IconMarketDevModule);
  const [deployer, provider, owner, icon, child, stranger, provider2] = await ethers.getSigners();
  const token = await ethers.getContractAt("TestToken", await d.token.getAddress());
  const registry = await ethers.getContractAt("IEPRegistry", await d.registry.getAddress());
  const market = await ethers.getContractAt("IconMarket", await d.market.getAddress());
  const manager = await ethers.getContractAt("AccessManager", await d.manager.getAddress());
  for (const s of [provider, owner, stranger, provider2]) {
    await token.connect(deployer).mint(s.address, USD(1_000_000));
    await token.connect(s).approve(await market.getAddress(), ethers.MaxUint256);
    await token.connect(s).approve(await registry.getAddress(), ethers.MaxUint256);
  }
  const { chainId } = await ethers.provider.getNetwork();
  const domain = marketDomain(chainId, await market.getAddress());
  return { ethers, token, registry, market, manager, deployer, provider, owner, icon, child, stranger, provider2, domain, chainId };
}

export type Market = Awaited<ReturnType<typeof deployMarket>>;

/** A valid listing for `peerSuffix`. */
export function listing(peerSuffix = "01") {
  return {
    peerId: "0x0024080112" + peerSuffix.padStart(64, "0"),
    multiaddrs: ["/ip4/127.0.0.1/tcp/4001"],
    domain: "edge-a.example",
    region: "eu-central",
    cpuMillis: 4000,
    memoryMiB: 8192,
    cpuPricePerSecond: 10n,
    memoryPricePerSecond: 5n,
  };
}

/** Lists and stakes `signer` as a provider with `stake` (default 10x the minimum). */
export async function listProvider(m: Market, signer: HardhatEthersSigner, stake = params.minStake * 10n) {
  await m.registry.connect(signer).register(listing(signer.address.slice(2, 10)));
  await m.registry.connect(signer).stake(stake);
}

/** Creates an app owned by `m.owner` whose root is controlled by `m.icon`, funded with `deposit`. */
export async function createApp(m: Market, deposit = USD(1_000), maxPrice = 0n): Promise<bigint> {
  const policy = { weightBps: 5000, migrateThresholdBps: 2000, replicateThresholdBps: 3000, terminateThresholdBps: 500, maxPricePerSecond: maxPrice };
  const tx = await m.market.connect(m.owner).createApp(m.icon.address, policy, deposit);
  await tx.wait();
  return await m.market.accountCount();
}

/** Latest block timestamp. */
export async function now(m: Market): Promise<bigint> {
  const b = await m.ethers.provider.getBlock("latest");
  return BigInt(b!.timestamp);
}

/** An offer from `m.provider` to `account` starting shortly after now. */
export async function makeOffer(m: Market, account: bigint, over: Partial<Offer> = {}): Promise<Offer> {
  const t = await now(m);
  return {
    provider: m.provider.address,
    account,
    token: await m.token.getAddress(),
    pricePerSecond: 100n,
    cpuMillis: 500,
    memoryMiB: 256,
    start: t + 10n,
    end: t + 10n + 3600n,
    specHash: m.ethers.id("busybox@sha256:demo"),
    nonce: BigInt(Math.floor(Math.random() * 2 ** 48)),
    deadline: t + 600n,
    ...over,
  };
}

/** Provider signature over `offer`. */
export async function signOffer(m: Market, offer: Offer, signer: HardhatEthersSigner = m.provider): Promise<string> {
  return signer.signTypedData(m.domain, OFFER_TYPES, offer);
}

/** Tenant acceptance signature over `offer`. */
export async function signAcceptance(m: Market, offer: Offer, signer: HardhatEthersSigner = m.icon): Promise<string> {
  return signer.signTypedData(m.domain, ACCEPTANCE_TYPES, { offer });
}

/** Opens a lease for `offer` (both signatures by the default parties) and returns its id. */
export async function openLease(m: Market, offer: Offer): Promise<bigint> {
  const tx = await m.market.connect(m.stranger).openLease(offer, await signOffer(m, offer), await signAcceptance(m, offer));
  await tx.wait();
  return await m.market.leaseCount();
}

export { network };
