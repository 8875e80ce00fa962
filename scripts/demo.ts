/**
 * `npm run demo`: containers that place themselves, on one machine — and their owner goes offline.
 *
 * An embedded chain with the market deployed; the packet-level WAN testbed (scripts/lib/netbed.ts, topology
 * scripts/netbed/topologies/demo.json): three ISPs with a client network each (A, B, and C without reverse names),
 * a transit network, the cloud — network namespaces joined by delay elements that delay every packet, routers that
 * answer traceroute. Four yards run as `icon yard start` processes with real Docker ("cloud", "edge-a" in ISP a,
 * "edge-b" in ISP b, "edge-t" in the transit network), listed and staked, each with its public side (ingress
 * listeners, the kernel's round trips, its probe's traceroute and ping) in its site's namespace and its control
 * plane (libp2p, the chain, its agent gateway for the ICON agents in its leases' sidecars) on a loopback address.
 * dnsmasq serves the public DNS view: each IEP's `_edge._tcp.<zone>` SRV record, the routers' and clients' reverse
 * names. The owner names only the cloud's zone; the ICONs learn the edges' zones from their clients' names and
 * from the routers on the paths to their clients (eDisco). There is no ALTO server: every latency an ICON uses is
 * measured — at its own site from its ingress connections, at a candidate by the candidate yard's ping.
 *
 * Story: the owner runs `icon app deploy` (a budget, a policy, the origin ICON's first placement at cloud, its
 * hand-over into its lease's agent sidecar) and the command exits: from then on nothing of the owner's runs, and
 * every ICON runs only as a sidecar in a lease → load from subnet A → the origin replicates to edge-a (the replica
 * handed into its own sidecar) and redirects A there → A's clients move to subnet B → the replica follows them to
 * edge-b, moving service and agent together → a minute into its lease there the replica's renewal founders (the
 * move cost it what its old lease ran and a relay fee, more than its two slots left room for): it asks its parent,
 * the origin has nothing spare (its own renewal founders too: the replication's relay fees came out of what it kept
 * for its next slot) and asks the owner on chain (FundingRequested, a relayed intent); no standing top-up rule
 * exists on chain, so the requests stay pending → the demo kills the edge yard that hosts the replica (SIGKILL,
 * its containers removed, nothing of it restarted; its listing stays) → the origin notices and places the replica
 * again elsewhere; the demo measures how long until every client is served again → the load ends (every client
 * stops: a renewal bought now would cut open connections, see below) → the idle replica terminates, its budget
 * flows back up → the owner returns, sees the pending funding requests (`icon app status`),
 * takes the ICONs' keys back, ends their leases, withdraws → books conserved.
 *
 * This script is the test bed's god view: it starts and kills yards, drives the clients and narrates from outside
 * the ICONs — the chain's events of the application (scripts/lib/godview.ts ChainWatch) and what each ICON agent
 * prints in its sidecar (`docker logs -f` of every `icon.role=agent` container of the demo's yards; the decision
 * lines carry their utility numbers). It never calls an ICON, and makes no call with the owner's key between the
 * hand-over and the owner's return.
 *
 * Writes a plot (latency per subnet and budget over time) to demo-out/plot.svg and ends with one line
 * `DEMO-SUMMARY {json}`; exits 1 unless the story held (the conditions at the end of scripts/demo/report.ts).
 *
 * With --console (or `npm run demo --console`, which npm hands over as npm_config_console) the owner console
 * (`icon console`, console/) is served on the demo's chain from the start, its URL printed, and kept up after the
 * story until Ctrl-C: a browser wallet holding the owner's dev account sees the application live, and what its ICONs
 * report through the demo's yards (the console asks them: `/icons`, each with the owner's signed read grant naming it).
 *
 * This file is the wiring; the story's rooms are in scripts/demo/: `world.ts` (the yards, subnets and owner, the
 * clock, shared helpers), `setup.ts` (engine, chain, console, testbed, yards, DNS; the clean-up), `narration.ts` (the
 * god view's narration and counts), `story.ts` (the owner's deploy and the phases up to what the owner finds),
 * `wind-down.ts` (the owner's return, the books), `report.ts` (the plot, DEMO-SUMMARY and whether the story held).
 *
 *   node scripts/demo.ts [--short] [--out <dir>] [--console]
 */
import path from "node:path";
import { parseArgs } from "node:util";
import { projectRoot } from "./lib/hardhat.ts";
import { GodView } from "./demo/narration.ts";
import { report } from "./demo/report.ts";
import { prepare, setUp } from "./demo/setup.ts";
import { deploy, tell } from "./demo/story.ts";
import { windDown } from "./demo/wind-down.ts";
import { say } from "./demo/world.ts";

const { values: args } = parseArgs({
  options: { short: { type: "boolean" }, out: { type: "string" }, console: { type: "boolean" } },
});
const CONSOLE = args.console === true || process.env.npm_config_console === "true";
const SHORT = args.short === true;
const OUT = path.resolve(args.out ?? path.join(projectRoot, "demo-out"));

const base = await prepare();
let exitCode = 0;
try {
  const world = await setUp(base, { console: CONSOLE });
  const god = await GodView.start(world);
  // The owner deploys, then goes offline; the story runs without it; the owner returns and winds down.
  const deployed = await deploy(world, god);
  const told = await tell(world, god, deployed, { short: SHORT });
  const woundDown = await windDown(world, god, deployed);
  const ok = await report(world, god, deployed, told, woundDown, { out: OUT });
  if (!ok) exitCode = 1;
  if (world.consoleUrl) {
    say("console", `the story is over; the owner console stays up at ${world.consoleUrl} until Ctrl-C`);
    await new Promise<never>(() => {}); // prepare's SIGINT/SIGTERM handler cleans up and exits
  }
} catch (e) {
  console.error(`demo failed: ${(e as Error).stack ?? String(e)}`);
  exitCode = 1;
} finally {
  await base.cleanUp();
}
process.exit(exitCode);
