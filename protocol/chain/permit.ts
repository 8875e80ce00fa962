/**
 * ERC-2612 permits over whatever token the market uses: the token's EIP-712 domain is read, never assumed (USDC's
 * version is "2", OpenZeppelin's ERC20Permit's "1"), and checked against the token's own `DOMAIN_SEPARATOR()`
 * before anything is signed. A token whose domain cannot be established is used with `approve` instead.
 *
 * @example
 *   const p = await permitSupport(provider, tokenAddress, chainId);
 *   if (p.kind === "permit") sig = await signPermit(signer, p.domain, { owner, spender, value, nonce, deadline });
 *   else say(`${p.reason}: approving first`);
 */
import {
  Contract,
  Signature,
  isError,
  TypedDataEncoder,
  getAddress,
  id,
  type Provider,
  type Signer,
  type TypedDataDomain,
} from "ethers";

/** What a client reads of a permit token: the nonce. */
export const PERMIT_READ_ABI = ["function nonces(address owner) view returns (uint256)"];

const TOKEN_EIP712_ABI = [
  "function eip712Domain() view returns (bytes1 fields, string name, string version, uint256 chainId, address verifyingContract, bytes32 salt, uint256[] extensions)",
  "function DOMAIN_SEPARATOR() view returns (bytes32)",
  "function name() view returns (string)",
  "function version() view returns (string)",
  "function nonces(address owner) view returns (uint256)",
  "function PERMIT_TYPEHASH() view returns (bytes32)",
];

/** ERC-2612's Permit type hash; a token stating another (DAI's `allowed` permit) takes no ERC-2612 permit. */
const ERC2612_TYPEHASH = id("Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)");

/** ERC-5267's `fields` bits: name, version, chainId, verifyingContract, salt. */
const FIELD = { name: 1, version: 2, chainId: 4, verifyingContract: 8, salt: 16 } as const;

/** ERC-2612's Permit struct. */
export const PERMIT_TYPES = {
  Permit: [
    { name: "owner", type: "address" },
    { name: "spender", type: "address" },
    { name: "value", type: "uint256" },
    { name: "nonce", type: "uint256" },
    { name: "deadline", type: "uint256" },
  ],
};

/** How the market may take a token: by a permit in the same transaction, or after an `approve`. */
export type PermitSupport =
  | { kind: "permit"; domain: TypedDataDomain; source: "ERC-5267" | "name() and version()" }
  | { kind: "approve"; reason: string };

/** One view call, or undefined if the token reverts, lacks the function or answers garbage (an unreachable RPC
 * throws: it says nothing about the token). Hardhat's in-process provider throws its own error for a revert, not
 * ethers' CALL_EXCEPTION: its "Transaction reverted" sentence counts as one. */
async function view<T>(token: Contract, fn: string, ...args: unknown[]): Promise<T | undefined> {
  try {
    return (await token.getFunction(fn).staticCall(...args)) as T;
  } catch (e) {
    if (isError(e, "CALL_EXCEPTION") || isError(e, "BAD_DATA")) return undefined;
    if (e instanceof Error && /^(Transaction reverted|VM Exception)/.test(e.message)) return undefined;
    throw e;
  }
}

/**
 * Whether `token` on chain `chainId` takes ERC-2612 permits, and under which EIP-712 domain: first as the token
 * states it through ERC-5267 `eip712Domain()`; else (tokens older than ERC-5267, such as USDC's FiatToken) built
 * from `name()` and `version()` (or "1"). Either way the domain must hash to the token's `DOMAIN_SEPARATOR()` and
 * the token must answer `nonces(owner)`; otherwise the answer is `approve`, with the reason as a sentence.
 */
export async function permitSupport(provider: Provider, tokenAddress: string, chainId: bigint): Promise<PermitSupport> {
  const token = new Contract(tokenAddress, TOKEN_EIP712_ABI, provider);
  const [separator, nonce] = await Promise.all([
    view<string>(token, "DOMAIN_SEPARATOR"),
    view<bigint>(token, "nonces", tokenAddress),
  ]);
  if (separator === undefined || nonce === undefined)
    return { kind: "approve", reason: `the token at ${tokenAddress} has no ERC-2612 permit` };
  const typeHash = await view<string>(token, "PERMIT_TYPEHASH");
  if (typeHash !== undefined && typeHash !== ERC2612_TYPEHASH)
    return { kind: "approve", reason: `the token at ${tokenAddress} has a permit of another kind than ERC-2612's` };
  const matches = (d: TypedDataDomain): boolean => TypedDataEncoder.hashDomain(d) === separator;
  const stated = await view<[string, string, string, bigint, string, string, bigint[]]>(token, "eip712Domain");
  if (stated !== undefined) {
    const [fieldsHex, name, version, statedChain, verifyingContract, salt, extensions] = stated;
    const fields = Number(BigInt(fieldsHex));
    const need = FIELD.name | FIELD.version | FIELD.chainId | FIELD.verifyingContract;
    const domain: TypedDataDomain = {
      name,
      version,
      chainId: statedChain,
      verifyingContract: getAddress(verifyingContract),
      ...(fields & FIELD.salt ? { salt } : {}),
    };
    if ((fields & need) !== need || extensions.length > 0)
      return {
        kind: "approve",
        reason: `the token's EIP-712 domain (ERC-5267 fields 0x${fields.toString(16)}) is not one a permit can be signed in`,
      };
    if (statedChain !== chainId || getAddress(verifyingContract) !== getAddress(tokenAddress) || !matches(domain))
      return {
        kind: "approve",
        reason: "the token's ERC-5267 domain does not match its DOMAIN_SEPARATOR() on this chain",
      };
    return { kind: "permit", domain, source: "ERC-5267" };
  }
  const name = await view<string>(token, "name");
  const version = (await view<string>(token, "version")) ?? "1";
  const domain: TypedDataDomain = { name, version, chainId, verifyingContract: getAddress(tokenAddress) };
  if (name === undefined || !matches(domain))
    return {
      kind: "approve",
      reason: `the token has no ERC-5267 eip712Domain() and its DOMAIN_SEPARATOR() is not the domain of its name() and version ${JSON.stringify(version)}`,
    };
  return { kind: "permit", domain, source: "name() and version()" };
}

/** A permit's deadline `seconds` after the chain's time or this machine's, whichever is later (a chain's clock may
 * run ahead: mined blocks, skew). */
export async function permitDeadline(provider: Provider, seconds = 3600): Promise<bigint> {
  const head = await provider.getBlock("latest");
  return BigInt(Math.max(Math.floor(Date.now() / 1000), head?.timestamp ?? 0) + seconds);
}

/** Signs an ERC-2612 permit in `domain` (from {@link permitSupport}). */
export async function signPermit(
  signer: Signer,
  domain: TypedDataDomain,
  p: { owner: string; spender: string; value: bigint; nonce: bigint; deadline: bigint },
): Promise<Signature> {
  return Signature.from(await signer.signTypedData(domain, PERMIT_TYPES, p));
}
