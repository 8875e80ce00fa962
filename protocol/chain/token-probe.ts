/**
 * Whether a token moves exactly: the market's vault credits what arrived and owes exact amounts, so over a token
 * that takes a fee on transfer or changes balances by itself (rebasing) it would owe more than it holds. `icon
 * deploy` runs this before deploying the market over an existing token (scripts/lib/hardhat.ts) and refuses a
 * token that fails it, with a sentence saying what was seen.
 *
 * The probe: signals a rebasing token answers (stETH's shares, Aave's scaled balances, Ampleforth's monetary
 * policy); then a small amount sent from the deployer to a fresh address and back, every balance compared exactly
 * at the block before and the block of each transfer, and the fresh address's balance again a block later with no
 * transfer in between. The way there is a `transfer` (how the market pays out), the way back a `transferFrom` by the
 * deployer (how the market takes deposits), allowed by a permit the fresh key signs when the token takes one (no gas
 * for it), else by an `approve` the fresh address pays for with ETH the deployer sends it (generously, for a
 * rollup's L1 data fee; what it leaves over is sent back).
 *
 * Nothing is lost when a run stops half-way: the fresh key is derived from the deployer's key, the token and the
 * chain ({@link probeKey}), so every run starts by sending back what the fresh address still holds, and a token
 * refused after the way there is sent back (as far as it goes) before the refusal. A token whose way back reverts
 * (a broken `transferFrom`, a pause or blocklist after the first move) is refused too, after the fresh address sent
 * its tokens back by its own `transfer` where the token lets it; the refusal says what the fresh address still holds.
 *
 * @example
 *   await probeToken({ token: "0x8335…2913", deployer: wallet, log: say });
 */
import {
  Contract,
  Interface,
  NonceManager,
  Wallet,
  concat,
  getAddress,
  isError,
  keccak256,
  toBeHex,
  toUtf8Bytes,
  type BaseWallet,
  type FunctionFragment,
  type Provider,
  type TransactionReceipt,
} from "ethers";
import { ChainError, IconError } from "../errors.ts";
import { formatAmount, type TokenInfo } from "../units.ts";
import { toChainError } from "./errors.ts";
import { permitDeadline, permitSupport, signPermit } from "./permit.ts";

const ERC20_ABI = [
  "function symbol() view returns (string)",
  "function decimals() view returns (uint8)",
  "function balanceOf(address) view returns (uint256)",
  "function transfer(address to, uint256 value) returns (bool)",
  "function transferFrom(address from, address to, uint256 value) returns (bool)",
  "function approve(address spender, uint256 value) returns (bool)",
  "function permit(address owner, address spender, uint256 value, uint256 deadline, uint8 v, bytes32 r, bytes32 s)",
  "function nonces(address owner) view returns (uint256)",
];

/** Views only rebasing tokens answer, and whose they are. */
const REBASING_SIGNALS: Array<[signature: string, whose: string]> = [
  ["function sharesOf(address) view returns (uint256)", "stETH-style shares"],
  ["function getSharesByPooledEth(uint256) view returns (uint256)", "stETH-style shares"],
  ["function scaledBalanceOf(address) view returns (uint256)", "Aave-style scaled balances"],
  ["function monetaryPolicy() view returns (address)", "an Ampleforth-style monetary policy"],
];

/** What {@link probeToken} needs. */
export interface TokenProbeOptions {
  /** The token's address. */
  token: string;
  /** The deployer, connected to the chain's provider; it must hold `amount` of the token. Its key also derives the
   * fresh address's ({@link probeKey}). */
  deployer: Wallet;
  /** Units sent to the fresh address and back (default 0.01 token, so a fee of 1 basis point shows). */
  amount?: bigint;
  /** Progress lines. */
  log?: (line: string) => void;
  /** Ask the views only rebasing tokens answer (default true; false probes the transfers alone). */
  signals?: boolean;
}

/** Throws ChainError TOKEN_NOT_EXACT (or TOKEN_MOVE_REVERTS, TOKEN_PROBE_UNFUNDED, NOT_A_TOKEN) unless `token` moves exactly; a failed
 * call is a ChainError sentence too. */
export async function probeToken(o: TokenProbeOptions): Promise<void> {
  try {
    await probe(o);
  } catch (e) {
    if (e instanceof IconError) throw e;
    throw toChainError(
      e,
      `probing the token at ${o.token} (nothing of the market is deployed yet; run the deploy again)`,
    );
  }
}

/** Domain separation of {@link probeKey}: no other key is ever derived from the same input. */
const PROBE_KEY_DOMAIN = "ICON token probe: fresh address key v1";

/** The fresh address's key for `deployerKey` probing `token` on chain `chainId`: keccak256 of a domain string, the
 * deployer's key, the token's address and the chain id. Whoever holds the deployer's key can always recover it. */
export function probeKey(deployerKey: string, token: string, chainId: bigint): string {
  return keccak256(concat([toUtf8Bytes(PROBE_KEY_DOMAIN), deployerKey, getAddress(token), toBeHex(chainId, 32)]));
}

/** What one run of the probe works with. */
interface Run {
  o: TokenProbeOptions;
  provider: Provider;
  /** The deployer, nonces counted locally. */
  signer: NonceManager;
  deployer: string;
  token: Contract;
  fresh: BaseWallet;
  log: (line: string) => void;
  fmt: (v: bigint) => string;
  symbol: string;
}

async function probe(o: TokenProbeOptions): Promise<void> {
  const provider = o.deployer.provider;
  if (!provider) throw new ChainError("NO_PROVIDER", "the token probe needs a deployer connected to the chain");
  const log = o.log ?? (() => {});
  const signer = new NonceManager(o.deployer);
  const token = new Contract(o.token, ERC20_ABI, signer);
  const info = await tokenInfo(provider, token, o.token);
  const fmt = (v: bigint): string => formatAmount(v, info);
  const refuse = (what: string): never => {
    throw new ChainError(
      "TOKEN_NOT_EXACT",
      `refusing to deploy the market over the token at ${o.token} (${info.symbol}): ${what}. The market's books assume every transfer moves exactly the amount asked and balances change only by transfers; tokens that take a fee on transfer or rebase are not supported`,
    );
  };
  for (const [signature, whose] of o.signals === false ? [] : REBASING_SIGNALS) {
    if (await answers(provider, o.token, signature))
      refuse(`it answers ${signature.split(" ")[1]} (${whose}): it rebases`);
  }
  const deployer = o.deployer.address;
  const { chainId } = await provider.getNetwork();
  const fresh = new Wallet(probeKey(o.deployer.privateKey, o.token, chainId), provider);
  const run: Run = { o, provider, signer, deployer, token, fresh, log, fmt, symbol: info.symbol };
  const balanceNow = async (who: string): Promise<bigint> => (await token.getFunction("balanceOf")(who)) as bigint;
  // What an earlier run left at the fresh address (it stopped half-way): back to the deployer first.
  const earlier = await balanceNow(fresh.address);
  if (earlier > 0n) {
    log(`the probe's fresh address ${fresh.address} holds ${fmt(earlier)} from an earlier run: sending it back`);
    await wayBack(run, earlier);
  }
  await sweepEth(run);
  const amount = o.amount ?? maxBig(1n, 10n ** BigInt(info.decimals) / 100n);
  const held = await balanceNow(deployer);
  if (held < amount)
    throw new ChainError(
      "TOKEN_PROBE_UNFUNDED",
      `the deployer ${deployer} holds ${fmt(held)}; before deploying over it, the token is probed by sending ${fmt(amount)} to a fresh address and back: send the deployer at least ${fmt(amount)} (it gets it back)`,
    );
  const balance = async (who: string, block: number): Promise<bigint> =>
    (await token.getFunction("balanceOf")(who, { blockTag: block })) as bigint;
  log(`probing ${info.symbol}: sending ${fmt(amount)} to a fresh address ${fresh.address} and back`);

  const out = await mined(token.getFunction("transfer")(fresh.address, amount));
  const n = out.blockNumber;
  // The fresh address's balance before (dust a rebasing token grew after the sweep) is subtracted throughout.
  const base = await balance(fresh.address, n - 1);
  const [sent, got] = [
    (await balance(deployer, n - 1)) - (await balance(deployer, n)),
    (await balance(fresh.address, n)) - base,
  ];
  if (sent !== amount || got !== amount) {
    await giveBackBeforeRefusing(run);
    refuse(`sending ${fmt(amount)} to a fresh address took ${fmt(sent)} from the sender and delivered ${fmt(got)}`);
  }

  const back = await wayBack(run, amount);
  await sweepEth(run);
  const k = back.blockNumber;
  const [kept, returned, left] = [
    (await balance(fresh.address, k - 1)) - base,
    (await balance(deployer, k)) - (await balance(deployer, k - 1)),
    (await balance(fresh.address, k)) - base,
  ];
  if (kept !== amount)
    refuse(`the fresh address's ${fmt(amount)} became ${fmt(kept)} in ${k - 1 - n} block(s) without a transfer`);
  if (returned !== amount || left !== 0n)
    refuse(
      `sending ${fmt(amount)} back took ${fmt(amount - left)} from the fresh address and delivered ${fmt(returned)}`,
    );
  log(`${info.symbol} moves exactly: ${fmt(amount)} there and back, every balance as expected`);
}

/** Symbol and decimals, or NOT_A_TOKEN. */
async function tokenInfo(provider: Provider, token: Contract, address: string): Promise<TokenInfo> {
  if ((await provider.getCode(address)) === "0x")
    throw new ChainError(
      "NOT_A_TOKEN",
      `no contract at ${address} on this chain: check the token address and the network`,
    );
  try {
    const [symbol, decimals] = await Promise.all([token.getFunction("symbol")(), token.getFunction("decimals")()]);
    return { symbol: String(symbol), decimals: Number(decimals) };
  } catch (e) {
    if (isError(e, "CALL_EXCEPTION") || isError(e, "BAD_DATA"))
      throw new ChainError(
        "NOT_A_TOKEN",
        `the contract at ${address} does not answer symbol() and decimals() as an ERC-20`,
        { cause: e },
      );
    throw e;
  }
}

/** Whether `address` answers the view `signature` (with zero arguments) with a word or more. */
async function answers(provider: Provider, address: string, signature: string): Promise<boolean> {
  const iface = new Interface([signature]);
  const fn = iface.fragments[0] as FunctionFragment;
  const data = iface.encodeFunctionData(
    fn,
    fn.inputs.map((i) => (i.type === "address" ? address : 1n)),
  );
  try {
    return (await provider.call({ to: address, data })).length >= 66;
  } catch (e) {
    if (isError(e, "CALL_EXCEPTION")) return false;
    throw e;
  }
}

/** The fresh address's `value` back to the deployer by `transferFrom`, allowed by a permit the fresh key signs or
 * by an approve it pays gas for (with ETH the deployer sends it when it has too little). */
async function returnToDeployer(r: Run, value: bigint): Promise<TransactionReceipt> {
  const { provider, token, fresh, deployer } = r;
  const { chainId } = await provider.getNetwork();
  const support = await permitSupport(provider, r.o.token, chainId);
  if (support.kind === "permit") {
    const nonce = (await token.getFunction("nonces")(fresh.address)) as bigint;
    const deadline = await permitDeadline(provider);
    const p = { owner: fresh.address, spender: deployer, value, nonce, deadline };
    const sig = await signPermit(fresh, support.domain, p);
    await mined(token.getFunction("permit")(fresh.address, deployer, value, deadline, sig.v, sig.r, sig.s));
    return mined(token.getFunction("transferFrom")(fresh.address, deployer, value));
  }
  const asFresh = token.connect(fresh) as Contract;
  const gasLimit = await asFresh.getFunction("approve").estimateGas(deployer, value);
  const overrides = await freshPaysGas(r, gasLimit, `its approve (the token takes no permit: ${support.reason})`);
  await mined(asFresh.getFunction("approve")(deployer, value, { gasLimit, ...overrides }));
  return mined(token.getFunction("transferFrom")(fresh.address, deployer, value));
}

/** {@link returnToDeployer}; a token whose way back reverts (its `approve`/`permit` and `transferFrom`, how the
 * market takes deposits, or any move after the first) is refused with TOKEN_MOVE_REVERTS once the fresh address's
 * tokens went back by its own `transfer` (where the token lets them) and its ETH was swept; the refusal says what
 * is left where. */
async function wayBack(r: Run, value: bigint): Promise<TransactionReceipt> {
  try {
    return await returnToDeployer(r, value);
  } catch (e) {
    if (!isError(e, "CALL_EXCEPTION")) throw e;
    const asFresh = r.token.connect(r.fresh) as Contract;
    let how: string;
    try {
      const held = (await r.token.getFunction("balanceOf")(r.fresh.address)) as bigint;
      const gasLimit = await asFresh.getFunction("transfer").estimateGas(r.deployer, held);
      const overrides = await freshPaysGas(r, gasLimit, "its own transfer back");
      await mined(asFresh.getFunction("transfer")(r.deployer, held, { gasLimit, ...overrides }));
      how = `its ${r.fmt(held)} went back to the deployer by the fresh address's own transfer`;
    } catch (e2) {
      how = `the fresh address's own transfer back failed too (${reverted(e2)})`;
    }
    await sweepEth(r);
    const tokens = (await r.token.getFunction("balanceOf")(r.fresh.address)) as bigint;
    const eth = await r.provider.getBalance(r.fresh.address);
    const held = [tokens > 0n ? r.fmt(tokens) : "", eth > 0n ? `${eth} wei of ETH` : ""].filter(Boolean).join(" and ");
    const left = held
      ? `the fresh address still holds ${held} (its key derives from the deployer's key, the token and the chain, probeKey in protocol/chain/token-probe.ts; the next probe of this token by this deployer sends back what the token lets it)`
      : "the fresh address holds nothing of the probe";
    throw new ChainError(
      "TOKEN_MOVE_REVERTS",
      `refusing to deploy the market over the token at ${r.o.token} (${r.symbol}): taking ${r.fmt(value)} from the probe's fresh address ${r.fresh.address} back to the deployer by transferFrom, as the market takes deposits, reverted (${reverted(e)}); ${how}; ${left}. Nothing of the market is deployed`,
      { cause: e },
    );
  }
}

type Fee = Awaited<ReturnType<typeof feeOf>>;

/** Sends the fresh address the ETH for a transaction of `gasLimit` it pays for (ten times its execution cost: room
 * for a rising base fee and a rollup's L1 data fee, which an OP-stack chain charges on top of gas) when it holds
 * less; what it leaves over is swept back after the probe. The fee fields to send that transaction with. */
async function freshPaysGas(r: Run, gasLimit: bigint, what: string): Promise<Fee["overrides"]> {
  const fee = await feeOf(r.provider);
  const need = gasLimit * fee.maxFeePerGas * 10n;
  const has = await r.provider.getBalance(r.fresh.address);
  if (has < need) {
    r.log(`sending the fresh address ${need - has} wei for the gas of ${what}; what it leaves over is sent back`);
    await mined(r.signer.sendTransaction({ to: r.fresh.address, value: need - has }));
  }
  return fee.overrides;
}

/** Before a refusal: whatever the fresh address holds back to the deployer, as far as the token lets it. */
async function giveBackBeforeRefusing(r: Run): Promise<void> {
  try {
    const held = (await r.token.getFunction("balanceOf")(r.fresh.address)) as bigint;
    if (held > 0n) await returnToDeployer(r, held);
  } catch (e) {
    r.log(
      `could not send back what the fresh address ${r.fresh.address} holds (${brief(e)}); the next probe of this token by this deployer does`,
    );
  }
  await sweepEth(r);
}

/** The fresh address's ETH back to the deployer, but for a reserve for the transfer's own fees (five times its
 * execution cost, for a rollup's L1 data fee); dust under twice that stays (a later run spends it). Best effort:
 * a failure is a progress line, never a failed probe (the next run tries again). */
async function sweepEth(r: Run): Promise<void> {
  try {
    const fee = await feeOf(r.provider);
    const reserve = 21_000n * fee.maxFeePerGas * 5n;
    const has = await r.provider.getBalance(r.fresh.address);
    if (has <= reserve * 2n) return;
    const value = has - reserve;
    await mined(r.fresh.sendTransaction({ to: r.deployer, value, gasLimit: 21_000n, ...fee.overrides }));
  } catch (e) {
    r.log(
      `could not send the fresh address ${r.fresh.address}'s ETH back (${brief(e)}); the next probe of this token by this deployer tries again`,
    );
  }
}

/** The fee per gas to offer now, and the transaction fields that offer it (EIP-1559 where the chain has it). */
async function feeOf(provider: Provider): Promise<{
  maxFeePerGas: bigint;
  overrides: { maxFeePerGas: bigint; maxPriorityFeePerGas: bigint } | { gasPrice: bigint };
}> {
  const fees = await provider.getFeeData();
  const maxFeePerGas = fees.maxFeePerGas ?? fees.gasPrice ?? 1_000_000_000n;
  const overrides = fees.maxFeePerGas
    ? { maxFeePerGas, maxPriorityFeePerGas: minBig(fees.maxPriorityFeePerGas ?? 0n, maxFeePerGas) }
    : { gasPrice: maxFeePerGas };
  return { maxFeePerGas, overrides };
}

/** Waits for a sent transaction; a revert or a drop is a ChainError. */
async function mined(sent: Promise<{ wait(): Promise<TransactionReceipt | null> }>): Promise<TransactionReceipt> {
  const receipt = await (await sent).wait();
  if (!receipt)
    throw new ChainError("CHAIN_FAILED", "a transaction of the token probe was dropped; run the deploy again");
  return receipt;
}

/** A revert in a line: ethers' short message and the revert data's selector (a custom error the probe cannot name). */
const reverted = (e: unknown): string => {
  const data = (e as { data?: unknown } | null)?.data;
  return typeof data === "string" && data.length >= 10 ? `${brief(e)}, revert data ${data.slice(0, 10)}` : brief(e);
};

/** An error in a line: ethers' short message (its full one may carry the RPC URL, and a hosted RPC's key in it). */
const brief = (e: unknown): string =>
  (e as { shortMessage?: string } | null)?.shortMessage ?? (e instanceof Error ? e.message.split("\n")[0]! : String(e));

const maxBig = (a: bigint, b: bigint): bigint => (a > b ? a : b);
const minBig = (a: bigint, b: bigint): bigint => (a < b ? a : b);
