/**
 * The daemons' last-resort handler (protocol/last-resort.ts), in a process of its own: a peer's reset that reaches
 * no handler and a rejection nobody awaited are logged and survived; any other uncaught exception ends the process
 * with code 70 (a restart reconciles), after logging it with its stack.
 */
import { expect } from "chai";
import { spawn } from "node:child_process";
import path from "node:path";
import { isPeerIoError } from "../../../protocol/index.ts";
import { projectRoot } from "../../../scripts/lib/hardhat.ts";

/** Runs `body` (an ES module's text) in a fresh Node with the handler installed; its exit code and stderr. */
function runWithHandler(body: string): Promise<{ code: number | null; stderr: string; stdout: string }> {
  const module = path.join(projectRoot, "protocol/last-resort.ts");
  const source = `
    import { EventEmitter } from "node:events";
    import { installLastResort, lastResortStats } from ${JSON.stringify(module)};
    const log = {
      warn: (m, f) => console.error(JSON.stringify({ level: "warn", msg: m, ...f })),
      error: (m, f) => console.error(JSON.stringify({ level: "error", msg: m, ...f })),
    };
    installLastResort({ log, what: "test daemon" });
    ${body}
  `;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--input-type=module", "-e", source], { stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    let stdout = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.once("exit", (code) => resolve({ code, stderr, stdout }));
  });
}

describe("last-resort handler of the yard and agent processes", function () {
  this.timeout(30_000);

  it("survives a stream reset emitted with no 'error' listener, and a rejection nobody handled", async () => {
    // Each in a task of its own, as they come from the event loop (an uncaught throw ends the task it is in).
    const r = await runWithHandler(`
      const reset = Object.assign(new Error("The stream has been reset"), { name: "StreamResetError" });
      setTimeout(() => new EventEmitter().emit("error", reset), 10);
      const pipe = Object.assign(new Error("write EPIPE"), { code: "EPIPE" });
      setTimeout(() => new EventEmitter().emit("error", new Error("tunnel torn down", { cause: pipe })), 20);
      setTimeout(() => void Promise.reject(new Error("nobody awaits this")), 30);
      setTimeout(() => console.log(JSON.stringify(lastResortStats())), 300);
    `);
    expect(r.code, r.stderr).to.equal(0);
    expect(JSON.parse(r.stdout)).to.deep.equal({ rejections: 1, peerIo: 2 });
    expect(r.stderr).to.contain("a peer's reset or close reached no handler (kept running)");
    expect(r.stderr).to.contain("a promise rejection nobody handled (kept running)");
    expect(r.stderr).to.contain("nobody awaits this");
  });

  it("exits with code 70 on any other uncaught exception, after logging it with its stack", async () => {
    const r = await runWithHandler(`
      setTimeout(() => { const o = undefined; o.field; }, 10);
      setTimeout(() => { console.log("still running"); process.exit(0); }, 2000);
    `);
    expect(r.code).to.equal(70);
    expect(r.stdout).to.not.contain("still running");
    expect(r.stderr).to.contain("uncaught exception; exiting with code 70");
    expect(r.stderr).to.contain("TypeError");
    expect(r.stderr).to.match(/"stack":"TypeError/);
  });

  it("tells peer I/O from other errors through the cause chain, and does not loop on a cyclic cause", () => {
    expect(isPeerIoError(Object.assign(new Error("x"), { code: "ECONNRESET" }))).to.equal(true);
    expect(isPeerIoError(Object.assign(new Error("x"), { name: "StreamAbortedError" }))).to.equal(true);
    expect(isPeerIoError(new Error("a", { cause: new Error("b", { cause: { code: "EPIPE" } }) }))).to.equal(false);
    expect(isPeerIoError(new Error("a", { cause: Object.assign(new Error("b"), { code: "EPIPE" }) }))).to.equal(true);
    expect(isPeerIoError(new TypeError("o is undefined"))).to.equal(false);
    expect(isPeerIoError("ECONNRESET")).to.equal(false);
    const a = new Error("a");
    const b = new Error("b", { cause: a });
    (a as { cause?: unknown }).cause = b;
    expect(isPeerIoError(a)).to.equal(false);
  });
});
