/**
 * Gas benchmark: whole-transaction gas (receipt.gasUsed, 21k base and calldata included) of the market's
 * hot paths on the embedded Hardhat network. Every transaction starts with cold storage (EIP-2929: no slot
 * is warm at the start of a transaction); the "steady" figures are for slots that already hold a non-zero
 * value (a provider's second lease, an account that was funded before), the "first" figures for slots
 * written for the first time. Reference anchors (published): Sablier Lockup create ≈ 110.5k call gas,
 * withdraw 19–30k, cancel ≈ 57k; an OpenZeppelin ERC-20 transfer ≈ 51k.
 *
 * Batch claims (issue 19): `claimMany` over 1, 10 and 50 leases, gas per lease beside a single `claim` (target at
 * 50: ≤ 40 % of a claim); `confirmStart` for the cost per lease-hour in BENCHMARKS.md.
 *
 * The relayed part (gas-relay.ts): each ICON operation sent directly and relayed as an intent, with the relayer's
 * repayment (`relayed` in the JSON line).
 *
 * Where one openLease's gas goes, item by item: scripts/bench/gas-breakdown.ts.
 *
 * Usage: npm run bench:gas     (last line: one JSON object)
 */
import { network } from "hardhat";
import { IconMarketDevModule, defaultMarketParameters } from "../../contracts/ignition/modules/IconMarket.ts";
import { ACCEPTANCE_TYPES, OFFER_TYPES, marketDomain, type Offer } from "../../protocol/eip712.ts";
import { relayedGas } from "./gas-relay.ts";

const conn = await network.create();
const { ethers, ignition, networkHelpers } = conn;
const d = await ignition.deploy(IconMarketDevModule);
const [deployer, provider, owner, icon, childKey, relayer] = await ethers.getSigners();
const token = await ethers.getContractAt("TestToken", await d.token.getAddress());
const registry = await ethers.getContractAt("IEPRegistry", await d.registry.getAddress());
const market = await ethers.getContractAt("IconMarket", await d.market.getAddress());
const { chainId } = await ethers.provider.getNetwork();
const domain = marketDomain(chainId, await market.getAddress());

const gas = async (tx: Promise<{ wait(): Promise<{ gasUsed: bigint } | null> }>): Promise<number> =>
  Number((await (await tx).wait())!.gasUsed);

for (const s of [provider, owner]) {
  await token.mint(s.address, 10_000_000_000n);
  await token.connect(s).approve(await market.getAddress(), ethers.MaxUint256);
  await token.connect(s).approve(await registry.getAddress(), ethers.MaxUint256);
}
const listing = {
  peerId: "0x00240801122012345678901234567890123456789012345678901234567890123456",
  multiaddrs: ["/ip4/127.0.0.1/tcp/4001"],
  domain: "edge-a.example",
  region: "eu-central",
  cpuMillis: 4000,
  memoryMiB: 8192,
  cpuPricePerSecond: 10n,
  memoryPricePerSecond: 5n,
};
const register = await gas(registry.connect(provider).register(listing));
const stakeFirst = await gas(registry.connect(provider).stake(defaultMarketParameters.minStake * 10n));
const stake = await gas(registry.connect(provider).stake(defaultMarketParameters.minStake));

const policy = {
  weightBps: 5000,
  migrateThresholdBps: 2000,
  replicateThresholdBps: 3000,
  terminateThresholdBps: 500,
  maxPricePerSecond: 0n,
  maxRelayFee: 50_000n,
  relayAllowancePerDay: 5_000_000n,
};
const createApp = await gas(market.connect(owner).createApp(icon.address, policy, 1_000_000_000n));
const root = await market.accountCount();
const fund = await gas(market.connect(owner).fund(root, 1_000_000n));
await (await market.connect(icon).createAccount(root, childKey.address)).wait();
const child = await market.accountCount();
const allocateFirst = await gas(market.connect(icon).allocate(root, child, 1_000_000n));
const allocate = await gas(market.connect(icon).allocate(root, child, 1_000_000n));
const returnToParent = await gas(market.connect(childKey).returnToParent(child, 500_000n));

let nonce = 0n;
async function open(): Promise<{ id: bigint; gasUsed: number }> {
  const t = BigInt(await networkHelpers.time.latest());
  const offer: Offer = {
    provider: provider.address,
    account: root,
    token: await token.getAddress(),
    pricePerSecond: 100n,
    cpuMillis: 500,
    memoryMiB: 256,
    start: t + 5n,
    end: t + 5n + 3600n,
    specHash: ethers.id("busybox"),
    nonce: nonce++,
    deadline: t + 600n,
  };
  const ps = await provider.signTypedData(domain, OFFER_TYPES, offer);
  const ts = await icon.signTypedData(domain, ACCEPTANCE_TYPES, { offer });
  const gasUsed = await gas(market.connect(deployer).openLease(offer, ps, ts));
  return { id: await market.leaseCount(), gasUsed };
}
const first = await open();
const lease = await open();
await networkHelpers.time.increase(10);
await (await market.connect(provider).confirmStart(first.id)).wait();
const confirmStart = await gas(market.connect(provider).confirmStart(lease.id));
await networkHelpers.time.increase(100);
const claimFirst = await gas(market.connect(provider).claim(first.id));
await networkHelpers.time.increase(100);
const claim = await gas(market.connect(provider).claim(lease.id));
// Batch claims: n running, confirmed leases claimed in one claimMany (steady state: earnings already non-zero,
// each lease claimed once before), whole-transaction gas divided by n, beside one claim of one lease.
const claimMany: Record<string, { tx: number; perLease: number; ofClaim: number }> = {};
const batch: bigint[] = [];
for (const n of [1, 10, 50]) {
  while (batch.length < n) batch.push((await open()).id);
  await networkHelpers.time.increase(10);
  for (const id of batch) await (await market.connect(provider).confirmStart(id)).wait();
  await networkHelpers.time.increase(100);
  await (await market.connect(provider).claimMany(batch)).wait();
  await networkHelpers.time.increase(100);
  const tx = await gas(market.connect(provider).claimMany(batch));
  claimMany[n] = { tx, perLease: Math.round(tx / n), ofClaim: Math.round((tx / n / claim) * 1000) / 10 };
}
const terminate = await gas(market.connect(icon).terminate(lease.id));
const withdrawEarnings = await gas(market.connect(provider).withdrawEarnings(provider.address));

const relayed = await relayedGas({
  market,
  domain,
  token: await token.getAddress(),
  root,
  icon,
  childKey,
  provider,
  relayer,
  latest: async () => BigInt(await networkHelpers.time.latest()),
  increase: async (s) => void (await networkHelpers.time.increase(s)),
  fee: 20_000n,
});

const result = {
  openLease: lease.gasUsed,
  claim,
  claimMany,
  confirmStart,
  terminate,
  allocate,
  returnToParent,
  stake,
  register,
  withdrawEarnings,
  fund,
  createApp,
  firstWrite: { openLease: first.gasUsed, claim: claimFirst, allocate: allocateFirst, stake: stakeFirst },
  relayed,
};
const targets: Record<string, number> = {
  openLease: 130_000, // issue 19: below Sablier's stream creation (≈ 131k whole transaction)
  claim: 45_000,
  terminate: 75_000,
  allocate: 50_000,
  returnToParent: 50_000,
  stake: 90_000,
};
for (const [k, limit] of Object.entries(targets)) {
  const v = (result as unknown as Record<string, number>)[k]!;
  console.error(`${k.padEnd(15)} ${String(v).padStart(7)} gas   target <= ${limit}   ${v <= limit ? "ok" : "OVER"}`);
}
for (const [n, c] of Object.entries(claimMany))
  console.error(
    `claimMany x${n.padEnd(4)} ${String(c.tx).padStart(7)} gas   ${c.perLease} per lease = ${c.ofClaim} % of claim` +
      (n === "50" ? `   target <= 40 %   ${c.ofClaim <= 40 ? "ok" : "OVER"}` : ""),
  );
console.error(`register        ${String(register).padStart(7)} gas   (no target; stores strings)`);
console.error(`first-write cases: ${JSON.stringify(result.firstWrite)}`);
console.error("relayed ICON operations (whole tx gas: direct by the key | relayed by a yard | overhead | fee, units)");
for (const [op, f] of Object.entries(relayed))
  console.error(
    `  ${op.padEnd(15)} ${String(f.direct).padStart(7)} | ${String(f.relayed).padStart(7)} | +${f.overhead} | ${f.fee}`,
  );
console.log(JSON.stringify(result));
