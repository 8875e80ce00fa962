/**
 * Shared fixture for contract tests: a fresh market on a fresh embedded chain, a listed and staked
 * provider, and an application budget, plus helpers to build and sign offers.
 */
import { network } from "hardhat";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import {
  IconMarketDevModule,
  IconMarketModule,
  defaultMarketParameters,
} from "../../contracts/ignition/modules/IconMarket.ts";
import { ACCEPTANCE_TYPES, OFFER_TYPES, marketDomain, type Offer } from "../../protocol/eip712.ts";
import { MaxUint256, Wallet, id as keccakId, type Provider, type Signer } from "ethers";
import { MarketClient, type Deployment } from "../../protocol/index.ts";
import { PERMIT_TYPES } from "../../protocol/chain/permit.ts";

export const USD = (n: number | bigint): bigint => BigInt(Math.round(Number(n) * 1e6));
export const params = defaultMarketParameters;

export type Connection = Awaited<ReturnType<typeof network.create>>;

/** Deploys the dev market and returns contracts and named signers. */
export async function deployMarket(conn: Connection) {
  const d = await conn.ignition.deploy(IconMarketDevModule);
  return wireMarket(conn, d);
}

/**
 * The market as the Ignition module deploys it over an existing token, here the fault-injecting
 * FeeOnTransferTokenFake (fee off until `fee.setFee`). `m.token` is the same contract typed as the TestToken
 * (the helpers only use the ERC-20, permit and mint functions both have).
 */
export async function deployFeeMarket(conn: Connection) {
  const fee = await conn.ethers.deployContract("FeeOnTransferTokenFake");
  const d = await conn.ignition.deploy(IconMarketModule, {
    parameters: { IconMarket: { token: await fee.getAddress() } },
  });
  return { m: await wireMarket(conn, d), fee };
}

async function wireMarket(
  conn: Connection,
  d: { token: AddressLike; registry: AddressLike; market: AddressLike; manager: AddressLike },
) {
  const { ethers } = conn;
  const [deployer, provider, owner, icon, child, stranger, provider2] = await ethers.getSigners();
  const token = await ethers.getContractAt("TestToken", await d.token.getAddress());
  const registry = await ethers.getContractAt("IEPRegistry", await d.registry.getAddress());
  const market = await ethers.getContractAt("IconMarket", await d.market.getAddress());
  const manager = await ethers.getContractAt("AccessManager", await d.manager.getAddress());
  await fundSigners({ token, market, registry }, [provider, owner, stranger, provider2], USD(1_000_000));
  const { chainId } = await ethers.provider.getNetwork();
  const domain = marketDomain(chainId, await market.getAddress());
  return {
    ethers,
    token,
    registry,
    market,
    manager,
    deployer,
    provider,
    owner,
    icon,
    child,
    stranger,
    provider2,
    domain,
    chainId,
  };
}

export type Market = Awaited<ReturnType<typeof deployMarket>>;
type AddressLike = { getAddress(): Promise<string> };

/**
 * Mints `amount` (by the token's default signer, the deployer) to each of `signers` and lets the market and the
 * registry take all of it (bench:gas's set-up uses it too, so both start from the same balances and allowances).
 */
export async function fundSigners(
  c: { token: Market["token"]; market: AddressLike; registry: AddressLike },
  signers: HardhatEthersSigner[],
  amount: bigint,
): Promise<void> {
  for (const s of signers) {
    await c.token.mint(s.address, amount);
    await c.token.connect(s).approve(await c.market.getAddress(), MaxUint256);
    await c.token.connect(s).approve(await c.registry.getAddress(), MaxUint256);
  }
}

/** A fresh market with `m.provider` listed and staked and an application of `m.owner` (its root controlled by
 * `m.icon`) holding `deposit`; the market and the application's root account. */
export async function marketWithApp(conn: Connection, deposit = USD(1_000)) {
  const m = await deployMarket(conn);
  await listProvider(m, m.provider);
  return { m, account: await createApp(m, deposit) };
}

/** A MarketClient over `m` that signs as `signer` (the ICON, a yard). */
export async function marketClient(m: Market, signer: HardhatEthersSigner): Promise<MarketClient> {
  return MarketClient.connect({ deployment: await deploymentOf(m), provider: m.ethers.provider, signer });
}

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
  const policy = {
    weightBps: 5000,
    migrateThresholdBps: 2000,
    replicateThresholdBps: 3000,
    terminateThresholdBps: 500,
    maxPricePerSecond: maxPrice,
    maxRelayFee: 50_000n,
    relayAllowancePerDay: 5_000_000n,
  };
  const tx = await m.market.connect(m.owner).createApp(m.icon.address, policy, deposit);
  await tx.wait();
  return await m.market.accountCount();
}

/** Latest block timestamp. */
export async function now(m: Market): Promise<bigint> {
  const b = await m.ethers.provider.getBlock("latest");
  return BigInt(b!.timestamp);
}

/**
 * The chain's time now, as the next block will have it: a block is mined first. After loadFixture reverts to a
 * snapshot the latest block is the snapshot's, as old as the snapshot, while the next one takes the wall clock's time
 * (plus any time travel): on a busy machine a test can start tens of seconds after its fixture was taken.
 */
export async function chainNow(m: Market): Promise<bigint> {
  await m.ethers.provider.send("evm_mine", []);
  return now(m);
}

/** An offer from `m.provider` to `account` starting shortly after now. */
export async function makeOffer(m: Market, account: bigint, over: Partial<Offer> = {}): Promise<Offer> {
  const t = await chainNow(m);
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
  const tx = await m.market
    .connect(m.stranger)
    .openLease(offer, await signOffer(m, offer), await signAcceptance(m, offer));
  await tx.wait();
  return await m.market.leaseCount();
}

export { network };

// ---------------------------------------------------------------- additions for the contract test suite

export { LEASE_MARKET_ROLE, ARBITER_ROLE } from "../../contracts/ignition/modules/IconMarket.ts";

/** Policy used by {createApp}, with an optional price cap. */
export function defaultPolicy(maxPricePerSecond = 0n) {
  return {
    weightBps: 5000,
    migrateThresholdBps: 2000,
    replicateThresholdBps: 3000,
    terminateThresholdBps: 500,
    maxPricePerSecond,
    maxRelayFee: 50_000n,
    relayAllowancePerDay: 5_000_000n,
  };
}

/** Sum of the balances of every budget account (ids 1..accountCount). */
export async function accountsTotal(m: Market): Promise<bigint> {
  const n = await m.market.accountCount();
  let sum = 0n;
  for (let i = 1n; i <= n; i++) sum += (await m.market.account(i)).balance;
  return sum;
}

/** Sum of the escrow still held by every lease (ids 1..leaseCount). */
export async function escrowTotal(m: Market): Promise<bigint> {
  const n = await m.market.leaseCount();
  let sum = 0n;
  for (let i = 1n; i <= n; i++) sum += await m.market.escrowOf(i);
  return sum;
}

/** The market vault and what it owes: Σ account balances + Σ lease escrow + Σ earnings of `providers`. */
export async function vaultBook(m: Market, providers: string[] = [m.provider.address, m.provider2.address]) {
  const vault = await m.token.balanceOf(await m.market.getAddress());
  let earnings = 0n;
  for (const p of providers) earnings += await m.market.earningsOf(p);
  const owed = (await accountsTotal(m)) + (await escrowTotal(m)) + earnings;
  return { vault, owed };
}

/** Opens a lease with the given signatures, submitted by `m.stranger` (the relaying yard). */
export async function openWith(m: Market, offer: Offer, providerSig: string, tenantSig: string) {
  return m.market.connect(m.stranger).openLease(offer, providerSig, tenantSig);
}

/** Block timestamp of the block that mined `tx`. */
export async function minedAt(m: Market, tx: { wait(): Promise<{ blockNumber: number } | null> }): Promise<bigint> {
  const r = await tx.wait();
  const b = await m.ethers.provider.getBlock(r!.blockNumber);
  return BigInt(b!.timestamp);
}

/** ERC-2612 permit of `value` from `signer` to the market, signed over the TestToken's domain. */
export async function signPermit(
  m: Market,
  signer: HardhatEthersSigner,
  value: bigint,
  deadline: bigint,
  spender?: string,
) {
  const tokenAddress = await m.token.getAddress();
  const domain = { name: await m.token.name(), version: "1", chainId: m.chainId, verifyingContract: tokenAddress };
  const types = PERMIT_TYPES;
  const message = {
    owner: signer.address,
    spender: spender ?? (await m.market.getAddress()),
    value,
    nonce: await m.token.nonces(signer.address),
    deadline,
  };
  const sig = m.ethers.Signature.from(await signer.signTypedData(domain, types, message));
  return { v: sig.v, r: sig.r, s: sig.s };
}

/** The deployment file's contents for `m` (what MarketClient.connect takes). */
export async function deploymentOf(m: Market): Promise<Deployment> {
  return {
    chainId: Number(m.chainId),
    token: await m.token.getAddress(),
    registry: await m.registry.getAddress(),
    market: await m.market.getAddress(),
    accessManager: await m.manager.getAddress(),
    deployedAt: new Date().toISOString(),
    blockNumber: 0,
  };
}

/**
 * Opens a lease through `yard` (its key `yardKey` signs the offer; `tenant`, the account's controller, accepts it) on
 * the dev chain's market `deployment`: 100 units/s, 500 mCPU, 256 MiB of icon/echo:1, from `startIn` s after the head
 * for `seconds`, offer nonce `nonce`, deadline 600 s. Its offer and id.
 */
export async function openSignedLease(o: {
  yard: MarketClient;
  yardKey: string;
  tenant: Signer;
  deployment: Pick<Deployment, "token" | "market">;
  rpc: Provider;
  account: bigint;
  nonce: bigint;
  startIn: bigint;
  seconds: bigint;
}): Promise<{ offer: Offer; leaseId: bigint }> {
  const t = BigInt((await o.rpc.getBlock("latest"))!.timestamp);
  const offer: Offer = {
    provider: await o.yard.address(),
    account: o.account,
    token: o.deployment.token,
    pricePerSecond: 100n,
    cpuMillis: 500,
    memoryMiB: 256,
    start: t + o.startIn,
    end: t + o.startIn + o.seconds,
    specHash: keccakId("icon/echo:1"),
    nonce: o.nonce,
    deadline: t + 600n,
  };
  const domain = marketDomain(31337n, o.deployment.market);
  const providerSig = await new Wallet(o.yardKey).signTypedData(domain, OFFER_TYPES, offer);
  const tenantSig = await o.tenant.signTypedData(domain, ACCEPTANCE_TYPES, { offer });
  return { offer, leaseId: await o.yard.openLease(offer, providerSig, tenantSig) };
}
