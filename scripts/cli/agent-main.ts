/**
 * The entry of the ICON agent image (icon/agent:1; scripts/images.sh bundles this file and what it imports into one
 * JavaScript file): the agent daemon exactly as `icon agent run` runs it (scripts/cli/agent.ts), and nothing else of
 * the CLI — no Hardhat, no yard, no chain tools. The same words as `icon`, so that the replicas an agent starts
 * (startAgentProcess: this Node and this entry again) run in the same container:
 *
 *   node agent-main.js agent run --state /run/icon --state-from-stdin
 *                                                      the daemon (the image's default command): the ICON's sealed
 *                                                      state comes on standard input (the yard writes the lease's
 *                                                      agent secret there) into the tmpfs, unless already there
 *   node agent-main.js --help | --version              answer without touching the state or the chain
 *
 * The version is the `version` of the nearest package.json above this file (the project's on a host, the one
 * images.sh writes beside the bundle in the image).
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { agentCommands } from "./agent.ts";
import type { Ctx } from "./context.ts";
import { out, runEntry, say } from "./io.ts";
import { UsageError, parseOptions } from "./options.ts";

const RUN = agentCommands["agent run"]!;

/** `name version` of the nearest package.json at or above `dir`, or "unknown". */
function version(dir: string): string {
  for (let d = dir; ; d = path.dirname(d)) {
    const file = path.join(d, "package.json");
    if (existsSync(file)) {
      const p = JSON.parse(readFileSync(file, "utf8")) as { name?: string; version?: string };
      return `${p.name ?? "icon-market"} ${p.version ?? "unknown"}`;
    }
    if (path.dirname(d) === d) return "unknown";
  }
}

function help(): string {
  return [
    "icon agent — the ICON agent daemon (the icon/agent image's entry)",
    "",
    `usage: ${RUN.usage}     ${RUN.summary}`,
    "       --version                  the agent's version and its Node's",
    "       --help                     this text",
    "",
    "In the image the state directory is /run/icon, a tmpfs the container is given; the agent runs as 65534:65534 on",
    "a read-only root file system. `icon agent run --help` on a host says the same of the CLI's command.",
  ].join("\n");
}

async function main(argv: string[]): Promise<number> {
  if (argv[0] === "--version") {
    out(`${version(import.meta.dirname)} (agent; node ${process.version})`);
    return 0;
  }
  if (argv.length === 0 || argv[0] === "--help" || argv[0] === "-h" || argv[0] === "help") {
    out(help());
    return 0;
  }
  if (argv[0] !== "agent" || argv[1] !== "run") {
    say(`unknown command "${argv.join(" ")}": this entry runs only \`agent run --state <dir>\`; see --help`);
    return 2;
  }
  let parsed;
  try {
    parsed = await parseOptions(RUN, argv.slice(2));
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    say(`agent run: ${e.message}\nusage: ${RUN.usage}`);
    return 2;
  }
  if (parsed.global.help) {
    out(`usage: ${RUN.usage}\n\n${RUN.summary}`);
    return 0;
  }
  // The agent reads its chain endpoint and deployment from its state (agent.json), never from these.
  const ctx: Ctx = {
    rpc: "",
    network: undefined,
    rpcUrls: [],
    deploymentFile: undefined,
    keystore: undefined,
    devAccount: undefined,
    args: [],
  };
  await RUN.run(ctx, parsed.o);
  return 0;
}

await runEntry(() => main(process.argv.slice(2)));
