/**
 * Turns a failed chain call into a ChainError with a sentence a person understands: custom errors of the
 * contracts (also when they bubble up from the registry through the market) and common node failures.
 */
import { Interface, isError, type ErrorDescription } from "ethers";
import { ChainError, type ContractErrorCode } from "../errors.ts";
import { formatAmount, type TokenInfo } from "../units.ts";
import { accessManagerAbi, iconMarketAbi, iepRegistryAbi, testTokenAbi } from "./abi.generated.ts";

import { LEASE_STATES as STATES } from "./types.ts";

const allAbis = new Interface([
  ...iconMarketAbi.filter((f) => f.type === "error"),
  ...iepRegistryAbi.filter(
    (f) => f.type === "error" && !iconMarketAbi.some((m) => m.type === "error" && m.name === f.name),
  ),
  ...accessManagerAbi.filter((f) => f.type === "error" && f.name.startsWith("AccessManager")),
  ...testTokenAbi.filter((f) => f.type === "error" && f.name.startsWith("ERC20")),
] as never);

type Sentence = (a: ErrorDescription["args"], fmt: (v: bigint) => string) => string;

const allowedStates = (mask: bigint): string => STATES.filter((_, i) => (mask >> BigInt(i)) & 1n).join(" or ");

const SENTENCES: Record<string, Sentence> = {
  RegistryNotRegistered: (a) => `provider ${a[0]} has no listing; run \`icon iep register\` first`,
  RegistryInvalidListing: (a) => `the listing's field "${a[0]}" is invalid`,
  RegistryInsufficientStake: (a, f) => `provider ${a[0]} has ${f(a[1])} of free bonded stake but ${f(a[2])} is needed`,
  RegistryUnbondingNotOver: (a) =>
    `the unbonding period is not over: stake can be withdrawn from ${new Date(Number(a[1]) * 1000).toISOString()}`,
  RegistryNothingToWithdraw: () => "nothing is unbonding; request it first with `icon iep unstake <amount>`",
  RegistryZeroAmount: () => "the amount must be greater than zero",
  RegistrySlashAboveCap: (a, f) => `a slash of ${f(a[1])} exceeds the per-incident cap of ${f(a[2])}`,
  RegistryIncidentUsed: (a) => `incident ${a[0]} was already used for a slash (or is zero)`,
  RegistryInvalidParameter: (a) => `registry parameter "${a[0]}" is out of range`,
  RegistryUnbondingTooShort: (a) =>
    `an unbonding period of ${a[0]} s is shorter than the arbiter's slash delay (${a[1]} s) plus the reaction window (${a[2]} s): a provider could leave before a slash lands; lengthen the unbonding period`,
  BudgetUnknownAccount: (a) => `budget account ${a[0]} does not exist`,
  BudgetUnauthorized: (a) =>
    `${a[1]} may not act on budget account ${a[0]} (not its controller, its parent's, or the owner)`,
  BudgetInsufficientBalance: (a, f) => `budget account ${a[0]} holds ${f(a[1])} but ${f(a[2])} is needed`,
  BudgetAccountClosed: (a) => `budget account ${a[0]} is closed`,
  BudgetNotChild: (a) => `account ${a[1]} is not a child of account ${a[0]}`,
  BudgetDepthExceeded: (a) => `the budget tree may be at most ${a[1]} levels deep (would be ${a[0]})`,
  BudgetNotRoot: (a) => `account ${a[0]} is not an application root`,
  BudgetRootHasNoParent: (a) =>
    `account ${a[0]} is an application root: it has no parent (the owner withdraws from it instead)`,
  BudgetInvalidPolicy: (a) => `policy field "${a[0]}" is out of range (basis points are 0..10000)`,
  BudgetZeroValue: (a) => `"${a[0]}" must not be zero`,
  LeaseInvalidState: (a) => `lease ${a[0]} is ${STATES[Number(a[1])]} but this needs ${allowedStates(a[2])}`,
  LeaseOfferExpired: (a) => `the offer expired at ${new Date(Number(a[0]) * 1000).toISOString()}; ask for a new quote`,
  LeaseNonceUsed: (a) => `nonce ${a[1]} of ${a[0]} (an offer's or an intent's) was already used or cancelled`,
  LeaseInvalidSignature: (a) =>
    `a signature does not come from ${a[0]} (wrong key, chain or contract, or a tampered offer)`,
  LeaseWrongToken: (a) => `the offer pays in ${a[0]} but the market pays in ${a[1]}`,
  LeaseInvalidSlot: (a) => `the slot ${a[0]}..${a[1]} is empty, already started or too long`,
  LeaseInvalidPrice: (a, f) => `price ${f(a[0])}/s is zero or above the application's cap of ${f(a[1])}/s`,
  LeaseUnauthorized: (a) => `${a[1]} may not do this to lease ${a[0]}`,
  LeaseNotConfirmed: (a) => `the provider has not confirmed the start of lease ${a[0]}`,
  LeaseNothingToClaim: (a) => `nothing has accrued on lease ${a[0]} since the last claim`,
  LeaseBatchLength: (a) => `a batch claim names ${a[0]} leases; it takes 1 to ${a[1]}: split it`,
  LeaseNoEarnings: () => "there are no earnings to withdraw; claim leases first",
  LeaseZeroRecipient: () => "the recipient must not be the zero address",
  LeaseNoCollateralPending: (a) =>
    `lease ${a[0]} has no collateral waiting to be released (it is still open, does not exist, or was released already)`,
  LeaseInvalidRecipient: (a) =>
    `${a[0]} is the market or its registry: tokens sent there would be stranded; withdraw to a wallet instead`,
  BudgetInvalidRecipient: (a) =>
    `${a[0]} is the market or its registry: tokens sent there would be stranded; withdraw to a wallet instead`,
  RegistryInvalidRecipient: (a) =>
    `${a[0]} is the zero address, the registry or a lease market: tokens sent there would be lost; name a wallet instead`,
  RelayExpired: (a) =>
    `the intent expired at ${new Date(Number(a[0]) * 1000).toISOString()}; ask the ICON to sign it again`,
  RelayWrongRelayer: (a) => `the intent may be relayed only by ${a[0]}, not ${a[1]}`,
  RelayInvalidSignature: (a) =>
    `the intent's signature does not come from ${a[0]} (wrong key, chain or contract, or a tampered field)`,
  RelayNotAllowed: (a) =>
    `call ${a[0]} may not be relayed: only createAccount, allocate, returnToParent, closeAccount, requestFunding and terminate can`,
  RelayUnauthorized: (a) =>
    `${a[1]} neither controls budget account ${a[0]} nor owns its application, so it cannot charge relay fees to it`,
  RelayFeeTooHigh: (a, f) =>
    `a relay fee of ${f(a[0])} is above the application's cap of ${f(a[1])}; sign with a lower fee`,
  RelayAllowanceExceeded: (a, f) =>
    `the application of root account ${a[0]} (all accounts of its tree together) paid ${f(a[1])} in relay fees today; ${f(a[2])} more would pass its daily allowance of ${f(a[3])}; wait for the next UTC day or ask the owner to raise it`,
  MarketInvalidParameter: (a) => `market constructor argument "${a[0]}" is out of range`,
  ReentrancyGuardReentrantCall: () =>
    "the contract refused a re-entrant call (a token called back into it mid-transfer)",
  SafeCastOverflowedUintDowncast: (a) => `an amount does not fit in ${a[0]} bits; use a smaller amount`,
  SafeERC20FailedOperation: (a) => `the token ${a[0]} refused the transfer (it returned false)`,
  AccessManagedRequiredDelay: (a) =>
    `${a[0]} must schedule this call through the AccessManager and wait ${a[1]} s before executing it`,
  AccessManagedInvalidAuthority: (a) => `${a[0]} is not a valid access authority`,
  InvalidShortString: () => "a short string is malformed",
  StringTooLong: (a) => `the string "${a[0]}" is too long`,
  AccessManagerUnauthorizedAccount: (a) => `${a[0]} lacks the role this needs (role ${a[1]})`,
  AccessManagedUnauthorized: (a) => `${a[0]} is not allowed to call this function`,
  ERC20InsufficientBalance: (a, f) => `wallet ${a[0]} holds ${f(a[1])} but ${f(a[2])} is needed`,
  ERC20InsufficientAllowance: (a, f) => `allowance of ${a[0]} is ${f(a[1])} but ${f(a[2])} is needed`,
};

/** The errors that have a sentence of their own (the rest read "the contract refused with <name>"). */
export function errorsWithSentences(): string[] {
  return Object.keys(SENTENCES);
}

/** Decodes revert data into an error description, or null if it matches no known error. */
export function decodeRevert(data: string | undefined | null): ErrorDescription | null {
  if (!data || data === "0x") return null;
  try {
    return allAbis.parseError(data);
  } catch {
    return null;
  }
}

function findRevertData(e: unknown): string | undefined {
  let cur: unknown = e;
  for (let i = 0; i < 6 && cur && typeof cur === "object"; i++) {
    const o = cur as { data?: unknown; error?: unknown; info?: unknown; cause?: unknown };
    if (typeof o.data === "string" && o.data.startsWith("0x")) return o.data;
    cur = o.error ?? o.cause ?? (o.info as { error?: unknown } | undefined)?.error;
  }
  return undefined;
}

/** Errors of the connection itself (Node's codes and messages), the RPC's answer never having come. */
const CONNECTION_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "EPIPE", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH"]);
const CONNECTION_TEXT = /ECONNREFUSED|ECONNRESET|socket hang up|fetch failed|other side closed/;

/**
 * Whether `e` (or what it wraps: ethers keeps the transport's error as `error`, `cause` or `info.error`) is the
 * connection to the RPC refused, reset or cut — "socket hang up" when a kept-alive connection was closed under a
 * request — rather than an answer.
 */
function lostConnection(e: unknown): boolean {
  let cur: unknown = e;
  for (let i = 0; i < 6 && cur && typeof cur === "object"; i++) {
    const o = cur as { code?: unknown; message?: unknown; error?: unknown; cause?: unknown; info?: unknown };
    if (typeof o.code === "string" && CONNECTION_CODES.has(o.code)) return true;
    if (typeof o.message === "string" && CONNECTION_TEXT.test(o.message)) return true;
    cur = o.error ?? o.cause ?? (o.info as { error?: unknown } | undefined)?.error;
  }
  return CONNECTION_TEXT.test(String(e));
}

/**
 * The refusal `toChainError` makes of the contracts' custom error `name(...args)`: the same code and sentence
 * ("<action> refused: budget account 4 holds 0.5 iUSD but 3 iUSD is needed"), for a check made before the call
 * (the owner console refuses an amount over the balance it read before the wallet is asked).
 */
export function contractRefusal(
  name: ContractErrorCode,
  args: readonly unknown[],
  action: string,
  token?: TokenInfo,
  cause?: unknown,
): ChainError {
  const fmt = (v: bigint): string => (token ? formatAmount(BigInt(v), token) : `${v} units`);
  const sentence = SENTENCES[name]?.(args as ErrorDescription["args"], fmt) ?? `the contract refused with ${name}`;
  return new ChainError(name, `${action} refused: ${sentence}`, {
    details: { error: name, args: args.map(String) },
    ...(cause === undefined ? {} : { cause }),
  });
}

/** Maps any error from an ethers call to a ChainError with a clear sentence (keeps the original as cause). */
export function toChainError(e: unknown, action: string, token?: TokenInfo): ChainError {
  if (e instanceof ChainError) return e;
  const decoded = decodeRevert(findRevertData(e));
  // The name comes from the ABIs of these very contracts (allAbis), so it is one of their custom errors.
  if (decoded) return contractRefusal(decoded.name as ContractErrorCode, decoded.args.toArray(), action, token, e);
  if (isError(e, "NETWORK_ERROR") || isError(e, "TIMEOUT") || lostConnection(e)) {
    return new ChainError(
      "CHAIN_UNREACHABLE",
      `${action} failed: the chain RPC endpoint cannot be reached (is the node running? check --rpc)`,
      { cause: e },
    );
  }
  if (isError(e, "INSUFFICIENT_FUNDS")) {
    return new ChainError("NO_GAS", `${action} failed: the sending account has no native currency for gas`, {
      cause: e,
    });
  }
  if (isError(e, "CALL_EXCEPTION")) {
    return new ChainError("REVERTED", `${action} was reverted by the contract without a known reason`, { cause: e });
  }
  const short = (e as { shortMessage?: unknown }).shortMessage;
  const msg = typeof short === "string" ? short : e instanceof Error ? e.message.split("\n")[0] : String(e);
  return new ChainError("CHAIN_FAILED", `${action} failed: ${msg}`, { cause: e });
}
