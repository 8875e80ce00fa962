/**
 * `npm run test:fast`: the mocha suites that need no Docker engine, no yard or agent process and no `icon` CLI
 * process (an embedded chain, libp2p on loopback, plain Node child processes and a small packet-level testbed with a
 * prefix of its own — scripts/lib/netbed.ts, as root — are fine), for quick loops while developing, in parallel
 * (mocha --parallel). CI and `npm test` still run every suite (test/lanes.ts: in parallel lanes, each suite in a
 * process of its own). Extra arguments go to mocha (e.g. `--grep quote`).
 *
 * Left out, and why: every suite using test/helpers/docker.ts (yards on real Docker: yard/*, agent/agent,
 * overlay-*, udp…), cli, cli-network and yard/cli-yard (`icon` processes), agent/demo (the whole demo), protocol/dns (a dnsmasq
 * the test starts), and the two fuzzers, protocol/fuzz and protocol/live-fuzz (depth, not a quick loop: about a
 * third of the time of all the others together).
 */
import { spawn } from "node:child_process";
import { access } from "node:fs/promises";
import { availableParallelism } from "node:os";
import path from "node:path";

const FAST = [
  // contracts
  "attacks",
  "budget",
  "edges",
  "eip712",
  "gas-smoke",
  "hardening",
  "lease",
  "registry",
  "smoke",
  // agent: decisions, config, discovery, learned domains, path tomography, offers, the tree protocol
  "agent/config",
  "agent/decision",
  "agent/decision-app",
  "agent/decisions-restart",
  "agent/discovery",
  "agent/learn",
  "agent/edisco",
  "agent/latency",
  "agent/offer",
  "agent/reorg",
  "agent/seal",
  "agent/tree",
  "agent/tree-service",
  // the owner console's money arithmetic and the accounts' offers (no browser)
  "console/money",
  "console/icon-after",
  "console/accounts-offers",
  // sim: the simulator's use of the agent's rules, small hand-computed cases, the charts
  "sim/sim",
  // protocol: codecs, negotiation, libp2p node, chain client
  "protocol/alto",
  "protocol/chain-nonce",
  "protocol/deploy-fields",
  "protocol/last-resort",
  "protocol/lease-e2e",
  "protocol/messages",
  "protocol/negotiation",
  "protocol/node",
  "protocol/noise-crypto",
  "protocol/public-rpc",
  "protocol/ready",
  "protocol/receipt",
  "protocol/relay",
  "protocol/relay-wire",
  "protocol/retry",
  "protocol/sessions",
  "protocol/tokens",
  "protocol/tunnel-wire",
  "protocol/vocabulary",
  "protocol/yamux-window",
  // testbed: the load generator on a small packet-level testbed of its own (root; its own namespaces and dnsmasq)
  "testbed/loadgen",
  // yard: pure cores and the overlay on bare libp2p nodes
  "yard/active-yards",
  "yard/config",
  "yard/ledger",
  "yard/metrics-db",
  "yard/overlay-flows",
  "yard/kernel-rtt",
  "yard/overlay-names",
  "yard/overlay-routes",
  "yard/overlay-service",
  "yard/pricing",
  "yard/quoting",
  "yard/tunnel",
];

const root = path.resolve(import.meta.dirname, "..");
const files = FAST.map((name) => path.join("test/mocha", `${name}.test.ts`));
for (const f of files) {
  await access(path.join(root, f)).catch(() => {
    console.error(`test/fast.ts names ${f}, which does not exist: rename or remove it in the FAST list`);
    process.exit(1);
  });
}
/** Runs `cmd` in the project root; resolves with its exit code. */
function run(cmd: string, args: string[]): Promise<number> {
  const child = spawn(cmd, args, { cwd: root, stdio: "inherit" });
  return new Promise((resolve) => child.on("exit", (code) => resolve(code ?? 1)));
}

// The contracts' artifacts first (what `hardhat test` does before its tests), then the suites in parallel, one
// worker per core (at least two), through mocha itself (`hardhat test mocha` runs them one by one). A test without a
// timeout of its own gets 120 s, not hardhat-mocha's 40 s: here the suites share the cores.
const built = await run("hardhat", ["build", "--quiet"]);
if (built !== 0) process.exit(built);
const jobs = String(Math.max(2, availableParallelism()));
process.exit(
  await run("mocha", ["--parallel", "--jobs", jobs, "--timeout", "120000", ...files, ...process.argv.slice(2)]),
);
