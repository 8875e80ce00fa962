/**
 * ERC-1271: whether a contract account accepts a signature (a proof of control signed by a smart wallet).
 */
import { Contract, type Provider } from "ethers";

const ERC1271_ABI = ["function isValidSignature(bytes32 hash, bytes signature) view returns (bytes4)"];
const ERC1271_MAGIC = "0x1626ba7e";

/** Whether the contract at `signer` accepts `signature` over `digest`; false for an account with no code or a
 * contract that says no or reverts. */
export async function isValidErc1271(
  provider: Provider,
  signer: string,
  digest: string,
  signature: string,
): Promise<boolean> {
  if ((await provider.getCode(signer)) === "0x") return false;
  const wallet = new Contract(signer, ERC1271_ABI, provider);
  try {
    return (await wallet.getFunction("isValidSignature")(digest, signature)) === ERC1271_MAGIC;
  } catch {
    return false;
  }
}
