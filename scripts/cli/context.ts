/**
 * What every `icon` command is given: the global options (endpoint, deployment, key), its positional arguments,
 * output (results on stdout, progress on stderr) and the chain, reached only when a command asks for it.
 * Heavy modules (ethers, the market client, Hardhat) are imported on first use, so `icon --help` and the commands
 * that never touch the chain start without them (scripts/bench/cli.ts measures it).
 */
import type { Provider, Wallet } from "ethers";
import type { MarketClient } from "../../protocol/chain/client.ts";
import type { Deployment } from "../../protocol/chain/deployment.ts";
import type { RpcEndpoints } from "../../protocol/chain/rpc.ts";
import { originOf } from "../../protocol/chain/endpoint.ts";
import { ConfigError, IconError } from "../../protocol/errors.ts";

import { say } from "./io.ts";

export { out, say, untilSignal } from "./io.ts";

export interface Ctx {
  /** The first RPC endpoint (deploy, messages). */
  rpc: string;
  /** A network declared by ICON_RPC_URL_<NAME> (scripts/lib/networks.ts): `icon deploy` deploys through it. */
  network: string | undefined;
  /** Every RPC endpoint given (repeated --rpc or ICON_RPC_URL's list), `rpc` first. */
  rpcUrls: string[];
  deploymentFile: string | undefined;
  keystore: string | undefined;
  devAccount: number | undefined;
  /** --max-fee, --max-priority-fee as given (checked when the chain is reached; the environment fills the rest). */
  fees?: { maxFee?: string | undefined; maxPriorityFee?: string | undefined };
  args: string[];
}

/** Positional argument `i`, or a sentence naming it and the command's usage. */
export function need(ctx: Ctx, i: number, name: string, usage: string): string {
  const v = ctx.args[i];
  if (v === undefined) throw new ConfigError("MISSING_ARGUMENT", `missing <${name}>; usage: icon ${usage}`);
  return v;
}

export function idArg(text: string, name: string): bigint {
  if (!/^\d+$/.test(text) || BigInt(text) === 0n)
    throw new ConfigError("BAD_ID", `<${name}> must be a positive integer id, got "${text}"`);
  return BigInt(text);
}

/** `text` if it is an address (0x and 40 hex digits; mixed case only with a valid EIP-55 checksum). */
export async function addressArg(text: string, name: string): Promise<string> {
  const { isAddress } = await import("ethers");
  if (!isAddress(text))
    throw new ConfigError("BAD_ADDRESS", `${name} "${text}" is not an address (0x followed by 40 hex digits)`);
  return text;
}

/** The endpoint without path, query or credentials (URLs often carry API keys): protocol/chain/endpoint.ts. */
export const endpointForHumans = originOf;

/** The RPC client of `ctx.rpcUrls`: several --rpc fail over; a 429 or a cut connection is waited out, said on stderr (protocol/chain/rpc.ts). */
export async function rpcClient(ctx: Ctx): Promise<RpcEndpoints> {
  const { rpcProvider } = await import("../../protocol/chain/rpc.ts");
  return rpcProvider(ctx.rpcUrls, { onWait: say });
}

/**
 * The deployment of the chain `provider` reaches: --deployment, or deployments/chain-<id>.json of its chain id (a
 * sentence when the chain cannot be reached); its file too.
 */
export async function deploymentOf(ctx: Ctx, provider: Provider): Promise<{ file: string; deployment: Deployment }> {
  const { readDeployment, defaultDeploymentPath } = await import("../../protocol/chain/deployment.ts");
  let file = ctx.deploymentFile;
  if (!file) {
    const chainId = await provider.getNetwork().then(
      (n) => n.chainId,
      () => {
        throw new IconError(
          "CHAIN_UNREACHABLE",
          `cannot reach the chain at ${endpointForHumans(ctx.rpc)}: start one with \`icon chain\` or pass --rpc <url>`,
        );
      },
    );
    file = defaultDeploymentPath(chainId);
  }
  return { file, deployment: await readDeployment(file) };
}

/** The market at `ctx.rpc` (deployment from --deployment or deployments/chain-<id>.json), with or without a key. */
export async function client(ctx: Ctx, withKey: boolean): Promise<MarketClient> {
  const provider = await rpcClient(ctx);
  const { deployment } = await deploymentOf(ctx, provider);
  const signer = withKey ? await requireWallet(ctx) : await wallet(ctx);
  const { MarketClient } = await import("../../protocol/chain/client.ts");
  const { feesFrom } = await import("../../protocol/chain/fees.ts");
  const fees = feesFrom(ctx.fees, process.env, { maxFee: "--max-fee", maxPriorityFee: "--max-priority-fee" });
  return MarketClient.connect({ deployment, provider, signer, onProgress: say, fees });
}

/** The signer: --dev-account (dev chain only), --keystore, or ICON_PRIVATE_KEY. */
export async function wallet(ctx: Ctx): Promise<Wallet | undefined> {
  const { loadWallet } = await import("./keystore.ts");
  if (ctx.devAccount === undefined) return loadWallet(ctx.keystore);
  const { Wallet: WalletClass } = await import("ethers");
  const { rpcProvider } = await import("../../protocol/chain/rpc.ts");
  const chainId = await rpcProvider(ctx.rpcUrls, { onWait: say })
    .getNetwork()
    .then(
      (n) => n.chainId,
      () => 0n,
    );
  if (chainId !== 31337n) {
    throw new ConfigError(
      "DEV_ACCOUNT_REFUSED",
      `--dev-account uses publicly known keys and is accepted only on the dev chain (31337); ${endpointForHumans(ctx.rpc)} serves chain ${chainId}`,
    );
  }
  const { devKeys } = await import("../lib/hardhat.ts");
  return new WalletClass(devKeys(ctx.devAccount + 1)[ctx.devAccount]!);
}

export async function requireWallet(ctx: Ctx): Promise<Wallet> {
  const w = await wallet(ctx);
  if (!w)
    throw new ConfigError(
      "NO_KEY",
      "this command sends a transaction and needs a key: pass --keystore <file> (see `icon key new`) or set ICON_PRIVATE_KEY for development",
    );
  return w;
}
