/**
 * The demo's god view of its agents' output (scripts/lib/godview.ts SidecarLogs) on the real Docker engine: every
 * line of a labelled container once, in order, also when the engine's log stream is cut under it (the follower
 * ends: it is started again from the last line's time, repeats skipped), and the engine's own messages (such as
 * "error from daemon in stream: … unexpected EOF") are never taken for the container's lines.
 */
import { expect } from "chai";
import { execFile, execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { promisify } from "node:util";
import { SidecarLogs } from "../../../scripts/lib/godview.ts";
import { DockerRuntime } from "../../../yard-node/index.ts";

const run = promisify(execFile);
const SOCKET = DockerRuntime.defaultSocket();
const docker = (...a: string[]): Promise<{ stdout: string }> =>
  run("/usr/bin/docker", ["-H", `unix://${SOCKET}`, ...a]);

async function until(what: string, ok: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("god view: the agents' output, every line once", function () {
  this.timeout(90_000);
  const yard = `gvt-${randomBytes(3).toString("hex")}`;
  const name = `icon-${yard}`;

  after(async () => {
    await docker("rm", "-f", name).catch(() => {});
  });

  it("follows a container's lines, and goes on after its follower is cut, with no line lost or repeated", async () => {
    // 120 lines, 10 a second, on stdout and (every 10th) on stderr.
    await docker(
      ...["run", "-d", "--name", name, "--label", "icon.role=agent", "--label", `icon.yard=${yard}`],
      ...["--label", "icon.lease=1", "--entrypoint", "/bin/sh", "icon/web:1", "-c"],
      'i=0; while [ $i -lt 120 ]; do if [ $((i % 10)) -eq 0 ]; then echo "line$i" >&2; else echo "line$i"; fi; i=$((i+1)); sleep 0.1; done; sleep 60',
    );
    const got: string[] = [];
    const logs = new SidecarLogs({ socket: SOCKET, yardIds: [yard], onLine: (_c, l) => got.push(l), pollMs: 200 });
    logs.start();
    try {
      await until("30 lines", () => got.length >= 30);
      // The engine's stream cut under the follower: its docker process ends (as on "unexpected EOF").
      const pids = execFileSync("pgrep", ["-f", `logs -f --timestamps.*`]).toString().trim().split("\n");
      let cut = 0;
      for (const p of pids) {
        const cmd = execFileSync("cat", [`/proc/${p}/cmdline`]).toString();
        const id = (await docker("inspect", "-f", "{{.Id}}", name)).stdout.trim();
        if (cmd.includes(id)) {
          process.kill(Number(p), "SIGKILL");
          cut++;
        }
      }
      expect(cut).to.equal(1);
      await until("all 120 lines", () => got.length >= 120);
      await new Promise((r) => setTimeout(r, 500));
      const numbers = got.map((l) => Number(/^line(\d+)$/.exec(l)?.[1] ?? NaN));
      expect(
        numbers.filter((n) => Number.isNaN(n)),
        got.join("|"),
      ).to.deep.equal([]);
      expect([...new Set(numbers)].sort((a, b) => a - b)).to.deep.equal([...Array(120).keys()]);
      expect(numbers.length, "no line twice").to.equal(120);
      // Within each stream the order is kept.
      const out = numbers.filter((n) => n % 10 !== 0);
      expect(out).to.deep.equal([...out].sort((a, b) => a - b));
      expect(logs.containers().map((c) => c.yardId)).to.deep.equal([yard]);
    } finally {
      await logs.stop();
    }
  });
});
