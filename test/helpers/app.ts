/**
 * An application deployed the way a user does it, through the `icon` CLI as processes: `icon app deploy` funds the
 * budget and starts the origin's agent (`icon agent run`) in the background, waiting until it is placed (and, in
 * sidecar placement, until it handed the origin into its lease's sidecar and ended).
 */
import { execFile } from "node:child_process";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { projectRoot } from "../../scripts/lib/hardhat.ts";
import type { TestMarket } from "../../scripts/lib/testbed.ts";
import { WEB_IMAGE } from "./docker.ts";

/** The project's `icon` launcher. */
export const ICON_CLI = path.join(projectRoot, "scripts/icon");

/** True while process `pid` runs. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** What the web application deployed by `deployWebApp` needs. */
export interface WebAppInit {
  /** The web image's id (0x and 64 hex digits). */
  digest: string;
  cpuMillis: number;
  /** The region of the origin's first placement. */
  initialRegion: string;
  /** `--wait`: seconds `icon app deploy` waits for the placement. */
  waitS: number;
  /** The prefix of the temporary directory holding the config and the agent's state. */
  tmpPrefix: string;
  /**
   * Sidecar placement (`icon app deploy`'s default: the origin handed into its lease's sidecar, the command exits);
   * without it `--local` (the origin's agent keeps running here). `sidecar` goes into the config as it is.
   */
  sidecar?: Record<string, unknown>;
}

/** A web application deployed by `deployWebApp`: its files, the CLI's arguments, and what `app deploy` printed. */
export interface WebApp {
  /** The agent's state directory. */
  state: string;
  /** The environment and the global options of every `icon` call on this market as the owner (`m.keys[10]`). */
  env: NodeJS.ProcessEnv;
  global: string[];
  /** `icon app deploy`'s output. */
  stdout: string;
}

/** An app config's `service` for tests that build agent configs without running it (icon/web:1 on 8080, a made-up
 * digest, 250 mCPU, 64 MiB). */
export const CONFIG_SERVICE = {
  image: "icon/web:1",
  imageDigest: "0x" + "ab".repeat(32),
  ports: [8080],
  cpuMillis: 250,
  memoryMiB: 64,
};

/**
 * Deploys a web application (icon/web:1 on port 8080, 600 s slots, registry discovery, a 500 ms agent period)
 * owned by `m.keys[10]` with a 3 iUSD deposit, through `icon app deploy`.
 */
export async function deployWebApp(m: TestMarket, o: WebAppInit): Promise<WebApp> {
  const dir = await mkdtemp(path.join(tmpdir(), o.tmpPrefix));
  const state = path.join(dir, "app");
  const config = path.join(dir, "app.json");
  await writeFile(
    config,
    JSON.stringify({
      service: {
        image: WEB_IMAGE,
        imageDigest: o.digest,
        ports: [8080],
        httpPorts: [8080],
        cpuMillis: o.cpuMillis,
        memoryMiB: 64,
        slotSeconds: 600,
      },
      discovery: { registry: true },
      initialRegion: o.initialRegion,
      agent: { periodMs: 500, reportEveryMs: 500 },
      ...(o.sidecar ? { sidecar: o.sidecar } : {}),
    }),
  );
  const env = { ...process.env, ICON_PRIVATE_KEY: m.keys[10]! };
  const global = ["--rpc", m.chain.url, "--deployment", m.deploymentFile];
  const { stdout } = await promisify(execFile)(
    ICON_CLI,
    [
      "app",
      "deploy",
      ...global,
      "--config",
      config,
      "--state",
      state,
      "--deposit",
      "3",
      "--wait",
      String(o.waitS),
      ...(o.sidecar ? [] : ["--local"]),
    ],
    { env },
  );
  return { state, env, global, stdout };
}
