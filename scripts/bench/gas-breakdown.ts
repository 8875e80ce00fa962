/**
 * Where the gas of one steady-state `openLease` goes (issue 19): the bench's set-up (a listed, staked provider, an
 * application, a provider's first lease), then the second lease traced with `debug_traceTransaction`, each step's
 * cost attributed to one item: the intrinsic 21 000 and the calldata, every storage read and write (cold or warm,
 * fresh or not), the signature checks (`ecrecover`, the code-size probes), the registry call with what it spends
 * inside (the AccessManager's check apart), the events, and the rest (hashing, memory, ABI, dispatch).
 *
 * Usage: node scripts/bench/gas-breakdown.ts     (after `hardhat build`; last line: one JSON object)
 *        SLOTS=1 …   also lists every storage access (contract, op, the slot's last bytes, gas) in order
 *        OPS=1 …     also splits "other execution" by opcode
 */
import { network } from "hardhat";
import { IconMarketDevModule, defaultMarketParameters } from "../../contracts/ignition/modules/IconMarket.ts";
import { ACCEPTANCE_TYPES, OFFER_TYPES, marketDomain, type Offer } from "../../protocol/eip712.ts";

type Step = { op: string; gas: number; gasCost: number; depth: number; stack?: string[] };

const conn = await network.create();
const { ethers, ignition, networkHelpers } = conn;
const d = await ignition.deploy(IconMarketDevModule);
const [deployer, provider, owner, icon] = await ethers.getSigners();
const token = await ethers.getContractAt("TestToken", await d.token.getAddress());
const registry = await ethers.getContractAt("IEPRegistry", await d.registry.getAddress());
const market = await ethers.getContractAt("IconMarket", await d.market.getAddress());
const manager = (await d.manager.getAddress()).toLowerCase();
const addr = {
  market: (await market.getAddress()).toLowerCase(),
  registry: (await registry.getAddress()).toLowerCase(),
};
const domain = marketDomain((await ethers.provider.getNetwork()).chainId, addr.market);

for (const s of [provider, owner]) {
  await token.mint(s.address, 10_000_000_000n);
  await token.connect(s).approve(addr.market, ethers.MaxUint256);
  await token.connect(s).approve(addr.registry, ethers.MaxUint256);
}
await registry.connect(provider).register({
  peerId: "0x00240801122012345678901234567890123456789012345678901234567890123456",
  multiaddrs: ["/ip4/127.0.0.1/tcp/4001"],
  domain: "edge-a.example",
  region: "eu-central",
  cpuMillis: 4000,
  memoryMiB: 8192,
  cpuPricePerSecond: 10n,
  memoryPricePerSecond: 5n,
});
await registry.connect(provider).stake(defaultMarketParameters.minStake * 10n);
const policy = {
  weightBps: 5000,
  migrateThresholdBps: 2000,
  replicateThresholdBps: 3000,
  terminateThresholdBps: 500,
  maxPricePerSecond: 0n,
  maxRelayFee: 50_000n,
  relayAllowancePerDay: 5_000_000n,
};
await (await market.connect(owner).createApp(icon.address, policy, 1_000_000_000n)).wait();
const root = await market.accountCount();

let nonce = 0n;
async function open(): Promise<string> {
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
  const tx = await market.connect(deployer).openLease(offer, ps, ts);
  await tx.wait();
  return tx.hash;
}
await open();
const hash = await open();
const receipt = (await ethers.provider.getTransactionReceipt(hash))!;
const tx = (await ethers.provider.getTransaction(hash))!;
const trace = (await conn.provider.request({
  method: "debug_traceTransaction",
  params: [hash, { disableMemory: true, disableStorage: true }],
})) as { gas: number; structLogs: Step[] };

const items = new Map<string, number>();
const add = (k: string, g: number): void => void items.set(k, (items.get(k) ?? 0) + g);

const data = ethers.getBytes(tx.data);
const zeros = data.filter((b) => b === 0).length;
add("intrinsic 21 000", 21_000);
add(`calldata (${data.length} bytes, ${zeros} zero)`, zeros * 4 + (data.length - zeros) * 16);

// Who runs at each depth: the call stack of addresses, pushed on CALL/STATICCALL/DELEGATECALL.
const logs = trace.structLogs;
const frames: string[] = [addr.market];
const name = (a: string): string =>
  a === addr.market ? "market" : a === addr.registry ? "registry" : a === manager ? "AccessManager" : a;
const slotsSeen = new Set<string>();
for (let i = 0; i < logs.length; i++) {
  const s = logs[i]!;
  const next = logs[i + 1];
  const who = name(frames[s.depth - 1] ?? "?");
  const top = (k: number): string => s.stack![s.stack!.length - 1 - k]!;
  let cost = next && next.depth === s.depth ? s.gas - next.gas : s.gasCost;
  if (["CALL", "STATICCALL", "DELEGATECALL"].includes(s.op)) {
    const target = "0x" + BigInt(top(1)).toString(16).padStart(40, "0");
    // The call's own cost: the gas before it less the gas after it returns, less what ran inside (the gas the
    // callee started with less what it had left when it returned).
    let j = i + 1;
    while (j < logs.length && logs[j]!.depth > s.depth) j++;
    const first = logs[i + 1]!;
    const last = logs[j - 1]!;
    const inner = first.depth > s.depth ? first.gas - (last.gas - last.gasCost) : 0;
    const after = logs[j];
    if (BigInt(target) === 1n) {
      add("ecrecover (precompile 3 000 + call)", after ? s.gas - after.gas : s.gasCost);
      i = j - 1;
      continue;
    }
    cost = after ? s.gas - after.gas - inner : s.gasCost;
    add(`${who}: ${s.op} to ${name(target)} (account access + call)`, cost);
    frames[s.depth] = target;
    continue;
  }
  if (s.op === "SLOAD" || s.op === "SSTORE") {
    const key = `${who}:${top(0)}`;
    const cold = !slotsSeen.has(key);
    slotsSeen.add(key);
    if (process.env.SLOTS) console.error(`  ${who} ${s.op} ${top(0).slice(-12)} ${cost}`);
    if (s.op === "SLOAD") add(`${who}: SLOAD ${cold ? "cold" : "warm"}`, cost);
    else add(`${who}: SSTORE ${cost >= 20_000 ? "fresh slot (zero → non-zero)" : "non-zero slot"}`, cost);
    continue;
  }
  if (s.op.startsWith("LOG")) add(`${who}: ${s.op} event`, cost);
  else if (s.op === "EXTCODESIZE") {
    const target = name("0x" + BigInt(top(0)).toString(16).padStart(40, "0"));
    add(
      `${who}: EXTCODESIZE ${target.startsWith("0x") ? "(a signer has code?)" : `of the ${target} (its account's first access)`}`,
      cost,
    );
  } else if (s.op === "KECCAK256") add(`${who}: KECCAK256`, cost);
  else if (s.op === "TLOAD" || s.op === "TSTORE") add(`${who}: transient (reentrancy guard)`, cost);
  else {
    add(`${who}: other execution`, cost);
    if (process.env.OPS) add(`  op ${who} ${s.op}`, cost);
  }
}

const total = [...items.values()].reduce((a, b) => a + b, 0);
for (const [k, g] of [...items.entries()].sort((a, b) => b[1] - a[1])) console.error(`${String(g).padStart(7)}  ${k}`);
console.error(`${String(total).padStart(7)}  sum of the items; receipt.gasUsed ${receipt.gasUsed}`);
console.log(JSON.stringify({ openLease: Number(receipt.gasUsed), items: Object.fromEntries(items) }));
