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
 * for it), else by an `approve` the fresh address pays for with ETH the deployer sends it (what it leaves over stays
 * there).
 *
 * @example
 *   await probeToken({ token: "0x8335…2913", signer: new NonceManager(wallet), log: say });
 */
import {
  Contract,
  Interface,
  Wallet,
  isError,
  type BaseWallet,
  type FunctionFragment,
  type Provider,
  type Signer,
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
  /** The deployer, connected to the chain's provider; it must hold `amount` of the token. */
  signer: Signer;
  /** Units sent to the fresh address and back (default 0.01 token, so a fee of 1 basis point shows). */
  amount?: bigint;
  /** Progress lines. */
  log?: (line: string) => void;
  /** Ask the views only rebasing tokens answer (default true; false probes the transfers alone). */
  signals?: boolean;
}

/** Throws ChainError TOKEN_NOT_EXACT (or TOKEN_PROBE_UNFUNDED, NOT_A_TOKEN) unless `token` moves exactly; a failed
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

async function probe(o: TokenProbeOptions): Promise<void> {
  const provider = o.signer.provider;
  if (!provider) throw new ChainError("NO_PROVIDER", "the token probe needs a signer connected to the chain");
  const log = o.log ?? (() => {});
  const token = new Contract(o.token, ERC20_ABI, o.signer);
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
  const deployer = await o.signer.getAddress();
  const amount = o.amount ?? maxBig(1n, 10n ** BigInt(info.decimals) / 100n);
  const held = (await token.getFunction("balanceOf")(deployer)) as bigint;
  if (held < amount)
    throw new ChainError(
      "TOKEN_PROBE_UNFUNDED",
      `the deployer ${deployer} holds ${fmt(held)}; before deploying over it, the token is probed by sending ${fmt(amount)} to a fresh address and back: send the deployer at least ${fmt(amount)} (it gets it back)`,
    );
  const balance = async (who: string, block: number): Promise<bigint> =>
    (await token.getFunction("balanceOf")(who, { blockTag: block })) as bigint;
  const fresh = Wallet.createRandom(provider);
  log(`probing ${info.symbol}: sending ${fmt(amount)} to a fresh address ${fresh.address} and back`);

  const out = await mined(token.getFunction("transfer")(fresh.address, amount));
  const n = out.blockNumber;
  const [sent, got] = [
    (await balance(deployer, n - 1)) - (await balance(deployer, n)),
    await balance(fresh.address, n),
  ];
  if (sent !== amount || got !== amount)
    refuse(`sending ${fmt(amount)} to a fresh address took ${fmt(sent)} from the sender and delivered ${fmt(got)}`);

  const back = await returnToDeployer(provider, token, o, fresh, amount, log);
  const k = back.blockNumber;
  const [kept, returned, left] = [
    await balance(fresh.address, k - 1),
    (await balance(deployer, k)) - (await balance(deployer, k - 1)),
    await balance(fresh.address, k),
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

/** The fresh address's tokens back to the deployer by `transferFrom`, allowed by a permit the fresh key signs or by
 * an approve it pays gas for. */
async function returnToDeployer(
  provider: Provider,
  token: Contract,
  o: TokenProbeOptions,
  fresh: BaseWallet,
  amount: bigint,
  log: (line: string) => void,
): Promise<TransactionReceipt> {
  const deployer = await o.signer.getAddress();
  const { chainId } = await provider.getNetwork();
  const support = await permitSupport(provider, o.token, chainId);
  if (support.kind === "permit") {
    const nonce = (await token.getFunction("nonces")(fresh.address)) as bigint;
    const deadline = await permitDeadline(provider);
    const p = { owner: fresh.address, spender: deployer, value: amount, nonce, deadline };
    const sig = await signPermit(fresh, support.domain, p);
    await mined(token.getFunction("permit")(fresh.address, deployer, amount, deadline, sig.v, sig.r, sig.s));
    return mined(token.getFunction("transferFrom")(fresh.address, deployer, amount));
  }
  const asFresh = token.connect(fresh) as Contract;
  const gasLimit = await asFresh.getFunction("approve").estimateGas(deployer, amount);
  const fees = await provider.getFeeData();
  const maxFeePerGas = fees.maxFeePerGas ?? fees.gasPrice ?? 1_000_000_000n;
  // Thrice the execution cost: room for a rising base fee and a rollup's L1 data fee.
  const gasMoney = gasLimit * maxFeePerGas * 3n;
  log(
    `the token takes no permit (${support.reason}): sending the fresh address ${gasMoney} wei for the gas of its approve; it keeps what it leaves over`,
  );
  await mined(o.signer.sendTransaction({ to: fresh.address, value: gasMoney }));
  const fee = fees.maxFeePerGas
    ? { maxFeePerGas, maxPriorityFeePerGas: fees.maxPriorityFeePerGas ?? 0n }
    : { gasPrice: maxFeePerGas };
  await mined(asFresh.getFunction("approve")(deployer, amount, { gasLimit, ...fee }));
  return mined(token.getFunction("transferFrom")(fresh.address, deployer, amount));
}

/** Waits for a sent transaction; a revert or a drop is a ChainError. */
async function mined(sent: Promise<{ wait(): Promise<TransactionReceipt | null> }>): Promise<TransactionReceipt> {
  const receipt = await (await sent).wait();
  if (!receipt)
    throw new ChainError("CHAIN_FAILED", "a transaction of the token probe was dropped; run the deploy again");
  return receipt;
}

const maxBig = (a: bigint, b: bigint): bigint => (a > b ? a : b);
