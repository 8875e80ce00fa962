/**
 * A browser wallet for tests: an EIP-1193 provider injected into the page (page.addInitScript) that announces
 * itself per EIP-6963 (or, `legacy`, is only `window.ethereum`), backed by a dev key held on the Node side (page.exposeFunction): the page's reads go to the
 * chain's node as they are, its signatures and transactions are made with an ethers Wallet here — the page never
 * sees the key, as with a real wallet. The test steers it: the chain it says it is on, the chains it knows (an
 * unknown one answers 4902), requests it refuses as a user would (4001), and the account it is on (`switchAccount`,
 * which tells the page by accountsChanged). Like a real wallet it refuses (4100) a transaction or typed data for an
 * address other than the active account, and typed data whose domain names another chain than the active one.
 */
import { JsonRpcProvider, Wallet, type TypedDataField } from "ethers";
import type { Page } from "playwright-core";

export interface TestWallet {
  address: string;
  /** The chain the wallet is on now. */
  chainId: number;
  /** Chains the wallet knows: a switch to another answers 4902 (unknown chain) until it is added. */
  known: Set<number>;
  /** Methods the wallet refuses once each, as a user pressing "Reject" (code 4001). */
  refuseOnce: Set<string>;
  /** Every method the page asked, in order. */
  asked: string[];
  /** Requests the wallet failed on its side (not refusals): method and message. */
  failed: string[];
  /** Makes the wallet use another key (the user picked another account) and tells the page (accountsChanged). */
  switchAccount(key: string): Promise<void>;
}

type Answer = { result?: unknown; error?: { code: number; message: string; data?: unknown }; chainChanged?: string };

const ICON_SVG =
  "data:image/svg+xml;base64," +
  Buffer.from(
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="7" fill="#0b5cad"/><path d="M9 22V10h3v12zm6 0V10h3l5 7v-7h3v12h-3l-5-7v7z" fill="#fff"/></svg>',
  ).toString("base64");

/** The page-side provider: forwards each request to the Node side and emits chainChanged after a switch. */
const PAGE_SCRIPT = `(() => {
  const listeners = {};
  const emit = (event, value) => setTimeout(() => (listeners[event] || []).slice().forEach((f) => f(value)), 0);
  const provider = {
    async request({ method, params }) {
      const answer = JSON.parse(await window.__iconTestWallet(method, JSON.stringify(params ?? [])));
      if (answer.error) {
        const e = new Error(answer.error.message);
        e.code = answer.error.code;
        if (answer.error.data !== undefined) e.data = answer.error.data;
        throw e;
      }
      if (answer.chainChanged) emit("chainChanged", answer.chainChanged);
      return answer.result;
    },
    on(event, f) { (listeners[event] = listeners[event] || []).push(f); return provider; },
    removeListener(event, f) { listeners[event] = (listeners[event] || []).filter((x) => x !== f); return provider; },
  };
  window.__iconTestWalletEmit = emit;
  const info = Object.freeze({ uuid: "6f1c2b0e-5a7d-4c1e-9a43-1c0000000001", name: "ICON Test Wallet", icon: ${JSON.stringify(ICON_SVG)}, rdns: "org.icon-market.test-wallet" });
  if (__LEGACY__) {
    window.ethereum = provider;
    return;
  }
  const announce = () => window.dispatchEvent(new CustomEvent("eip6963:announceProvider", { detail: Object.freeze({ info, provider }) }));
  window.addEventListener("eip6963:requestProvider", announce);
  announce();
})();`;

/** Injects the test wallet into every page of `page`'s context from its next navigation on. */
export async function injectTestWallet(
  page: Page,
  o: {
    key: string;
    rpcUrl: string;
    chainId: number;
    known?: number[];
    /** Only as `window.ethereum`, announcing nothing (a wallet that predates EIP-6963). */
    legacy?: boolean;
  },
): Promise<TestWallet> {
  const provider = new JsonRpcProvider(o.rpcUrl, undefined, { staticNetwork: true, cacheTimeout: -1 });
  let signer = new Wallet(o.key, provider);
  // The chain its key can act on: the one the node serves (the wallet may say it is elsewhere).
  const nodeChain = Number((await provider.getNetwork()).chainId);
  const w: TestWallet = {
    address: signer.address,
    chainId: o.chainId,
    known: new Set(o.known ?? [o.chainId]),
    refuseOnce: new Set(),
    asked: [],
    failed: [],
    async switchAccount(key: string) {
      signer = new Wallet(key, provider);
      w.address = signer.address;
      await page.evaluate(`window.__iconTestWalletEmit("accountsChanged", [${JSON.stringify(signer.address)}])`);
    },
  };
  /** A request naming an account other than the active one: refused as a real wallet refuses it (EIP-1193 4100). */
  const notActive = (who: unknown): Answer | undefined =>
    typeof who === "string" && who.toLowerCase() === w.address.toLowerCase()
      ? undefined
      : { error: { code: 4100, message: `the account ${String(who)} is not the wallet's active account` } };
  let id = 0;
  const forward = async (method: string, params: unknown[]): Promise<Answer> => {
    const res = await fetch(o.rpcUrl, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: ++id, method, params }),
    });
    const body = (await res.json()) as Answer;
    return body.error ? { error: body.error } : { result: body.result };
  };
  const handle = async (method: string, params: unknown[]): Promise<Answer> => {
    w.asked.push(method);
    if (w.refuseOnce.delete(method)) return { error: { code: 4001, message: "User rejected the request." } };
    const hex = (n: number): string => "0x" + n.toString(16);
    switch (method) {
      case "eth_requestAccounts":
      case "eth_accounts":
        return { result: [w.address] };
      case "eth_chainId":
        return { result: hex(w.chainId) };
      case "net_version":
        return { result: String(w.chainId) };
      case "wallet_switchEthereumChain": {
        const want = Number(BigInt((params[0] as { chainId: string }).chainId));
        if (!w.known.has(want))
          return { error: { code: 4902, message: `Unrecognized chain ID ${hex(want)}. Try adding the chain first.` } };
        w.chainId = want;
        return { result: null, chainChanged: hex(want) };
      }
      case "wallet_addEthereumChain": {
        const p = params[0] as { chainId: string; rpcUrls: string[] };
        const want = Number(BigInt(p.chainId));
        if (p.rpcUrls[0] !== o.rpcUrl)
          return { error: { code: -32602, message: "the test wallet adds only its own chain" } };
        w.known.add(want);
        w.chainId = want;
        return { result: null, chainChanged: hex(want) };
      }
      case "eth_sendTransaction": {
        if (w.chainId !== nodeChain) return { error: { code: 4901, message: "the wallet is on another chain" } };
        const tx = params[0] as { from?: string; to?: string; data?: string; value?: string; gas?: string };
        const wrong = notActive(tx.from);
        if (wrong) return wrong;
        const sent = await signer.sendTransaction({
          to: tx.to,
          data: tx.data,
          value: tx.value ? BigInt(tx.value) : 0n,
          gasLimit: tx.gas ? BigInt(tx.gas) : undefined,
        });
        return { result: sent.hash };
      }
      case "eth_signTypedData_v4": {
        const wrong = notActive(params[0]);
        if (wrong) return wrong;
        const typed = JSON.parse(params[1] as string) as {
          domain: Record<string, unknown>;
          types: Record<string, TypedDataField[]>;
          message: Record<string, unknown>;
        };
        const chain = typed.domain.chainId;
        if (chain !== undefined && Number(BigInt(chain as string | number)) !== w.chainId)
          return {
            error: {
              code: -32602,
              message: `the typed data is for chain ${String(chain)} but the wallet is on chain ${w.chainId}`,
            },
          };
        const { EIP712Domain: _, ...types } = typed.types;
        return { result: await signer.signTypedData(typed.domain, types, typed.message) };
      }
      case "personal_sign":
        if (notActive(params[1])) return notActive(params[1])!;
        return { result: await signer.signMessage(params[0] as string) };
      default:
        return forward(method, params);
    }
  };
  await page.exposeFunction("__iconTestWallet", async (method: string, params: string) => {
    try {
      return JSON.stringify(await handle(method, JSON.parse(params) as unknown[]));
    } catch (e) {
      const message = (e as Error).message.split("\n")[0]!;
      w.failed.push(`${method}: ${message}`);
      return JSON.stringify({ error: { code: -32603, message } });
    }
  });
  await page.addInitScript({ content: PAGE_SCRIPT.replace("__LEGACY__", String(o.legacy === true)) });
  return w;
}
