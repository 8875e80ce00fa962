/**
 * The demo's world (scripts/demo.ts): its yards, client subnets and owner, the clock every line of the timeline is
 * stamped with, and the small helpers the story's rooms share.
 */
import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { DockerRuntime, HostFirewall } from "../../yard-node/index.ts";
import { projectRoot } from "../lib/hardhat.ts";

/** Each yard: its site in the testbed (same name), its control plane's loopback address and its prices. */
export const YARDS = {
  cloud: { control: "127.0.1.1", cpu: "200 units", mem: "100 units" },
  "edge-a": { control: "127.0.1.2", cpu: "400 units", mem: "200 units" },
  "edge-b": { control: "127.0.1.3", cpu: "400 units", mem: "200 units" },
  "edge-t": { control: "127.0.1.4", cpu: "400 units", mem: "200 units" },
} as const;
export type YardName = keyof typeof YARDS;
/** The client networks (testbed nodes): A and B near an edge each, C (no reverse names) near the cloud and transit. */
export const SUBNETS = ["A", "B", "C"] as const;
export type SubnetName = (typeof SUBNETS)[number];
/** The site where each subnet's clients end up served: whose round trip the ICON's estimate is held against. */
export const CHOSEN: Record<SubnetName, YardName> = { A: "edge-a", B: "edge-b", C: "cloud" };
export const TOPOLOGY = path.join(projectRoot, "scripts/netbed/topologies/demo.json");
/** The owner's dev key (index in the market's keys) and how long it stays away at least. */
export const OWNER_KEY = 10;
export const OWNER_AWAY_MIN_S = 60;
/** A client request's deadline, redirects included. */
export const REQUEST_TIMEOUT_MS = 5000;
export const SOCKET = DockerRuntime.defaultSocket();

/** The demo's start: every line of the timeline says its seconds since. */
export const t0 = Date.now();
export const T = (at = Date.now()): number => (at - t0) / 1000;
export const say = (who: string, text: string): void =>
  console.log(`[${T().toFixed(1).padStart(5)}s] ${who.padEnd(10)} ${text}`);
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

export function round(x: number): number {
  return Math.round(x * 10) / 10;
}

export async function run(cmd: string, a: string[]): Promise<void> {
  await promisify(execFile)(cmd, a, { env: { ...process.env, ICON_DOCKER_SOCKET: SOCKET } });
}

export async function waitFor<T>(what: string, check: () => T | undefined | false, ms: number): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = check();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms / 1000} s waiting for ${what}`);
    await sleep(200);
  }
}

/** Removes the containers and the network a demo yard left (a yard keeps them for its next start; the demo has none). */
export async function removeYardContainers(yardId: string): Promise<void> {
  const docker = ["-H", `unix://${SOCKET}`];
  const run = (a: string[]) => promisify(execFile)("/usr/bin/docker", [...docker, ...a]);
  const { stdout } = await run(["ps", "-aq", "--filter", `label=icon.yard=${yardId}`]);
  const ids = stdout.split("\n").filter(Boolean);
  if (ids.length > 0) await run(["rm", "-f", ...ids]);
  const nets = await run(["network", "ls", "-q", "--filter", `label=icon.yard=${yardId}`]);
  const names = [...nets.stdout.split("\n").filter(Boolean), `icon-${yardId}`];
  for (const n of new Set(names))
    await run(["network", "rm", n]).catch((e: { stderr?: string }) => {
      if (!/not found|No such network/i.test(e.stderr ?? ""))
        console.error(`demo: removing network ${n} of yard ${yardId}: ${(e.stderr ?? String(e)).trim()}`);
    });
  // The yard keeps its host firewall table while its containers run; they are gone now.
  await new HostFirewall({ yardId }).remove().catch(() => {});
}
