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
import { DockerRuntime } from "../../../yard-node/docker.ts";
import { ensureEngine } from "../../helpers/docker.ts";

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
    expect(c.Cmd).to.deep.equal(["agent", "run", "--state", "/run/icon"]);
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
    expect(help.out).to.include("usage: agent run --state <dir>");
    const runHelp = await runAgent(["agent", "run", "--help"]);
    expect(runHelp.out).to.match(/^usage: agent run --state <dir>\n\nrun one ICON from its state directory/);
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
});
