/**
 * `npm run demo:market`: the market story on one machine. Starts an embedded chain, deploys the contracts with
 * Ignition, then an IEP operator stakes and lists a yard, an app owner funds a budget, ICON keys (with no
 * gas) accept leases the yard relays, time passes, the yard claims and withdraws, a replica terminates early
 * and hands its money back, the owner withdraws the rest — and the on-chain books are checked to balance.
 * Ends with one line `DEMO-SUMMARY {json}`.
 */
import { Wallet, parseEther, type BaseWallet, type Signer } from "ethers";
import {
  ACCEPTANCE_TYPES,
  MarketClient,
  OFFER_TYPES,
  isIconError,
  rpcProvider,
  type Deployment,
  type Offer,
} from "../protocol/index.ts";
import { deployMarket, devKeys, startDevChain } from "./lib/hardhat.ts";

const t0 = Date.now();
const step = (who: string, text: string): void =>
  console.log(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(5)}s] ${who.padEnd(9)} ${text}`);

const chain = await startDevChain("127.0.0.1", 0);
step("chain", `embedded Hardhat chain at ${chain.url}`);
// rpcProvider: a 429 or a cut connection is waited out, and said (protocol/chain/rpc.ts).
const rpc = rpcProvider(chain.url, { onWait: (line) => step("chain", line) });
const [deployerKey, operatorKey, ownerKey] = devKeys(3) as [string, string, string];
const deployment: Deployment = await deployMarket(chain.url, deployerKey, {}, (s) => step("deploy", s));
step("deploy", `registry ${deployment.registry}, market ${deployment.market}, token ${deployment.token}`);

const as = (signer: Signer): Promise<MarketClient> => MarketClient.connect({ deployment, provider: rpc, signer });
const deployer = await as(new Wallet(deployerKey, rpc));
const operator = await as(new Wallet(operatorKey, rpc));
const owner = await as(new Wallet(ownerKey, rpc));
const originKey = Wallet.createRandom(rpc); // ICON keys: fresh, and they hold no gas
const replicaKey = Wallet.createRandom(rpc);
const fmt = (v: bigint): string => deployer.format(v);
const opAddr = await operator.address();
const ownerAddr = await owner.address();

async function advance(seconds: number): Promise<void> {
  await rpc.send("evm_increaseTime", [seconds]);
  await rpc.send("evm_mine", []);
  step("clock", `+${seconds} s of chain time`);
}
const chainNow = async (): Promise<bigint> => BigInt((await rpc.getBlock("latest"))!.timestamp);

// 1. Money enters: the dev token is minted to the operator and the owner.
await deployer.mint(opAddr, deployer.parse("1000"));
await deployer.mint(ownerAddr, deployer.parse("500"));
step("token", `minted 1000 iUSD to the operator, 500 iUSD to the owner`);

// 2. The IEP lists its yard and stakes.
await operator.register({
  peerId: "0x0024080112203f1d7a5bc1e0a8e2f4d2b1c9a7e6f5d4c3b2a1908f7e6d5c4b3a29181706",
  multiaddrs: ["/ip4/127.0.0.1/tcp/4001"],
  domain: "edge-a.icon.test",
  region: "eu-central",
  cpuMillis: 4000,
  memoryMiB: 8192,
  cpuPricePerSecond: operator.parse("0.0004"),
  memoryPricePerSecond: operator.parse("0.0001"),
});
await operator.stake(operator.parse("250"));
const s = await operator.providerStatus(opAddr);
step("operator", `listed edge-a.icon.test and staked ${fmt(s.total)} → ${s.active ? "active" : "inactive"}`);

// 3. The owner funds an application budget (ERC-2612 permit: one transaction) and publishes a policy.
const policy = {
  weightBps: 7000,
  migrateThresholdBps: 2000,
  replicateThresholdBps: 3000,
  terminateThresholdBps: 500,
  maxPricePerSecond: owner.parse("0.001"),
  maxRelayFee: owner.parse("0.05"),
  relayAllowancePerDay: owner.parse("5"),
};
const root = await owner.createApp(originKey.address, policy, owner.parse("200"));
const child = await owner.createAccount(root, replicaKey.address);
await owner.allocate(root, child, owner.parse("50"));
step(
  "owner",
  `application ${root}: 200 iUSD in, origin ICON ${originKey.address.slice(0, 10)}…; replica account ${child} gets 50 iUSD`,
);

// 4. The yard quotes; each ICON accepts with a signature only; the yard relays both openings.
let nonce = 0n;
async function negotiate(icon: BaseWallet, account: bigint, seconds: bigint, price: bigint): Promise<bigint> {
  const start = (await chainNow()) + 5n;
  const offer: Offer = {
    provider: opAddr,
    account,
    token: deployment.token,
    pricePerSecond: price,
    cpuMillis: 500,
    memoryMiB: 256,
    start,
    end: start + seconds,
    specHash: "0x" + "ab".repeat(32),
    nonce: nonce++,
    deadline: start + 60n,
  };
  const providerSig = await operator.signer!.signTypedData(operator.domain(), OFFER_TYPES, offer);
  const tenantSig = await icon.signTypedData(operator.domain(), ACCEPTANCE_TYPES, { offer });
  const id = await operator.openLease(offer, providerSig, tenantSig);
  step(
    "yard",
    `lease ${id}: ${fmt(price)}/s for ${seconds} s from account ${account} (deposit ${fmt(price * seconds)}); ICON paid no gas (balance ${await rpc.getBalance(icon.address)} wei)`,
  );
  return id;
}
const price = operator.parse("0.0005");
const leaseA = await negotiate(originKey, root, 3600n, price);
const leaseB = await negotiate(replicaKey, child, 1800n, price);

let refusals = 0;
// A refusal, as a user sees it: the replica asks for more than its account holds.
try {
  await negotiate(replicaKey, child, 3600n * 48n, price);
} catch (e) {
  refusals++;
  step("yard", `refused as expected → ${isIconError(e) ? e.message : String(e)}`);
}

await advance(5);
await operator.confirmStart(leaseA);
await operator.confirmStart(leaseB);
step("yard", `containers running; starts confirmed for leases ${leaseA} and ${leaseB}`);

// 5. Ten minutes later the yard claims; payment accrues per second.
await advance(600);
const claimed = (await operator.claim(leaseA)) + (await operator.claim(leaseB));
step("yard", `claimed ${fmt(claimed)} (2 leases × ~600 s × ${fmt(price)}/s)`);

// 6. The replica is no longer needed: it terminates early and hands its money back up.
const tx = await new Wallet(deployerKey, rpc).sendTransaction({ to: replicaKey.address, value: parseEther("0.01") });
await tx.wait();
const replica = await as(replicaKey);
const refund = await replica.terminate(leaseB);
const rest = (await replica.account(child)).balance;
await replica.closeAccount(child);
step(
  "replica",
  `terminated lease ${leaseB}: refund ${fmt(refund)} to account ${child}; closed it, ${fmt(rest)} back to the root`,
);

// 7. The origin's lease runs out; the yard settles it and withdraws its earnings.
await advance(3600);
// A lease terminated right after a claim (same block time) has nothing left to claim: claim only what is due.
const claimDue = async (id: bigint): Promise<bigint> =>
  ((await operator.market.getFunction("claimable")(id)) as bigint) > 0n ? operator.claim(id) : 0n;
const last = (await claimDue(leaseA)) + (await claimDue(leaseB));
const leaseAState = (await operator.lease(leaseA)).state;
const earned = (await operator.providerStatus(opAddr)).earnings;
await operator.withdrawEarnings(opAddr);
step(
  "yard",
  `final claims ${fmt(last)} → lease ${leaseA} ${leaseAState}, lease ${leaseB} ${(await operator.lease(leaseB)).state}; withdrew ${fmt(earned)} of earnings`,
);

// 8. The operator unstakes: refused during unbonding, paid after.
await operator.requestUnstake(operator.parse("100"));
try {
  await operator.withdrawStake(opAddr);
} catch (e) {
  refusals++;
  step("operator", `withdraw refused as expected → ${isIconError(e) ? e.message : String(e)}`);
}
await advance(Number((await operator.providerStatus(opAddr)).unbondingPeriod));
await operator.withdrawStake(opAddr);
step("operator", `withdrew 100 iUSD of stake after the unbonding period`);

// 9. The owner takes the rest out of the tree.
const left = (await owner.account(root)).balance;
await owner.withdrawFromRoot(root, left, ownerAddr);
step("owner", `withdrew the remaining ${fmt(left)} from application ${root}`);

// 10. Books.
const solvency = await deployer.solvency();
const stake = await operator.providerStatus(opAddr);
const registryHeld = await deployer.balanceOf(deployment.registry);
const spent = deployer.parse("200") - left;
console.log("\nbalances");
console.log(
  `  operator wallet  ${fmt(await deployer.balanceOf(opAddr))}   (started with 1000 iUSD; ${fmt(stake.total)} still staked)`,
);
console.log(
  `  owner wallet     ${fmt(await deployer.balanceOf(ownerAddr))}   (started with 500 iUSD; spent ${fmt(spent)} on leases)`,
);
console.log(
  `  market holds     ${fmt(solvency.held)} = balances ${fmt(solvency.balances)} + escrow ${fmt(solvency.escrow)} + earnings ${fmt(solvency.earnings)} → ${solvency.ok ? "balanced" : "NOT BALANCED"}`,
);
console.log(
  `  registry holds   ${fmt(registryHeld)} = stake ${fmt(stake.total)} → ${registryHeld === stake.total ? "balanced" : "NOT BALANCED"}`,
);

const summary = {
  leases: 2,
  refusedAsExpected: refusals,
  paidToProvider: earned.toString(),
  refunded: refund.toString(),
  spent: spent.toString(),
  returnedToOwner: left.toString(),
  budgetConserved: solvency.surplus === 0n && registryHeld === stake.total && spent === earned && refusals === 2,
  durationS: Math.round((Date.now() - t0) / 100) / 10,
};
await chain.close();
console.log(`DEMO-SUMMARY ${JSON.stringify(summary)}`);
if (!summary.budgetConserved) process.exitCode = 1;
