/**
 * EIP-1559 fees for every transaction a client sends: a cap (`maxFee`, the most a unit of gas may ever cost), a tip
 * taken from the node's suggestion and bounded by `maxPriorityFee`, a quote refused with a sentence when the market
 * asks more than the cap (no silent overpay), the bump a stuck transaction's replacement gets, and the gas spent.
 *
 * The quote reads `eth_feeHistory`, whose last base fee is the next block's (what the transaction will meet), and
 * `eth_maxPriorityFeePerGas` (the median reward of the last blocks when the node lacks it). A provider that cannot
 * send raw requests (a FallbackProvider) is quoted from the latest block and `getFeeData()` instead.
 *
 * Replacement: geth, Besu and Hardhat's EDR take a transaction with a used nonce only when both its max fee and its
 * tip are at least 10 % above the pending one's (EDR: "A gasPrice/maxFeePerGas of at least … is necessary"),
 * OpenEthereum 12.5 %; {@link bumped} raises both by 12.5 %, which also covers one block's largest base-fee rise.
 *
 * @example
 *   const fees = resolveFees(feeConfigSchema.parse({ maxFee: "20 gwei" }));
 *   const q = await quoteFees(provider, fees, "claiming lease 7");   // FEE_ABOVE_CAP when the base fee is above 20 gwei
 *   await signer.sendTransaction({ ...tx, type: 2, maxFeePerGas: q.maxFeePerGas, maxPriorityFeePerGas: q.maxPriorityFeePerGas });
 */
import { formatUnits, type Provider, type TransactionReceipt } from "ethers";
import { z } from "zod";
import { ChainError, ConfigError } from "../errors.ts";

const GWEI = 1_000_000_000n;
/** The tip bound when none is configured (at most the cap). */
const DEFAULT_TIP_BOUND = 2n * GWEI;

const GAS_PRICE = /^\s*(\d+\s*wei|\d+(\.\d{1,9})?\s*gwei)\s*$/i;

/** A gas price as people write it: "2 gwei", "0.05 gwei", "1500000 wei". */
const gasPrice = z
  .string()
  .regex(
    GAS_PRICE,
    'a gas price like "30 gwei", "0.01 gwei" or "1500000 wei" (gwei with at most 9 decimals, wei whole)',
  );

/** The fee fields of a configuration (yard config `chain.fees`, the CLI's flags, the environment). */
export const feeFields = z
  .object({
    /** The cap: no transaction offers more per gas. Ethereum's base fee stays below 100 gwei outside spikes; an
     * L2's is below 1 gwei: set it lower there. */
    maxFee: gasPrice.default("100 gwei"),
    /** The most tip the node's suggestion is taken up to (default 2 gwei, or `maxFee` when lower): Hardhat and
     * geth suggest 1 gwei or less. A stuck transaction's replacement raises its tip above this if need be
     * (replace.ts: nodes take a replacement only with a higher tip); its max fee stays within `maxFee`. */
    maxPriorityFee: gasPrice.optional(),
    /** A transaction not mined after this many blocks is sent again with the same nonce and higher fees. */
    replaceAfterBlocks: z.number().int().min(1).max(1000).default(3),
    /** … or after this many seconds (a head that does not move through a lagging RPC), whichever comes first. */
    replaceAfterS: z.number().int().min(1).max(3600).default(45),
  })
  .strict();

/** The tip bound is part of the fee: refuses a `maxPriorityFee` above `maxFee` (a zod superRefine). */
export function checkFeeTip(v: { maxFee: string; maxPriorityFee?: string | undefined }, ctx: z.RefinementCtx): void {
  // Runs on values a field's regex refused too (zod goes on with a dirty object): those have their sentence.
  const [tip, cap] = [v.maxPriorityFee, v.maxFee].map((t) =>
    t !== undefined && GAS_PRICE.test(t) ? parseGasPrice(t) : undefined,
  );
  if (tip !== undefined && cap !== undefined && tip > cap)
    ctx.addIssue({
      code: z.ZodIssueCode.custom,
      path: ["maxPriorityFee"],
      message: `must be at most maxFee (${v.maxFee}): the tip is part of the fee; lower it or raise maxFee`,
    });
}

/** {@link feeFields}, checked together. */
export const feeConfigSchema = feeFields.superRefine(checkFeeTip);

export type FeeConfig = z.output<typeof feeConfigSchema>;
export type FeeConfigInput = z.input<typeof feeConfigSchema>;

/** Fees in wei and bounds in blocks and ms, as the send path uses them. */
export interface FeeOptions {
  maxFeePerGas: bigint;
  maxPriorityFeePerGas: bigint;
  replaceAfterBlocks: number;
  replaceAfterMs: number;
}

/** "30 gwei" → 30 000 000 000n wei. */
export function parseGasPrice(text: string): bigint {
  const m = /^\s*(\d+)(?:\.(\d{1,9}))?\s*(wei|gwei)\s*$/i.exec(text);
  if (!m) throw new ConfigError("BAD_FEE", `"${text}" is not a gas price; write e.g. "30 gwei" or "1500000 wei"`);
  if (m[3]!.toLowerCase() === "wei") {
    if (m[2] !== undefined) throw new ConfigError("BAD_FEE", `"${text}": wei are whole; write e.g. "1500000 wei"`);
    return BigInt(m[1]!);
  }
  return BigInt(m[1]!) * GWEI + BigInt((m[2] ?? "").padEnd(9, "0"));
}

/** A gas price for people: "1.5 gwei". */
export function formatGasPrice(wei: bigint): string {
  return `${formatUnits(wei, "gwei").replace(/\.0$/, "")} gwei`;
}

/** A validated fee config in wei. */
export function resolveFees(c: FeeConfig): FeeOptions {
  const cap = parseGasPrice(c.maxFee);
  const tip = c.maxPriorityFee === undefined ? DEFAULT_TIP_BOUND : parseGasPrice(c.maxPriorityFee);
  return {
    maxFeePerGas: cap,
    maxPriorityFeePerGas: tip < cap ? tip : cap,
    replaceAfterBlocks: c.replaceAfterBlocks,
    replaceAfterMs: c.replaceAfterS * 1000,
  };
}

/** The environment's names for the fee config (the agent and any process given no config or flag). */
export const FEE_ENV = {
  maxFee: "ICON_MAX_FEE",
  maxPriorityFee: "ICON_MAX_PRIORITY_FEE",
  replaceAfterBlocks: "ICON_REPLACE_AFTER_BLOCKS",
  replaceAfterS: "ICON_REPLACE_AFTER_S",
} as const;

/**
 * Fees from `over` (a config section or flags), then the environment (ICON_MAX_FEE, ICON_MAX_PRIORITY_FEE,
 * ICON_REPLACE_AFTER_BLOCKS, ICON_REPLACE_AFTER_S), then the defaults; a bad value is a BAD_FEE sentence naming
 * where it came from (`names`: how the caller calls the fields, e.g. "--max-fee").
 */
export function feesFrom(
  over: Partial<FeeConfigInput> = {},
  env: NodeJS.ProcessEnv = process.env,
  names: Partial<Record<keyof FeeConfigInput, string>> = {},
): FeeOptions {
  const raw: Record<string, unknown> = {};
  const from: Record<string, string> = {};
  for (const [field, name] of Object.entries(FEE_ENV)) {
    const v = env[name];
    if (v === undefined || v === "") continue;
    raw[field] = field.startsWith("replace") ? (/^\d+$/.test(v) ? Number(v) : v) : v;
    from[field] = `${name}=${v}`;
  }
  for (const [field, v] of Object.entries(over)) {
    if (v === undefined) continue;
    raw[field] = v;
    from[field] = `${names[field as keyof FeeConfigInput] ?? field} "${String(v)}"`;
  }
  const r = feeConfigSchema.safeParse(raw);
  if (!r.success) {
    const i = r.error.issues[0]!;
    const field = String(i.path[0] ?? "");
    throw new ConfigError("BAD_FEE", `${from[field] ?? field}: ${i.message}`, { details: { issues: r.error.issues } });
  }
  return resolveFees(r.data);
}

/** What one transaction offers per gas, and what the next block asks. */
export interface FeeQuote {
  maxFeePerGas: bigint;
  maxPriorityFeePerGas: bigint;
  /** The next block's base fee (or the latest's, where the next is not known). */
  baseFeePerGas: bigint;
  /** The latest block's number when quoted. */
  block: number;
}

/** What a unit of gas is expected to cost with `q`: the base fee plus the tip, at most the max fee. */
export function expectedGasPrice(q: FeeQuote): bigint {
  const p = q.baseFeePerGas + q.maxPriorityFeePerGas;
  return p < q.maxFeePerGas ? p : q.maxFeePerGas;
}

/** A provider that can send raw JSON-RPC requests (JsonRpcProvider, Hardhat's). */
type RawProvider = Provider & { send(method: string, params: unknown[]): Promise<unknown> };

/**
 * The fees to offer now: tip = the node's suggestion bounded by `o.maxPriorityFeePerGas`; max fee = twice the next
 * base fee plus the tip (room for six full blocks of rises), at most the cap. Refuses with FEE_ABOVE_CAP (nothing
 * sent) when the next block's base fee is above the cap.
 */
export async function quoteFees(provider: Provider, o: FeeOptions, action: string): Promise<FeeQuote> {
  const { base, suggested, block } = await marketFees(provider);
  if (base > o.maxFeePerGas)
    throw new ChainError(
      "FEE_ABOVE_CAP",
      `${action} waits: the chain asks a base fee of ${formatGasPrice(base)} per gas, above the configured cap of ${formatGasPrice(o.maxFeePerGas)} (maxFee); nothing was sent — raise the cap or try again when fees fall`,
      { details: { baseFeePerGas: base, maxFeePerGas: o.maxFeePerGas } },
    );
  let tip = suggested < o.maxPriorityFeePerGas ? suggested : o.maxPriorityFeePerGas;
  const want = 2n * base + tip;
  const maxFee = want < o.maxFeePerGas ? want : o.maxFeePerGas;
  if (tip > maxFee - base) tip = maxFee - base;
  return { maxFeePerGas: maxFee, maxPriorityFeePerGas: tip, baseFeePerGas: base, block };
}

async function marketFees(provider: Provider): Promise<{ base: bigint; suggested: bigint; block: number }> {
  const raw = provider as Partial<RawProvider>;
  if (typeof raw.send === "function") {
    const p = provider as RawProvider;
    const [history, tip] = await Promise.all([
      p.send("eth_feeHistory", ["0x5", "latest", [50]]) as Promise<{
        oldestBlock: string;
        baseFeePerGas?: string[];
        reward?: string[][];
      }>,
      (p.send("eth_maxPriorityFeePerGas", []) as Promise<string>).then(BigInt, () => undefined),
    ]);
    const bases = history.baseFeePerGas ?? [];
    if (bases.length === 0) throw noBaseFee();
    const rewards = (history.reward ?? []).map((r) => BigInt(r[0] ?? 0)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    // baseFeePerGas: one per block asked plus the next block's, last.
    const block = Number(history.oldestBlock) + bases.length - 2;
    return { base: BigInt(bases[bases.length - 1]!), suggested: tip ?? rewards[rewards.length >> 1] ?? 0n, block };
  }
  const [block, data] = await Promise.all([provider.getBlock("latest"), provider.getFeeData()]);
  if (block?.baseFeePerGas == null) throw noBaseFee();
  return { base: block.baseFeePerGas, suggested: data.maxPriorityFeePerGas ?? 0n, block: block.number };
}

function noBaseFee(): ChainError {
  return new ChainError(
    "CHAIN_FAILED",
    "the chain reports no base fee: it does not take EIP-1559 transactions, which this client sends",
  );
}

/** Fees at least 12.5 % above `q` (rounded up), both the max fee and the tip: what a replacement offers. */
export function bumped(q: Pick<FeeQuote, "maxFeePerGas" | "maxPriorityFeePerGas">): {
  maxFeePerGas: bigint;
  maxPriorityFeePerGas: bigint;
} {
  const up = (v: bigint): bigint => (v * 9n + 7n) / 8n;
  return { maxFeePerGas: up(q.maxFeePerGas), maxPriorityFeePerGas: up(q.maxPriorityFeePerGas) };
}

/** Gas a client's own transactions spent (gasUsed × effective gas price, exact wei), in all and per function. */
export class GasSpend {
  #total = 0n;
  readonly #byKind = new Map<string, bigint>();

  /** Adds what the mined `receipt` of a call to `kind` cost (reverted ones cost too). */
  add(kind: string, receipt: Pick<TransactionReceipt, "gasUsed" | "gasPrice">): bigint {
    const wei = receipt.gasUsed * receipt.gasPrice;
    this.#total += wei;
    this.#byKind.set(kind, (this.#byKind.get(kind) ?? 0n) + wei);
    return wei;
  }

  /** Wei spent in all. */
  get total(): bigint {
    return this.#total;
  }

  /** Wei spent per function called (claimMany, confirmStart, relay, …). */
  byKind(): Map<string, bigint> {
    return new Map(this.#byKind);
  }
}

/** A client's fees: its options, the quote against its provider, and what its transactions spent. */
export class ChainFees {
  readonly options: FeeOptions;
  readonly spent = new GasSpend();
  readonly #provider: Provider;

  constructor(options: FeeOptions, provider: Provider) {
    this.options = options;
    this.#provider = provider;
  }

  /** The fees a transaction would offer now; FEE_ABOVE_CAP (a sentence naming `action`) above the cap. */
  quote(action = "sending a transaction"): Promise<FeeQuote> {
    return quoteFees(this.#provider, this.options, action);
  }
}
