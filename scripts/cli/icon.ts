/**
 * `icon` — the ICON market command line.
 *
 *   icon chain                         start an embedded dev chain (JSON-RPC on 127.0.0.1:8545)
 *   icon deploy                        deploy the market; writes deployments/chain-<id>.json
 *   icon key new <file>                create an encrypted keystore
 *   icon iep register|stake|unstake|withdraw|earnings|status
 *   icon budget create|fund|account|allocate|return|withdraw|show
 *   icon token balance|mint
 *   icon yard start --config <file>    run a yard (IEP daemon); icon yard status shows it
 *   icon netinfo serve --map <file>    serve an ALTO network map and cost map (RFC 7285)
 *   icon app deploy|status|policy      an application: fund it and start its origin ICON, watch it, steer it
 *   icon agent run --state <dir>       run one ICON
 *
 * Global options: --rpc <url> (ICON_RPC_URL), --deployment <file> (ICON_DEPLOYMENT), --keystore <file>
 * (ICON_KEYSTORE; password from ICON_KEYSTORE_PASSWORD or the terminal), or ICON_PRIVATE_KEY for development.
 */
import { parseArgs } from "node:util";
import { JsonRpcProvider, Wallet as WalletClass, isAddress, type Wallet } from "ethers";
import {
  ConfigError,
  IconError,
  MarketClient,
  defaultDeploymentPath,
  formatAmount,
  fromJson,
  readDeployment,
  writeDeployment,
  type Listing,
  type Policy,
} from "../../protocol/index.ts";
import { createKeystore, loadWallet } from "./keys.ts";

interface Ctx {
  rpc: string;
  deploymentFile: string | undefined;
  keystore: string | undefined;
  devAccount: number | undefined;
  args: string[];
  opts: Record<string, string | boolean | string[] | undefined>;
}

const say = (line: string): void => void process.stderr.write(`${line}\n`);
const out = (line: string): void => void process.stdout.write(`${line}\n`);

const GLOBAL = {
  rpc: { type: "string" },
  deployment: { type: "string" },
  keystore: { type: "string" },
  "dev-account": { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

interface Command {
  usage: string;
  summary: string;
  options?: Record<string, { type: "string" | "boolean"; multiple?: boolean }>;
  run(ctx: Ctx): Promise<void>;
}

function need(ctx: Ctx, i: number, name: string, usage: string): string {
  const v = ctx.args[i];
  if (v === undefined) throw new ConfigError("MISSING_ARGUMENT", `missing <${name}>; usage: icon ${usage}`);
  return v;
}

function opt(ctx: Ctx, name: string): string | undefined {
  const v = ctx.opts[name];
  return typeof v === "string" ? v : undefined;
}

function idArg(text: string, name: string): bigint {
  if (!/^\d+$/.test(text) || BigInt(text) === 0n)
    throw new ConfigError("BAD_ID", `<${name}> must be a positive integer id, got "${text}"`);
  return BigInt(text);
}

function addressArg(text: string, name: string): string {
  if (!isAddress(text))
    throw new ConfigError("BAD_ADDRESS", `${name} "${text}" is not an address (0x followed by 40 hex digits)`);
  return text;
}

function intOpt(ctx: Ctx, name: string, fallback: number, max = 2 ** 31): number {
  const v = opt(ctx, name);
  if (v === undefined) return fallback;
  if (!/^\d+$/.test(v) || Number(v) > max)
    throw new ConfigError("BAD_OPTION", `--${name} must be an integer between 0 and ${max}, got "${v}"`);
  return Number(v);
}

/** A share given as 0..1 (e.g. 0.5) becomes basis points. */
function shareOpt(ctx: Ctx, name: string, fallback: number): number {
  const v = opt(ctx, name);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0 || n > 1)
    throw new ConfigError("BAD_OPTION", `--${name} must be a number between 0 and 1 (e.g. 0.25), got "${v}"`);
  return Math.round(n * 10_000);
}

async function client(ctx: Ctx, withKey: boolean): Promise<MarketClient> {
  const provider = new JsonRpcProvider(ctx.rpc, undefined, { staticNetwork: true, cacheTimeout: -1 });
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
  const deployment = await readDeployment(file);
  const signer = withKey ? await requireWallet(ctx) : await wallet(ctx);
  return MarketClient.connect({ deployment, provider, signer, onProgress: say });
}

/** The signer: --dev-account (dev chain only), --keystore, or ICON_PRIVATE_KEY. */
async function wallet(ctx: Ctx): Promise<Wallet | undefined> {
  if (ctx.devAccount === undefined) return loadWallet(ctx.keystore);
  const chainId = await new JsonRpcProvider(ctx.rpc, undefined, { staticNetwork: true }).getNetwork().then(
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

async function requireWallet(ctx: Ctx): Promise<Wallet> {
  const w = await wallet(ctx);
  if (!w)
    throw new ConfigError(
      "NO_KEY",
      "this command sends a transaction and needs a key: pass --keystore <file> (see `icon key new`) or set ICON_PRIVATE_KEY for development",
    );
  return w;
}

function policyFromOptions(ctx: Ctx, c: MarketClient, base?: Policy): Policy {
  const maxPrice = opt(ctx, "max-price");
  return {
    weightBps: shareOpt(ctx, "weight", base?.weightBps ?? 5000),
    migrateThresholdBps: shareOpt(ctx, "migrate-threshold", base?.migrateThresholdBps ?? 2000),
    replicateThresholdBps: shareOpt(ctx, "replicate-threshold", base?.replicateThresholdBps ?? 3000),
    terminateThresholdBps: shareOpt(ctx, "terminate-threshold", base?.terminateThresholdBps ?? 500),
    maxPricePerSecond: maxPrice !== undefined ? c.parse(maxPrice, "--max-price") : (base?.maxPricePerSecond ?? 0n),
  };
}

const POLICY_OPTIONS = {
  weight: { type: "string" },
  "migrate-threshold": { type: "string" },
  "replicate-threshold": { type: "string" },
  "terminate-threshold": { type: "string" },
  "max-price": { type: "string" },
} as const;

const COMMANDS: Record<string, Command> = {
  "yard start": {
    usage: "yard start --config <file> [--keystore <file> | --dev-account <n>]",
    summary:
      "run a yard: list it on chain, answer lease negotiations, run leased containers in Docker; Ctrl-C (SIGINT) or SIGTERM stops it gracefully and leaves containers running for the next start to reconcile",
    options: { config: { type: "string" }, "log-level": { type: "string" } },
    async run(ctx) {
      const file = opt(ctx, "config");
      if (!file)
        throw new ConfigError("MISSING_OPTION", "--config <file> is required; see yard-node/README.md for an example");
      const { parseYardConfig } = await import("../../yard-node/config.ts");
      const { Yard, loadYardConfigFile } = await import("../../yard-node/yard.ts");
      const { createLogger } = await import("../../protocol/log.ts");
      const config = parseYardConfig(await loadYardConfigFile(file), file);
      ctx.rpc = config.chain.rpcUrl;
      const level = opt(ctx, "log-level") ?? "info";
      if (!["debug", "info", "warn", "error"].includes(level))
        throw new ConfigError("BAD_OPTION", `--log-level must be debug, info, warn or error, got "${level}"`);
      const log = createLogger({ level: level as "info", base: { yard: config.yardId } });
      const { installLastResort } = await import("../../protocol/index.ts");
      installLastResort({ log, what: `yard ${config.yardId}` });
      const wallet = await requireWallet(ctx);
      say(
        `starting yard ${config.yardId} (chain ${endpointForHumans(config.chain.rpcUrl)}, data in ${config.dataDir}) …`,
      );
      const yard = await Yard.start({ config, wallet, log });
      const st = yard.status();
      out(`yard ${st.yardId} ready: operator ${st.operator}, peer ${st.peerId}`);
      out(`  listening on ${st.multiaddrs.join(", ")}`);
      out(`  status and metrics at ${st.http}/status and ${st.http}/metrics`);
      out(`  DNS records to publish (zone file lines):`);
      for (const line of st.zone) out(`    ${line}`);
      await new Promise<void>((resolve) => {
        process.once("SIGINT", resolve);
        process.once("SIGTERM", resolve);
      });
      say(`stopping yard ${config.yardId} (containers keep running; the next start reconciles them) …`);
      await yard.stop();
    },
  },
  "netinfo serve": {
    usage: "netinfo serve --map <file.json> [--host 127.0.0.1] [--port 8181]",
    summary:
      'serve network information in the ALTO format (RFC 7285): the file holds {"networkMap": …, "costMap": …}; GET / lists the resources, /networkmap and /costmap serve them; Ctrl-C stops',
    options: { map: { type: "string" }, host: { type: "string" }, port: { type: "string" } },
    async run(ctx) {
      const file = opt(ctx, "map");
      if (!file) throw new ConfigError("MISSING_OPTION", "--map <file.json> is required");
      const { readFile } = await import("node:fs/promises");
      let raw: { networkMap?: unknown; costMap?: unknown };
      try {
        raw = JSON.parse(await readFile(file, "utf8")) as typeof raw;
      } catch (e) {
        throw new ConfigError("BAD_ALTO_MAP", `cannot read ${file} as JSON: ${(e as Error).message}`);
      }
      const { AltoMap, serveAlto } = await import("../../protocol/index.ts");
      const map = new AltoMap(raw.networkMap as never, raw.costMap as never);
      const server = await serveAlto(map, opt(ctx, "host") ?? "127.0.0.1", intOpt(ctx, "port", 8181, 65535));
      say(`ALTO network information at ${server.url}/ (network map /networkmap, cost map /costmap)`);
      await new Promise<void>((resolve) => {
        process.once("SIGINT", resolve);
        process.once("SIGTERM", resolve);
      });
      await server.close();
    },
  },
  "yard status": {
    usage: "yard status (--config <file> | --url <http://host:port>) [--json]",
    summary: "show a running yard's leases, capacity, chain and Docker state (from its HTTP /status)",
    options: { config: { type: "string" }, url: { type: "string" }, json: { type: "boolean" } },
    async run(ctx) {
      let url = opt(ctx, "url");
      if (!url) {
        const file = opt(ctx, "config");
        if (!file)
          throw new ConfigError(
            "MISSING_OPTION",
            "pass --config <file> (the yard's config) or --url <http://host:port>",
          );
        const { parseYardConfig } = await import("../../yard-node/config.ts");
        const { loadYardConfigFile } = await import("../../yard-node/yard.ts");
        const c = parseYardConfig(await loadYardConfigFile(file), file);
        if (c.http.port === 0)
          throw new ConfigError("BAD_CONFIG", `${file}: http.port is 0 (random); pass --url instead`);
        url = `http://${c.http.host}:${c.http.port}`;
      }
      let res: Response;
      try {
        res = await fetch(`${url.replace(/\/$/, "")}/status`, { signal: AbortSignal.timeout(5000) });
      } catch {
        throw new IconError(
          "YARD_UNREACHABLE",
          `no yard answers at ${url}: is it running (\`icon yard start --config …\`)?`,
        );
      }
      const st = (await res.json()) as import("../../yard-node/yard.ts").YardStatus;
      if (ctx.opts.json) {
        out(JSON.stringify(st, null, 2));
        return;
      }
      const fmt = (units: string): string => formatAmount(BigInt(units), st.token);
      out(`yard ${st.yardId}  operator ${st.operator}`);
      out(`  peer ${st.peerId}`);
      out(
        `  chain ${st.chain.up ? "up" : "UNREACHABLE"} (id ${st.chain.chainId}, events to block ${st.chain.cursor})  docker ${st.docker.up ? "up" : "UNREACHABLE"}`,
      );
      out(
        `  capacity ${st.capacity.usedCpuMillis}/${st.capacity.cpuMillis} mCPU, ${st.capacity.usedMemoryMiB}/${st.capacity.memoryMiB} MiB used (${st.capacity.holds} quote holds)`,
      );
      out(
        `  leases: ${st.counts.active} active, ${st.counts.failed} failed, ${st.counts.ended} awaiting final claim, ${st.counts.settled} settled`,
      );
      out(`  quotes/s (last minute) ${st.quotesPerSecond.toFixed(2)}, earnings claimed ${fmt(st.earningsClaimed)}`);
      for (const l of st.leases) {
        const left = Math.max(0, l.end - Math.floor(Date.now() / 1000));
        out(
          `  lease ${l.id}: ${l.status}${l.running ? " (running)" : ""} ${l.cpuMillis} mCPU ${l.memoryMiB} MiB, ${fmt(l.pricePerSecond)}/s, ${left} s left${l.endpoint ? `, at ${l.endpoint}` : ""}${l.restarts ? `, ${l.restarts} restarts` : ""}${l.note ? ` — ${l.note}` : ""}`,
        );
      }
    },
  },
  chain: {
    usage: "chain [--port 8545] [--host 127.0.0.1]",
    summary: "start an embedded development chain (Hardhat EDR) and serve JSON-RPC until Ctrl-C",
    options: { port: { type: "string" }, host: { type: "string" } },
    async run(ctx) {
      const { startDevChain } = await import("../lib/hardhat.ts");
      const chain = await startDevChain(opt(ctx, "host") ?? "127.0.0.1", intOpt(ctx, "port", 8545, 65535));
      say(`dev chain (chain id 31337) serving JSON-RPC at ${chain.url}`);
      say(
        'its funded accounts use Hardhat\'s public development mnemonic ("test test … junk"); never use those keys elsewhere',
      );
      say("use them with --dev-account <n> (only accepted on chain 31337), e.g. `icon deploy --dev-account 0`");
      await new Promise<void>((resolve) => {
        process.once("SIGINT", resolve);
        process.once("SIGTERM", resolve);
      });
      await chain.close();
    },
  },
  deploy: {
    usage:
      "deploy [--token <address>] [--min-stake <amount>] [--unbonding <seconds>] [--start-window <seconds>] [--collateral <0..1>] [--arbiter <address>] [--arbiter-delay <seconds>]",
    summary: "deploy registry, market and access manager (and a test token unless --token); writes the deployment file",
    options: {
      token: { type: "string" },
      "min-stake": { type: "string" },
      unbonding: { type: "string" },
      "start-window": { type: "string" },
      collateral: { type: "string" },
      arbiter: { type: "string" },
      "arbiter-delay": { type: "string" },
    },
    async run(ctx) {
      const deployer = await requireWallet(ctx);
      const token = opt(ctx, "token");
      if (token) addressArg(token, "--token");
      const arbiter = opt(ctx, "arbiter");
      if (arbiter) addressArg(arbiter, "--arbiter");
      const minStake = opt(ctx, "min-stake");
      if (minStake !== undefined && !/^\d+$/.test(minStake))
        throw new ConfigError("BAD_OPTION", `--min-stake is in token units (an integer), got "${minStake}"`);
      const { deployMarket } = await import("../lib/hardhat.ts");
      const d = await deployMarket(
        ctx.rpc,
        deployer.privateKey,
        {
          token,
          arbiter,
          minStake: minStake !== undefined ? BigInt(minStake) : undefined,
          unbondingPeriod: opt(ctx, "unbonding") ? BigInt(intOpt(ctx, "unbonding", 0)) : undefined,
          startWindow: opt(ctx, "start-window") ? BigInt(intOpt(ctx, "start-window", 0)) : undefined,
          collateralBps: opt(ctx, "collateral") ? BigInt(shareOpt(ctx, "collateral", 0)) : undefined,
          arbiterDelay: opt(ctx, "arbiter-delay") ? BigInt(intOpt(ctx, "arbiter-delay", 0)) : undefined,
        },
        say,
      );
      const file = ctx.deploymentFile ?? defaultDeploymentPath(d.chainId);
      await writeDeployment(file, d);
      say(`deployed: token ${d.token}, registry ${d.registry}, market ${d.market}, access manager ${d.accessManager}`);
      say(`wrote ${file}`);
      out(JSON.stringify(d));
    },
  },
  "key new": {
    usage: "key new <file>",
    summary: "create a random key in an encrypted JSON keystore (password from ICON_KEYSTORE_PASSWORD or prompt)",
    async run(ctx) {
      const file = need(ctx, 0, "file", this.usage);
      const address = await createKeystore(file);
      say(`created ${file}`);
      out(address);
    },
  },
  "key address": {
    usage: "key address",
    summary: "print the address of the configured key (--keystore or ICON_PRIVATE_KEY)",
    async run(ctx) {
      out((await requireWallet(ctx)).address);
    },
  },
  "token balance": {
    usage: "token balance [<address>]",
    summary: "show a token balance (default: your key's address)",
    async run(ctx) {
      const c = await client(ctx, false);
      const who = ctx.args[0] ? addressArg(ctx.args[0], "<address>") : await c.address();
      out(`${who}: ${c.format(await c.balanceOf(who))}`);
    },
  },
  "token mint": {
    usage: "token mint <to> <amount>",
    summary: "development token only: mint tokens (the key must own the TestToken)",
    async run(ctx) {
      const c = await client(ctx, true);
      const to = addressArg(need(ctx, 0, "to", this.usage), "<to>");
      const amount = c.parse(need(ctx, 1, "amount", this.usage));
      await c.mint(to, amount);
      out(`minted ${c.format(amount)} to ${to}`);
    },
  },
  "iep register": {
    usage:
      "iep register --peer-id <hex> --multiaddr <ma> [--multiaddr …] --cpu <millicores> --memory <MiB> [--domain <d>] [--region <r>] [--cpu-price <amount/core/s>] [--memory-price <amount/GiB/s>]",
    summary: "register or update your yard's listing",
    options: {
      "peer-id": { type: "string" },
      multiaddr: { type: "string", multiple: true },
      cpu: { type: "string" },
      memory: { type: "string" },
      domain: { type: "string" },
      region: { type: "string" },
      "cpu-price": { type: "string" },
      "memory-price": { type: "string" },
    },
    async run(ctx) {
      const c = await client(ctx, true);
      const peerId = opt(ctx, "peer-id");
      if (!peerId || !/^0x([0-9a-fA-F]{2}){1,64}$/.test(peerId))
        throw new ConfigError(
          "BAD_OPTION",
          "--peer-id must be the yard's libp2p peer id as 0x-hex multihash bytes (1..64 bytes)",
        );
      const multiaddrs = (ctx.opts.multiaddr as string[] | undefined) ?? [];
      if (multiaddrs.length === 0)
        throw new ConfigError(
          "BAD_OPTION",
          "give at least one --multiaddr, e.g. --multiaddr /ip4/203.0.113.7/tcp/4001",
        );
      const listing: Listing = {
        peerId,
        multiaddrs,
        domain: opt(ctx, "domain") ?? "",
        region: opt(ctx, "region") ?? "",
        cpuMillis: intOpt(ctx, "cpu", 0),
        memoryMiB: intOpt(ctx, "memory", 0),
        cpuPricePerSecond: opt(ctx, "cpu-price") ? c.parse(opt(ctx, "cpu-price")!, "--cpu-price") : 0n,
        memoryPricePerSecond: opt(ctx, "memory-price") ? c.parse(opt(ctx, "memory-price")!, "--memory-price") : 0n,
      };
      if (listing.cpuMillis === 0)
        throw new ConfigError("BAD_OPTION", "--cpu (millicores offered, e.g. 4000) is required and must be > 0");
      if (listing.memoryMiB === 0)
        throw new ConfigError("BAD_OPTION", "--memory (MiB offered, e.g. 8192) is required and must be > 0");
      await c.register(listing);
      out(`listed ${await c.address()}`);
    },
  },
  "iep zone": {
    usage:
      "iep zone --domain <domain> --host <yard host name> --port <libp2p tcp port> --peer-id <12D3KooW… | 0x…> [--address <ip> …] [--ttl 300]",
    summary: "print the DNS records (SRV, TXT, A/AAAA) to publish so agents discover your yard",
    options: {
      domain: { type: "string" },
      host: { type: "string" },
      port: { type: "string" },
      "peer-id": { type: "string" },
      address: { type: "string", multiple: true },
      ttl: { type: "string" },
    },
    async run(ctx) {
      const { zoneRecords } = await import("../../protocol/index.ts");
      const lines = zoneRecords({
        domain: opt(ctx, "domain") ?? "",
        host: opt(ctx, "host") ?? "",
        port: intOpt(ctx, "port", 0, 65535),
        peerId: opt(ctx, "peer-id") ?? "",
        ttl: intOpt(ctx, "ttl", 300),
        addresses: (ctx.opts.address as string[] | undefined) ?? [],
      });
      for (const l of lines) out(l);
    },
  },
  "iep stake": {
    usage: "iep stake <amount>",
    summary: "add stake (in tokens, e.g. 250 or 12.5)",
    async run(ctx) {
      const c = await client(ctx, true);
      const amount = c.parse(need(ctx, 0, "amount", this.usage));
      await c.stake(amount);
      out(`staked ${c.format(amount)}`);
    },
  },
  "iep unstake": {
    usage: "iep unstake <amount>",
    summary: "start unbonding stake; withdraw it after the unbonding period",
    async run(ctx) {
      const c = await client(ctx, true);
      const amount = c.parse(need(ctx, 0, "amount", this.usage));
      await c.requestUnstake(amount);
      const s = await c.providerStatus(await c.address());
      out(`unbonding ${c.format(s.unbonding)}; withdrawable from ${new Date(Number(s.readyAt) * 1000).toISOString()}`);
    },
  },
  "iep withdraw": {
    usage: "iep withdraw [--to <address>]",
    summary: "withdraw stake whose unbonding period is over",
    options: { to: { type: "string" } },
    async run(ctx) {
      const c = await client(ctx, true);
      const me = await c.address();
      const to = opt(ctx, "to") ? addressArg(opt(ctx, "to")!, "--to") : me;
      const before = (await c.providerStatus(me)).unbonding;
      await c.withdrawStake(to);
      out(`withdrew ${c.format(before)} to ${to}`);
    },
  },
  "iep earnings": {
    usage: "iep earnings [--to <address>]",
    summary: "withdraw claimed lease earnings",
    options: { to: { type: "string" } },
    async run(ctx) {
      const c = await client(ctx, true);
      const me = await c.address();
      const to = opt(ctx, "to") ? addressArg(opt(ctx, "to")!, "--to") : me;
      const amount = (await c.providerStatus(me)).earnings;
      await c.withdrawEarnings(to);
      out(`withdrew ${c.format(amount)} of earnings to ${to}`);
    },
  },
  "iep status": {
    usage: "iep status [<address>]",
    summary: "show a provider's listing, stake, unbonding and earnings",
    async run(ctx) {
      const c = await client(ctx, false);
      const who = ctx.args[0] ? addressArg(ctx.args[0], "<address>") : await c.address();
      const s = await c.providerStatus(who);
      out(`provider   ${who}  ${s.active ? "ACTIVE" : "inactive"} (min stake ${c.format(s.minStake)})`);
      if (s.listing) {
        const l = s.listing;
        out(`listing    peer ${l.peerId}  domain ${l.domain || "-"}  region ${l.region || "-"}`);
        out(
          `capacity   ${l.cpuMillis} millicores, ${l.memoryMiB} MiB; prices ${c.format(l.cpuPricePerSecond)}/core/s, ${c.format(l.memoryPricePerSecond)}/GiB/s`,
        );
        out(`multiaddrs ${l.multiaddrs.join(" ")}`);
      } else out("listing    none (icon iep register)");
      out(
        `stake      ${c.format(s.total)} total, ${c.format(s.locked)} locked by leases, ${c.format(s.available)} free`,
      );
      if (s.unbonding > 0n)
        out(
          `unbonding  ${c.format(s.unbonding)}, withdrawable from ${new Date(Number(s.readyAt) * 1000).toISOString()}`,
        );
      out(`earnings   ${c.format(s.earnings)} claimed, not withdrawn`);
    },
  },
  "budget create": {
    usage:
      "budget create --controller <address> --deposit <amount> [--weight 0..1] [--migrate-threshold 0..1] [--replicate-threshold 0..1] [--terminate-threshold 0..1] [--max-price <amount/s>] [--no-permit]",
    summary: "create an application budget funded from your wallet (ERC-2612 permit, one transaction)",
    options: {
      controller: { type: "string" },
      deposit: { type: "string" },
      "no-permit": { type: "boolean" },
      ...POLICY_OPTIONS,
    },
    async run(ctx) {
      const c = await client(ctx, true);
      const controller = addressArg(opt(ctx, "controller") ?? "", "--controller (the origin ICON's key address)");
      const deposit = c.parse(opt(ctx, "deposit") ?? "0", "--deposit");
      const root = await c.createApp(controller, policyFromOptions(ctx, c), deposit, !ctx.opts["no-permit"]);
      out(`application ${root} created with ${c.format(deposit)}`);
    },
  },
  "budget fund": {
    usage: "budget fund <account> <amount>",
    summary: "deposit from your wallet into a budget account",
    async run(ctx) {
      const c = await client(ctx, true);
      const id = idArg(need(ctx, 0, "account", this.usage), "account");
      const amount = c.parse(need(ctx, 1, "amount", this.usage));
      await c.fund(id, amount);
      out(`account ${id} funded with ${c.format(amount)}`);
    },
  },
  "budget account": {
    usage: "budget account <parent> <controller>",
    summary: "create a child account controlled by an ICON key",
    async run(ctx) {
      const c = await client(ctx, true);
      const parent = idArg(need(ctx, 0, "parent", this.usage), "parent");
      const controller = addressArg(need(ctx, 1, "controller", this.usage), "<controller>");
      out(`account ${await c.createAccount(parent, controller)} created under ${parent}`);
    },
  },
  "budget allocate": {
    usage: "budget allocate <parent> <child> <amount>",
    summary: "move money from a parent account to its child",
    async run(ctx) {
      const c = await client(ctx, true);
      const parent = idArg(need(ctx, 0, "parent", this.usage), "parent");
      const child = idArg(need(ctx, 1, "child", this.usage), "child");
      const amount = c.parse(need(ctx, 2, "amount", this.usage));
      await c.allocate(parent, child, amount);
      out(`allocated ${c.format(amount)} from ${parent} to ${child}`);
    },
  },
  "budget return": {
    usage: "budget return <child> <amount>",
    summary: "hand money from a child account back to its parent",
    async run(ctx) {
      const c = await client(ctx, true);
      const child = idArg(need(ctx, 0, "child", this.usage), "child");
      const amount = c.parse(need(ctx, 1, "amount", this.usage));
      await c.returnToParent(child, amount);
      out(`returned ${c.format(amount)} from ${child} to its parent`);
    },
  },
  "budget withdraw": {
    usage: "budget withdraw <root> <amount> [--to <address>]",
    summary: "owner: take money out of the tree (from the root account)",
    options: { to: { type: "string" } },
    async run(ctx) {
      const c = await client(ctx, true);
      const root = idArg(need(ctx, 0, "root", this.usage), "root");
      const amount = c.parse(need(ctx, 1, "amount", this.usage));
      const to = opt(ctx, "to") ? addressArg(opt(ctx, "to")!, "--to") : await c.address();
      await c.withdrawFromRoot(root, amount, to);
      out(`withdrew ${c.format(amount)} from application ${root} to ${to}`);
    },
  },
  "budget policy": {
    usage:
      "budget policy <root> [--weight 0..1] [--migrate-threshold 0..1] [--replicate-threshold 0..1] [--terminate-threshold 0..1] [--max-price <amount/s>]",
    summary: "owner: publish a new policy (unchanged fields keep their values)",
    options: { ...POLICY_OPTIONS },
    async run(ctx) {
      const c = await client(ctx, true);
      const root = idArg(need(ctx, 0, "root", this.usage), "root");
      const { policy } = await c.app(root);
      await c.setPolicy(root, policyFromOptions(ctx, c, policy));
      out(`policy of application ${root} updated`);
    },
  },
  "budget show": {
    usage: "budget show <root>",
    summary: "show an application's tree of accounts, balances and policy",
    async run(ctx) {
      const c = await client(ctx, false);
      const root = idArg(need(ctx, 0, "root", this.usage), "root");
      const a = await c.account(root);
      if (a.root !== root)
        throw new ConfigError("NOT_ROOT", `account ${root} is not an application root (its root is ${a.root})`);
      const { owner, policy, version } = await c.app(root);
      const pct = (bps: number): string => `${(bps / 100).toFixed(2)} %`;
      out(`application ${root}  owner ${owner}`);
      out(
        `policy v${version}: w ${policy.weightBps / 10_000}, migrate ≥ ${pct(policy.migrateThresholdBps)}, replicate ≥ ${pct(policy.replicateThresholdBps)}, terminate < ${pct(policy.terminateThresholdBps)}, max price ${policy.maxPricePerSecond === 0n ? "none" : c.format(policy.maxPricePerSecond) + "/s"}`,
      );
      for (const acc of await c.appAccounts(root)) {
        out(
          `${"  ".repeat(acc.depth)}#${acc.id} ${c.format(acc.balance)}  controller ${acc.controller}${acc.closed ? "  (closed)" : ""}`,
        );
      }
    },
  },
  "app deploy": {
    usage:
      "app deploy --config <app.json> --state <dir> --deposit <amount> [--gas <ETH>] [--no-start] [--wait <s>] [--weight 0..1] [--migrate-threshold 0..1] [--replicate-threshold 0..1] [--terminate-threshold 0..1] [--max-price <amount/s>]",
    summary:
      "create and fund an application budget, publish its policy, give the origin ICON a key of its own (in <dir>, mode 0600) and gas, and start it (`icon agent run --state <dir>` in the background, log in <dir>/agent.log), waiting until it is placed (--wait, default 120 s); --no-start leaves the start to you",
    options: {
      config: { type: "string" },
      state: { type: "string" },
      deposit: { type: "string" },
      gas: { type: "string" },
      "no-start": { type: "boolean" },
      wait: { type: "string" },
      ...POLICY_OPTIONS,
    },
    async run(ctx) {
      const file = opt(ctx, "config");
      const dir = opt(ctx, "state");
      if (!file || !dir)
        throw new ConfigError(
          "MISSING_OPTION",
          "--config <app.json> and --state <dir> are required; see icon-agent/README.md",
        );
      const { readFile, access } = await import("node:fs/promises");
      const path = await import("node:path");
      if (
        await access(path.join(dir, "agent.json")).then(
          () => true,
          () => false,
        )
      )
        throw new ConfigError("STATE_EXISTS", `${dir} already holds an ICON; pick another --state directory`);
      let raw: unknown;
      try {
        raw = JSON.parse(await readFile(file, "utf8"));
      } catch (e) {
        throw new ConfigError("BAD_APP_CONFIG", `cannot read ${file} as JSON: ${(e as Error).message}`);
      }
      const c = await client(ctx, true);
      const { agentEnvFrom } = await import("../../icon-agent/config.ts");
      const { deployApp } = await import("../../icon-agent/app.ts");
      const env = agentEnvFrom(raw, ctx.rpc, c.deployment);
      const depositText = opt(ctx, "deposit");
      if (!depositText) throw new ConfigError("MISSING_OPTION", "--deposit <amount> is required (tokens, e.g. 20)");
      const deposit = c.parse(depositText, "--deposit");
      const { parseEther } = await import("ethers");
      const gasText = opt(ctx, "gas") ?? "0.05";
      if (!/^\d+(\.\d{1,18})?$/.test(gasText))
        throw new ConfigError("BAD_OPTION", `--gas is ETH for the ICON's transactions, like 0.05; got "${gasText}"`);
      const gas = parseEther(gasText);
      const waitText = opt(ctx, "wait") ?? "120";
      if (!/^\d{1,5}$/.test(waitText))
        throw new ConfigError(
          "BAD_OPTION",
          `--wait is whole seconds to wait for the origin's placement, like 120; got "${waitText}"`,
        );
      const r = await deployApp({ owner: c, env, policy: policyFromOptions(ctx, c), deposit, dir, gasWei: gas });
      out(`application ${r.root} created with ${c.format(deposit)}; origin ICON ${r.icon} (state in ${dir})`);
      out(
        `its namespace label is ${r.namespace}: its services are named <app>.${r.namespace}.<service>.<servicens>` +
          (r.service ? `; this one deploys as ${r.service}` : "") +
          ` (yards refuse any other namespace; other apps' allow rules name it as <app>.${r.namespace}.*.*)`,
      );
      if (ctx.opts["no-start"]) {
        out(`start it with: icon agent run --state ${dir}`);
        return;
      }
      const { pid, log } = await startAgentProcess(dir, "origin");
      out(
        `origin ICON started (pid ${pid}, log ${log}); stop it with kill ${pid}, resume it with icon agent run --state ${dir}`,
      );
      if (Number(waitText) === 0) return;
      const placed = await waitPlaced(dir, pid, Number(waitText));
      out(`origin ICON placed at ${placed.yard} (lease ${placed.lease}); clients reach it at ${placed.endpoint}`);
    },
  },
  "app status": {
    usage: "app status <root> [--state <dir>]",
    summary:
      "the application's tree of accounts, live leases, spend and (with the origin's --state) the latency per client subnet its ICONs observe",
    options: { state: { type: "string" } },
    async run(ctx) {
      const root = idArg(need(ctx, 0, "root", "app status <root>"), "root");
      const c = await client(ctx, false);
      const { appStatus, formatStatus } = await import("../../icon-agent/app.ts");
      for (const line of formatStatus(c, await appStatus(c, root))) out(line);
      const dir = opt(ctx, "state");
      if (dir) {
        const { readAgentStatus } = await import("../../icon-agent/state.ts");
        for (const s of await readAgentStatus(dir)) {
          out(
            `ICON ${s.name} (account ${s.account}) at ${s.placement?.yard.name ?? "nowhere"}${s.last ? `; last decision ${s.last}` : ""}`,
          );
          for (const x of s.aggregate)
            out(
              `    ${x.subnet.padEnd(18)} ${x.rate.toFixed(2).padStart(8)} req/s  ${Number.isFinite(x.latencyMs) ? x.latencyMs.toFixed(1) : "-"} ms`,
            );
        }
      }
    },
  },
  "app policy": {
    usage:
      "app policy <root> [--weight 0..1] [--migrate-threshold 0..1] [--replicate-threshold 0..1] [--terminate-threshold 0..1] [--max-price <amount/s>]",
    summary: "publish new weights and thresholds on chain (owner only); running ICONs pick them up through the tree",
    options: { ...POLICY_OPTIONS },
    async run(ctx) {
      const root = idArg(need(ctx, 0, "root", "app policy <root>"), "root");
      const c = await client(ctx, true);
      const current = await c.app(root);
      const next = policyFromOptions(ctx, c, current.policy);
      await c.setPolicy(root, next);
      out(
        `application ${root}: policy v${(await c.app(root)).version} published: ${JSON.stringify(next, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v))}`,
      );
    },
  },
  "agent run": {
    usage: "agent run --state <dir>",
    summary:
      "run one ICON from its state directory (written by `icon app deploy`, or by a parent for a replica): it resumes its place in the tree and its lease from the chain; replicas it makes run as their own `icon agent run` processes; Ctrl-C stops it and leaves its lease running",
    options: { state: { type: "string" } },
    async run(ctx) {
      const dir = opt(ctx, "state");
      if (!dir) throw new ConfigError("MISSING_OPTION", "--state <dir> is required (see `icon app deploy`)");
      const { Agent } = await import("../../icon-agent/agent.ts");
      const { installLastResort } = await import("../../protocol/index.ts");
      const { createLogger } = await import("../../protocol/log.ts");
      installLastResort({ log: createLogger({ level: "warn" }), what: `agent in ${dir}` });
      const agent = await Agent.open(dir, {
        spawn: async (childDir) => {
          const { pid, log } = await startAgentProcess(childDir, "replica");
          say(`replica started in ${childDir} (pid ${pid}, log ${log})`);
        },
        onEvent: (e) => out(`${new Date().toISOString()} ${e.icon} ${e.kind}: ${e.text}`),
      });
      await agent.start();
      if (agent.seed.done) {
        out(`ICON ${agent.name} (account ${agent.seed.account}) has terminated; nothing to run`);
        await agent.stop();
        return;
      }
      out(`ICON ${agent.name} (account ${agent.seed.account}) running; peer ${agent.addrs.join(", ")}`);
      const done = await new Promise<boolean>((resolve) => {
        process.once("SIGINT", () => resolve(false));
        process.once("SIGTERM", () => resolve(false));
        void agent.finished.then(() => resolve(true));
      });
      if (done) out(`ICON ${agent.name} terminated itself; its budget went back to its parent`);
      else say(`stopping ICON ${agent.name} (its lease keeps running; the next start resumes it) …`);
      await agent.stop();
    },
  },
};

/** Starts `icon agent run --state <dir>` as a process of its own (detached, output to <dir>/agent.log). */
async function startAgentProcess(dir: string, what: string): Promise<{ pid: number; log: string }> {
  const { spawn } = await import("node:child_process");
  const { closeSync, openSync } = await import("node:fs");
  const path = await import("node:path");
  const { projectRoot } = await import("../lib/hardhat.ts");
  const logFile = path.join(dir, "agent.log");
  const log = openSync(logFile, "a");
  const child = spawn(path.join(projectRoot, "scripts/icon"), ["agent", "run", "--state", dir], {
    detached: true,
    stdio: ["ignore", log, log],
  });
  await new Promise<void>((resolve, reject) => {
    child.once("spawn", resolve);
    child.once("error", (e) => reject(new Error(`cannot start the ${what}'s agent: ${e.message}`, { cause: e })));
  }).finally(() => closeSync(log));
  child.unref();
  return { pid: child.pid!, log: logFile };
}

/**
 * Waits until the agent in `dir` (process `pid`) has placed its ICON (its status.json names a lease), printing
 * progress; throws with the end of its log if the process ends first or `waitS` passes.
 */
async function waitPlaced(
  dir: string,
  pid: number,
  waitS: number,
): Promise<{ yard: string; endpoint: string; lease: string }> {
  const { readFile } = await import("node:fs/promises");
  const path = await import("node:path");
  const alive = (): boolean => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  const logTail = async (): Promise<string> =>
    (await readFile(path.join(dir, "agent.log"), "utf8").catch(() => "")).trimEnd().split("\n").slice(-8).join("\n  ");
  const started = Date.now();
  let shown = 0;
  for (;;) {
    const st = await readFile(path.join(dir, "status.json"), "utf8").then(
      (t) => fromJson<{ placement?: { leaseId?: bigint; endpoint?: string; yard?: { name?: string } } }>(t),
      () => undefined,
    );
    const p = st?.placement;
    if (p?.leaseId && p.endpoint)
      return { yard: p.yard?.name ?? "?", endpoint: p.endpoint, lease: p.leaseId.toString() };
    if (!alive())
      throw new IconError(
        "AGENT_EXITED",
        `the origin's agent (pid ${pid}) ended before it was placed:\n  ${await logTail()}`,
      );
    const waited = Math.floor((Date.now() - started) / 1000);
    if (waited >= waitS)
      throw new IconError(
        "NOT_PLACED",
        `the origin's agent (pid ${pid}) runs but found no lease within ${waitS} s; it keeps trying (log ${path.join(dir, "agent.log")}):\n  ${await logTail()}`,
      );
    if (waited >= shown + 10) {
      shown = waited;
      say(`… ${waited} s: the origin ICON is looking for a yard`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

function help(): string {
  const lines = ["icon — the ICON market command line", "", "usage: icon <command> [options]", ""];
  for (const [name, c] of Object.entries(COMMANDS)) lines.push(`  icon ${name.padEnd(16)} ${c.summary}`);
  lines.push(
    "",
    "global options:",
    "  --rpc <url>          JSON-RPC endpoint (env ICON_RPC_URL; default http://127.0.0.1:8545)",
    "  --deployment <file>  deployment file (env ICON_DEPLOYMENT; default deployments/chain-<chainId>.json)",
    "  --keystore <file>    encrypted key (env ICON_KEYSTORE; password from ICON_KEYSTORE_PASSWORD or prompt)",
    "                       development only: ICON_PRIVATE_KEY instead of a keystore, or",
    "  --dev-account <n>    the dev chain's public account n (refused on any chain but 31337)",
    "",
    "amounts are in tokens with the token's decimals (e.g. 12.5); `icon <command> --help` for details",
  );
  return lines.join("\n");
}

/** `--dev-account n`: a small non-negative integer (an index into the dev chain's public accounts). */
function devAccountOption(v: unknown): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== "string" || !/^\d{1,3}$/.test(v)) {
    throw new ConfigError("BAD_OPTION", `--dev-account must be an account index such as 0 or 1, got "${String(v)}"`);
  }
  return Number(v);
}

/** The endpoint without path, query or credentials (URLs often carry API keys). */
function endpointForHumans(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}`;
  } catch {
    return "the configured RPC endpoint";
  }
}

async function main(argv: string[]): Promise<number> {
  // Command words: the first non-option tokens, skipping the values of global options given before them.
  const words: string[] = [];
  for (let i = 0; i < argv.length && words.length < 2; i++) {
    const a = argv[i]!;
    if (a.startsWith("-")) {
      const name = a.replace(/^--?/, "");
      if (!a.includes("=") && (GLOBAL as Record<string, { type: string }>)[name]?.type === "string") i++;
      continue;
    }
    words.push(a);
  }
  const key2 = words.slice(0, 2).join(" ");
  const name = COMMANDS[key2] ? key2 : COMMANDS[words[0] ?? ""] ? words[0]! : undefined;
  if (!name) {
    if (argv.length === 0 || argv.includes("--help") || argv.includes("-h") || words[0] === "help") {
      out(help());
      return 0;
    }
    const group = Object.keys(COMMANDS).filter((k) => k.startsWith(`${words[0]} `));
    say(
      group.length > 0
        ? `icon ${words[0]}: choose one of: ${group.map((k) => k.split(" ")[1]).join(", ")}`
        : `unknown command "${words.join(" ")}"; run \`icon --help\``,
    );
    return 2;
  }
  const cmd = COMMANDS[name]!;
  const rest = [...argv];
  for (const w of name.split(" ")) rest.splice(rest.indexOf(w), 1); // the first occurrence is the command word
  let parsed;
  try {
    parsed = parseArgs({
      args: rest,
      options: { ...GLOBAL, ...(cmd.options ?? {}) },
      allowPositionals: true,
      strict: true,
    });
  } catch (e) {
    say(`icon ${name}: ${(e as Error).message}\nusage: icon ${cmd.usage}`);
    return 2;
  }
  if (parsed.values.help) {
    out(`usage: icon ${cmd.usage}\n\n${cmd.summary}`);
    return 0;
  }
  const ctx: Ctx = {
    rpc: (parsed.values.rpc as string | undefined) ?? process.env.ICON_RPC_URL ?? "http://127.0.0.1:8545",
    deploymentFile: (parsed.values.deployment as string | undefined) ?? process.env.ICON_DEPLOYMENT,
    keystore: (parsed.values.keystore as string | undefined) ?? process.env.ICON_KEYSTORE,
    devAccount: devAccountOption(parsed.values["dev-account"]),
    args: parsed.positionals,
    opts: parsed.values as Ctx["opts"],
  };
  await cmd.run(ctx);
  return 0;
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (e) {
  if (e instanceof IconError) {
    say(`error: ${e.message}`);
    if (process.env.ICON_DEBUG) console.error(e);
    process.exitCode = 1;
  } else {
    throw e;
  }
}
