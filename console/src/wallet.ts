/**
 * Browser wallets, found by EIP-6963 (each announces itself in answer to `eip6963:requestProvider`) with the
 * legacy `window.ethereum` (EIP-1193) as fallback; the wallet's chain checked against the deployment's and changed
 * with `wallet_switchEthereumChain` (`wallet_addEthereumChain` when the wallet does not know it, code 4902). The
 * page holds no key: every signature and transaction is the wallet's, through ethers' BrowserProvider.
 */
import { BrowserProvider, getAddress, type JsonRpcSigner } from "ethers";

/** An EIP-1193 provider, as much of it as the page uses. */
export interface Eip1193Provider {
  request(args: { method: string; params?: unknown[] | Record<string, unknown> }): Promise<unknown>;
  on?(event: string, listener: (...args: unknown[]) => void): void;
  removeListener?(event: string, listener: (...args: unknown[]) => void): void;
}

/** What a wallet says of itself (EIP-6963 `EIP6963ProviderInfo`). */
export interface WalletInfo {
  uuid: string;
  name: string;
  /** A data: URI of its icon, or "" (any other URI is dropped: the page loads nothing from elsewhere). */
  icon: string;
  rdns: string;
}

export interface FoundWallet {
  info: WalletInfo;
  provider: Eip1193Provider;
}

/** An error a wallet answered with (EIP-1193 `ProviderRpcError`): 4001 user rejected, 4902 unknown chain. */
export function walletErrorCode(e: unknown): number | undefined {
  let cur: unknown = e;
  for (let i = 0; i < 5 && cur && typeof cur === "object"; i++) {
    const o = cur as { code?: unknown; data?: { originalError?: unknown }; error?: unknown; cause?: unknown };
    if (typeof o.code === "number") return o.code;
    cur = o.data?.originalError ?? o.error ?? o.cause;
  }
  return undefined;
}

function asWallet(detail: unknown): FoundWallet | undefined {
  const d = detail as { info?: Partial<WalletInfo>; provider?: Partial<Eip1193Provider> } | null;
  const info = d?.info;
  if (!info || typeof info.uuid !== "string" || typeof info.name !== "string") return undefined;
  if (typeof d?.provider?.request !== "function") return undefined;
  const icon = typeof info.icon === "string" && /^data:image\/(svg\+xml|png|webp|gif|jpeg)[;,]/.test(info.icon);
  return {
    info: {
      uuid: info.uuid,
      name: info.name.slice(0, 60),
      icon: icon ? info.icon! : "",
      rdns: typeof info.rdns === "string" ? info.rdns.slice(0, 100) : "",
    },
    provider: d!.provider as Eip1193Provider,
  };
}

/**
 * Listens for wallets announcing themselves (EIP-6963) and asks them to; `found` is called once per wallet (by
 * uuid), also for wallets that announce later. Returns the function that stops listening.
 */
export function discoverWallets(found: (w: FoundWallet) => void): () => void {
  const seen = new Set<string>();
  const onAnnounce = (e: Event): void => {
    const w = asWallet((e as CustomEvent).detail);
    if (!w || seen.has(w.info.uuid)) return;
    seen.add(w.info.uuid);
    found(w);
  };
  window.addEventListener("eip6963:announceProvider", onAnnounce);
  window.dispatchEvent(new Event("eip6963:requestProvider"));
  return () => window.removeEventListener("eip6963:announceProvider", onAnnounce);
}

/** The legacy injected provider (`window.ethereum`), for wallets that do not speak EIP-6963. */
export function legacyWallet(): FoundWallet | undefined {
  const eth = (window as unknown as { ethereum?: Eip1193Provider }).ethereum;
  if (!eth || typeof eth.request !== "function") return undefined;
  return { info: { uuid: "window.ethereum", name: "Browser wallet", icon: "", rdns: "" }, provider: eth };
}

/** The chain id a wallet is on. */
export async function walletChainId(p: Eip1193Provider): Promise<number> {
  return Number(BigInt(String(await p.request({ method: "eth_chainId" }))));
}

/** Asks the wallet for its accounts (it shows its own prompt); the first, checksummed. */
export async function requestAccount(p: Eip1193Provider): Promise<string> {
  const accounts = (await p.request({ method: "eth_requestAccounts" })) as unknown;
  if (!Array.isArray(accounts) || typeof accounts[0] !== "string")
    throw new Error("the wallet gave no account; unlock it and try again");
  return getAddress(accounts[0]);
}

/** What the page needs to add the market's chain to a wallet that does not know it. */
export interface ChainToAdd {
  chainId: number;
  name: string;
  rpcUrl: string;
}

/**
 * Asks the wallet to switch to `chain` (wallet_switchEthereumChain); when it does not know the chain (4902) asks
 * it to add it (wallet_addEthereumChain, which switches too). A refusal propagates (code 4001).
 */
export async function switchChain(p: Eip1193Provider, chain: ChainToAdd): Promise<void> {
  const chainId = "0x" + chain.chainId.toString(16);
  try {
    await p.request({ method: "wallet_switchEthereumChain", params: [{ chainId }] });
  } catch (e) {
    if (walletErrorCode(e) !== 4902) throw e;
    await p.request({
      method: "wallet_addEthereumChain",
      params: [
        {
          chainId,
          chainName: chain.name,
          rpcUrls: [chain.rpcUrl],
          nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
        },
      ],
    });
  }
}

/** The wallet's signer for `address` on `chainId` (ethers' BrowserProvider: the key stays in the wallet). */
export async function walletSigner(p: Eip1193Provider, chainId: number, address: string): Promise<JsonRpcSigner> {
  // polling: the page waits for receipts by asking, as it does for its reads (no filters kept in the wallet)
  const bp = new BrowserProvider(p, chainId, { polling: true, cacheTimeout: -1 });
  return bp.getSigner(address);
}
