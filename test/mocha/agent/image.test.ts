/**
 * The ICON agent image, icon/agent:1 (scripts/images.sh), on the project's real Docker engine after set-up's images
 * step (ensureEngine runs scripts/images.sh as set-up does): it holds the project's Node with exactly the shared
 * libraries `ldd` lists and the bundled agent, nothing else (no node_modules, no Hardhat, no test code); it runs as
 * 65534 on a read-only root file system with a tmpfs at /run/icon, with every capability dropped and no network;
 * its entry answers --version and --help and its daemon (`agent run`) refuses an empty state directory with a
 * sentence. Each check is one short container (≈ 1 s); the real agent inside a container, placed and idle, is
 * `npm run bench:lease`'s (BENCHMARKS.md).
 */
import { expect } from "chai";
import { execFile } from "node:child_process";
import { readlinkSync } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { Wallet } from "ethers";
import { DockerRuntime } from "../../../yard-node/docker.ts";
import { agentEnvFrom } from "../../../icon-agent/config.ts";
import { sealAgentState, writeAgentState } from "../../../icon-agent/state.ts";
import { ensureEngine, WEB_IMAGE } from "../../helpers/docker.ts";

const run = promisify(execFile);
const IMAGE = "icon/agent:1";
const ROOT = path.resolve(import.meta.dirname, "../../..");
// Debian's CLI speaks the engine's API version (a newer `docker` earlier on PATH may refuse to).
const docker = (...args: string[]) =>
  run("/usr/bin/docker", ["-H", `unix://${DockerRuntime.defaultSocket()}`, ...args], {
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
/** What the yard gives a lease's containers, and what the agent's sidecar is meant to get. */
const CONFINED = [
  "--rm",
  "--label",
  "icon.test=agent-image",
  "--read-only",
  "--tmpfs",
  "/run/icon:uid=65534,gid=65534,mode=0700",
  "--cap-drop",
  "ALL",
  "--security-opt",
  "no-new-privileges",
  "--network",
  "none",
  "--memory",
  "128m",
];

/** Runs the image confined with `input` on its standard input; stdout, stderr and the exit code. */
function runAgentWithInput(input: Uint8Array): Promise<{ out: string; err: string; code: number }> {
  const argv = ["-H", `unix://${DockerRuntime.defaultSocket()}`, "run", "-i", ...CONFINED, IMAGE];
  const child = spawn("/usr/bin/docker", argv, { stdio: ["pipe", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (err += d.toString()));
  child.stdin.end(Buffer.from(input));
  return new Promise((resolve) => child.on("close", (code) => resolve({ out, err, code: code ?? -1 })));
}

/** Runs the image confined; stdout, stderr and the exit code (a failing exit is an answer here, not an error). */
async function runAgent(args: string[], entrypoint?: string): Promise<{ out: string; err: string; code: number }> {
  const argv = ["run", ...CONFINED, ...(entrypoint ? ["--entrypoint", entrypoint] : []), IMAGE, ...args];
  try {
    const { stdout, stderr } = await docker(...argv);
    return { out: stdout, err: stderr, code: 0 };
  } catch (e) {
    const x = e as { stdout?: string; stderr?: string; code?: number };
    return { out: x.stdout ?? "", err: x.stderr ?? "", code: typeof x.code === "number" ? x.code : -1 };
  }
}

describe("agent image (icon/agent:1)", function () {
  this.timeout(180_000);

  before(async function () {
    await ensureEngine();
  });

  it("exists after set-up's images step, labelled with its content, entry and user set", async function () {
    const { stdout } = await docker("image", "inspect", "--format", "{{json .Config}}", IMAGE);
    const c = JSON.parse(stdout) as {
      User: string;
      Entrypoint: string[];
      Cmd: string[];
      Labels: Record<string, string>;
    };
    expect(c.User).to.equal("65534:65534");
    expect(c.Labels["icon.content"]).to.match(/^[0-9a-f]{64}$/);
    expect(c.Entrypoint[0]).to.equal("/usr/local/bin/node");
    expect(c.Entrypoint.at(-1)).to.equal("/app/icon-agent.js");
    expect(c.Cmd).to.deep.equal(["agent", "run", "--state", "/run/icon", "--state-from-stdin"]);
  });

  it("holds the project's Node, exactly the libraries ldd lists for it, and the bundled agent: nothing else", async function () {
    const { stdout: id } = await docker("create", "--label", "icon.test=agent-image", IMAGE);
    let files: string[];
    try {
      const { stdout } = await run(
        "sh",
        ["-c", `/usr/bin/docker -H unix://${DockerRuntime.defaultSocket()} export ${id.trim()} | tar -t`],
        { encoding: "utf8", maxBuffer: 16 * 1024 * 1024 },
      );
      files = stdout.split("\n").filter((f) => f && !f.endsWith("/"));
    } finally {
      await docker("rm", "-f", id.trim());
    }
    const node = readlinkSync(path.join(ROOT, ".tools/node_modules/.bin/node"));
    const { stdout: ldd } = await run("ldd", [path.resolve(path.join(ROOT, ".tools/node_modules/.bin"), node)], {
      encoding: "utf8",
    });
    const libs = ldd
      .split("\n")
      .map((l) => /=>\s+(\/\S+)/.exec(l)?.[1] ?? /^\s*(\/\S+)/.exec(l)?.[1])
      .filter((f): f is string => f !== undefined)
      .map((f) => f.slice(1));
    // `docker export` adds what Docker sets up in every container (empty placeholders and links).
    const byDocker = new Set([".dockerenv", "dev/console", "etc/hostname", "etc/hosts", "etc/mtab", "etc/resolv.conf"]);
    const own = files.filter((f) => !byDocker.has(f)).sort();
    expect(own).to.deep.equal(
      [
        "app/icon-agent.js",
        "app/package.json",
        "etc/group",
        "etc/nsswitch.conf",
        "etc/passwd",
        "usr/local/bin/node",
        ...libs,
      ].sort(),
    );
  });

  it("answers --version and --help as 65534 on a read-only root, no capabilities, no network", async function () {
    const version = await runAgent(["--version"]);
    expect(version.code, version.err).to.equal(0);
    expect(version.out).to.match(/^icon-agent \d+\.\d+\.\d+ \(agent; node v24\.\d+\.\d+\)\n$/);
    const help = await runAgent(["--help"]);
    expect(help.code, help.err).to.equal(0);
    expect(help.out).to.include("usage: agent run --state <dir> [--state-from-stdin]");
    const runHelp = await runAgent(["agent", "run", "--help"]);
    expect(runHelp.out).to.match(
      /^usage: agent run --state <dir> \[--state-from-stdin\] \[--hand-over\] \[--take-back\]\n\nrun one ICON from its state/,
    );
  });

  it("writes only to its tmpfs at /run/icon, as 65534", async function () {
    const probe = `
      const fs = require("node:fs");
      const tryWrite = (f) => { try { fs.writeFileSync(f, "x"); return "ok"; } catch (e) { return e.code; } };
      console.log(JSON.stringify({
        uid: process.getuid(), gid: process.getgid(),
        app: tryWrite("/app/x"), root: tryWrite("/x"), stateDir: tryWrite("/run/icon/x"),
        stateMode: (fs.statSync("/run/icon").mode & 0o777).toString(8),
      }));`;
    const r = await runAgent(["-e", probe], "/usr/local/bin/node");
    expect(r.code, r.err).to.equal(0);
    expect(JSON.parse(r.out)).to.deep.equal({
      uid: 65534,
      gid: 65534,
      app: "EROFS",
      root: "EROFS",
      stateDir: "ok",
      stateMode: "700",
    });
  });

  it("starts its daemon by default, which refuses an empty state directory with a sentence", async function () {
    const r = await runAgent([]);
    expect(r.code).to.equal(1);
    expect(r.err).to.include("/run/icon holds no ICON (no agent.json in it)");
  });

  it("takes the ICON's sealed state from standard input into its tmpfs (as the yard hands a sidecar its secret), and refuses a tampered one", async function () {
    const dir = await mkdtemp(path.join(tmpdir(), "icon-image-seal-"));
    try {
      const deployment = {
        chainId: 31337,
        token: "0x" + "01".repeat(20),
        registry: "0x" + "02".repeat(20),
        market: "0x" + "03".repeat(20),
        accessManager: "0x" + "04".repeat(20),
        deployedAt: new Date().toISOString(),
        blockNumber: 0,
      };
      // A chain nobody serves (the container has no network): the agent gets as far as connecting to it.
      const env = agentEnvFrom(
        {
          service: {
            image: WEB_IMAGE,
            imageDigest: "0x" + "ab".repeat(32),
            ports: [8080],
            cpuMillis: 100,
            memoryMiB: 32,
          },
          discovery: { seeds: [], registry: true },
        },
        "http://127.0.0.1:9",
        deployment,
      );
      const seed = { name: "origin", account: 1n, root: 1n, subnets: [], children: {}, replicas: 0 };
      await writeAgentState(dir, env, seed, Wallet.createRandom().privateKey);
      const sealed = await sealAgentState(dir);
      const r = await runAgentWithInput(sealed);
      expect(r.code).to.equal(1);
      expect(r.err).not.to.include("holds no ICON");
      // It read its state (key, account, chain) and went on to the chain, which this container cannot reach.
      expect(r.err).to.include("connecting to the chain failed: the chain RPC endpoint cannot be reached");
      // A sealed state naming a file outside the list is refused before anything is written or started.
      const tampered = JSON.parse(Buffer.from(sealed).toString()) as { files: Record<string, string> };
      tampered.files["../escape"] = Buffer.from("x").toString("base64");
      const t = await runAgentWithInput(Buffer.from(JSON.stringify(tampered)));
      expect(t.code).to.equal(1);
      expect(t.err).to.include("the ICON's sealed state names a file it may not");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
