/**
 * Peer binding: a yard proves that the libp2p key it speaks with (authenticated by noise) belongs to a
 * registered, staked provider. The operator key signs PeerBinding(bytes peerId) for the registry's EIP-712
 * domain; the agent checks the signature, that the registry listing of that operator names exactly this
 * peer id, and that the provider is active. A discovered yard that fails any check is ignored.
 */
import { hexlify, verifyTypedData, type Signer } from "ethers";
import type { PeerId } from "@libp2p/interface";
import { IconError } from "../errors.ts";
import { PEER_BINDING_TYPES, registryDomain } from "../eip712.ts";
import type { MarketClient } from "../chain/client.ts";

/** A yard failed the peer-binding check; `message` says why. */
export class UntrustedPeerError extends IconError {
  override name = "UntrustedPeerError" as const;
}

/** A yard's signed binding of its peer id to its operator's registry listing (carried in a capacity answer). */
export interface PeerBinding {
  operator: string;
  chainId: bigint;
  registry: string;
  signature: string;
}

/** The multihash bytes of a peer id, as stored in the registry listing. */
export function peerIdBytes(peer: PeerId): string {
  return hexlify(peer.toMultihash().bytes);
}

/** Signs the binding of `peer` to `operator`'s listing. */
export async function signPeerBinding(
  operator: Signer,
  peer: PeerId,
  chainId: bigint,
  registry: string,
): Promise<PeerBinding> {
  const signature = await operator.signTypedData(registryDomain(chainId, registry), PEER_BINDING_TYPES, {
    peerId: peerIdBytes(peer),
  });
  return { operator: await operator.getAddress(), chainId, registry, signature };
}

/** Checks a yard's binding against the noise-authenticated `remote` and the registry; returns the operator. */
export async function verifyPeerBinding(binding: PeerBinding, remote: PeerId, client: MarketClient): Promise<string> {
  const chainId = BigInt(client.deployment.chainId);
  if (binding.chainId !== chainId || binding.registry.toLowerCase() !== client.deployment.registry.toLowerCase()) {
    throw new UntrustedPeerError(
      "WRONG_DOMAIN",
      `yard ${remote} presented a binding for chain ${binding.chainId} / registry ${binding.registry}, not this market`,
    );
  }
  const peer = peerIdBytes(remote);
  let signer: string;
  try {
    signer = verifyTypedData(
      registryDomain(chainId, binding.registry),
      PEER_BINDING_TYPES,
      { peerId: peer },
      binding.signature,
    );
  } catch (cause) {
    throw new UntrustedPeerError("BAD_BINDING", `yard ${remote}'s binding signature is malformed`, { cause });
  }
  if (signer.toLowerCase() !== binding.operator.toLowerCase()) {
    throw new UntrustedPeerError("BAD_BINDING", `yard ${remote}'s binding is not signed by ${binding.operator}`);
  }
  const status = await client.providerStatus(binding.operator);
  if (!status.listing)
    throw new UntrustedPeerError(
      "NOT_REGISTERED",
      `yard ${remote} claims operator ${binding.operator}, which has no registry listing`,
    );
  if (status.listing.peerId.toLowerCase() !== peer.toLowerCase()) {
    throw new UntrustedPeerError(
      "PEER_MISMATCH",
      `operator ${binding.operator}'s listing names another peer id than yard ${remote}`,
    );
  }
  if (!status.active)
    throw new UntrustedPeerError(
      "NOT_STAKED",
      `operator ${binding.operator} is listed but not staked at the minimum; its yard ${remote} is ignored`,
    );
  return binding.operator;
}
