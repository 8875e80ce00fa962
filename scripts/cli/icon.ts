/**
 * `icon` — the ICON market command line: the dispatcher. Each command group lives in a file of its own and is
 * listed here; a command is its usage, summary, options (a zod schema, scripts/cli/options.ts) and run.
 *
 *   icon chain                         start an embedded dev chain (JSON-RPC on 127.0.0.1:8545)     chain.ts
 *   icon deploy                        deploy the market; writes deployments/chain-<id>.json         chain.ts
 *   icon token balance|mint                                                                          chain.ts
 *   icon key new|address               an encrypted keystore                                         keys.ts
 *   icon iep register|zone|stake|unstake|withdraw|earnings|status                                    iep.ts
 *   icon budget create|fund|account|allocate|return|withdraw|policy|show                              budget.ts
 *   icon yard start|status             run a yard (IEP daemon), show a running one                   yard.ts
 *   icon netinfo serve --map <file>    serve an ALTO network map and cost map (RFC 7285)             yard.ts
 *   icon app deploy|status|policy      an application: fund it and start its origin ICON, watch it   app.ts
 *   icon agent run --state <dir>       run one ICON                                                  agent.ts
 *
 * Global options: --rpc <url>, repeatable (ICON_RPC_URL, comma-separated), --network <name> (ICON_NETWORK; URL from
 * ICON_RPC_URL_<NAME>), --deployment <file> (ICON_DEPLOYMENT), --keystore <file> (ICON_KEYSTORE; password from
 * ICON_KEYSTORE_PASSWORD or the terminal), or ICON_PRIVATE_KEY for development; --max-fee / --max-priority-fee
 * (ICON_MAX_FEE, ICON_MAX_PRIORITY_FEE): the EIP-1559 fee cap and tip bound.
 * Nothing heavy is imported before a command runs (ethers, the market client, Hardhat, the yard): `icon --help` and
 * `icon <group> --help` start in a tenth of a second (npm run bench:cli).
 */
import { agentCommands } from "./agent.ts";
import { appCommands } from "./app.ts";
import { budgetCommands } from "./budget.ts";
import { chainCommands } from "./chain.ts";
import { consoleCommands } from "./console.ts";
import { ConfigError } from "../../protocol/errors.ts";
import { out, say, type Ctx } from "./context.ts";
import { iepCommands } from "./iep.ts";
import { runEntry } from "./io.ts";
import { keyCommands } from "./keys.ts";
import { GLOBAL_OPTIONS, RPC_URL, UsageError, parseOptions, type Command } from "./options.ts";
import { RESERVED_NETWORK_NAMES, isNetworkName, rpcUrlVariable } from "../lib/networks.ts";
import { yardCommands } from "./yard.ts";

const COMMANDS: Record<string, Command> = {
  ...yardCommands,
  ...chainCommands,
  ...keyCommands,
  ...iepCommands,
  ...budgetCommands,
  ...appCommands,
  ...consoleCommands,
  ...agentCommands,
};

const list = (names: string[]): string[] => names.map((n) => `  icon ${n.padEnd(16)} ${COMMANDS[n]!.summary}`);

function help(): string {
  return [
    "icon — the ICON market command line",
    "",
    "usage: icon <command> [options]",
    "",
    ...list(Object.keys(COMMANDS)),
    "",
    "global options:",
    "  --rpc <url>          JSON-RPC endpoint; repeat it for failover (env ICON_RPC_URL, comma-separated; default http://127.0.0.1:8545)",
    "  --network <name>     a network declared by env ICON_RPC_URL_<NAME> (e.g. base: ICON_RPC_URL_BASE); its URL",
    "                       is used as --rpc, and `icon deploy` deploys through it with Hardhat Ignition",
    "  --deployment <file>  deployment file (env ICON_DEPLOYMENT; default deployments/chain-<chainId>.json)",
    "  --keystore <file>    encrypted key (env ICON_KEYSTORE; password from ICON_KEYSTORE_PASSWORD or prompt)",
    "                       development only: ICON_PRIVATE_KEY instead of a keystore, or",
    "  --dev-account <n>    the dev chain's public account n (refused on any chain but 31337)",
    "  --max-fee <price>    most any transaction pays per gas, e.g. 20gwei (env ICON_MAX_FEE; default 100 gwei)",
    "  --max-priority-fee <price>  bound on the node's suggested tip (env ICON_MAX_PRIORITY_FEE; default 2 gwei)",
    "",
    "amounts are in tokens with the token's decimals (e.g. 12.5); `icon <command> --help` for details",
  ].join("\n");
}

/** `icon <group> --help`: the group's commands, then how to learn more. */
function groupHelp(group: string, names: string[]): string {
  return [
    `icon ${group} — ${names.length} commands`,
    "",
    ...list(names),
    "",
    `\`icon ${group} <command> --help\` shows a command's options; \`icon --help\` lists every command and the global options`,
  ].join("\n");
}

/** The RPC URL of `--network <name>` (ICON_RPC_URL_<NAME>); `icon deploy` may take it from Hardhat's keystore. */
function networkUrl(network: string | undefined, command: string): string | undefined {
  if (network === undefined) return undefined;
  const variable = rpcUrlVariable(network);
  const url = process.env[variable];
  if (!url && command !== "deploy")
    throw new ConfigError(
      "UNKNOWN_NETWORK",
      `--network ${network}: set ${variable} to its JSON-RPC URL, or pass --rpc <url>`,
    );
  return url || undefined;
}

/** ICON_RPC_URL: one endpoint or several, comma-separated (default the local dev chain). */
function envRpcUrls(value: string | undefined): string[] {
  const urls = (value ?? "")
    .split(",")
    .map((u) => u.trim())
    .filter((u) => u !== "");
  for (const u of urls)
    if (!RPC_URL.test(u))
      throw new ConfigError(
        "BAD_RPC_URL",
        `ICON_RPC_URL names "${u}", not an http:// or https:// URL: write it as http://127.0.0.1:8545 (several: comma-separated)`,
      );
  return urls.length > 0 ? urls : ["http://127.0.0.1:8545"];
}

async function main(argv: string[]): Promise<number> {
  // Command words: the first non-option tokens, skipping the values of global options given before them.
  const words: string[] = [];
  for (let i = 0; i < argv.length && words.length < 2; i++) {
    const a = argv[i]!;
    if (a.startsWith("-")) {
      const name = a.replace(/^--?/, "");
      if (!a.includes("=") && name in GLOBAL_OPTIONS && name !== "help") i++;
      continue;
    }
    words.push(a);
  }
  const key2 = words.slice(0, 2).join(" ");
  const name = COMMANDS[key2] ? key2 : COMMANDS[words[0] ?? ""] ? words[0]! : undefined;
  const asksHelp = argv.includes("--help") || argv.includes("-h");
  if (!name) {
    const group = Object.keys(COMMANDS).filter((k) => k.startsWith(`${words[0]} `));
    if (group.length > 0 && asksHelp) {
      out(groupHelp(words[0]!, group));
      return 0;
    }
    if (argv.length === 0 || asksHelp || words[0] === "help") {
      out(help());
      return 0;
    }
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
    parsed = await parseOptions(cmd, rest);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    say(`icon ${name}: ${e.message}\nusage: icon ${cmd.usage}`);
    return 2;
  }
  if (parsed.global.help) {
    out(`usage: icon ${cmd.usage}\n\n${cmd.summary}`);
    return 0;
  }
  const network = parsed.global.network ?? process.env.ICON_NETWORK;
  if (network !== undefined && !isNetworkName(network))
    throw new ConfigError(
      "BAD_CONFIG",
      `ICON_NETWORK=${network}: a network name is lower case with digits and dashes, and not one of ${RESERVED_NETWORK_NAMES.join(", ")} (Hardhat's or icon's own)`,
    );
  const fromNetwork = networkUrl(network, name);
  const rpcUrls = parsed.global.rpc ?? (fromNetwork ? [fromNetwork] : envRpcUrls(process.env.ICON_RPC_URL));
  const ctx: Ctx = {
    rpc: rpcUrls[0]!,
    rpcUrls,
    network,
    deploymentFile: parsed.global.deployment ?? process.env.ICON_DEPLOYMENT,
    keystore: parsed.global.keystore ?? process.env.ICON_KEYSTORE,
    devAccount: parsed.global["dev-account"],
    fees: { maxFee: parsed.global["max-fee"], maxPriorityFee: parsed.global["max-priority-fee"] },
    args: parsed.positionals,
  };
  await cmd.run(ctx, parsed.o);
  return 0;
}

await runEntry(() => main(process.argv.slice(2)));
