/**
 * test/lanes.ts's digest of a failed job (test/helpers/lanes-digest.ts), on mocha's own report: a mocha run of two
 * failing tests and a failing hook (run here, in a child process, on a suite written for it), and a job that died
 * without a report.
 */
import { expect } from "chai";
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { failureDigest } from "../../helpers/lanes-digest.ts";

const MOCHA = createRequire(import.meta.url).resolve("mocha/bin/mocha.js");

/** mocha's whole output (stdout and stderr) on `source`, with colours (as a terminal run gives them). */
async function mochaOn(source: string): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), "icon-digest-"));
  try {
    const file = path.join(dir, "case.test.mjs");
    await writeFile(file, source);
    return await new Promise((resolve) =>
      execFile(process.execPath, [MOCHA, "--color", file], (_e, stdout, stderr) => resolve(stdout + stderr)),
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe("lanes: the digest of a failed job", function () {
  this.timeout(30_000);

  it("names each failed test, nested titles joined, with its error's first line, colours removed", async () => {
    const out = await mochaOn(`
      import assert from "node:assert";
      describe("outer", () => {
        it("passes", () => {});
        describe("inner", () => {
          it("compares: two numbers", () => assert.strictEqual(1 + 1, 3));
        });
        it("throws its own", () => { throw new Error("the yard is gone\\nsecond line"); });
      });
      describe("with a hook", () => {
        before(() => { throw new TypeError("no chain"); });
        it("never runs", () => {});
      });
    `);
    expect(out).to.contain("3 failing");
    expect(failureDigest(out)).to.deep.equal([
      // mocha runs a suite's own tests before its nested suites'
      "1) throws its own: Error: the yard is gone",
      "2) inner compares: two numbers: AssertionError [ERR_ASSERTION]: Expected values to be strictly equal:",
      '3) "before all" hook for "never runs": TypeError: no chain',
    ]);
    expect(failureDigest(out, 2)).to.have.length(2);
  });

  it("keeps the error's words when the title is long: the title is cut to 110 characters, the error to 200", async () => {
    const title = "t".repeat(300);
    const out = await mochaOn(`
      describe("s", () => { it(${JSON.stringify(title)}, () => { throw new Error("why: " + "e".repeat(300)); }); });
    `);
    const [line] = failureDigest(out);
    expect(line).to.equal(`1) ${"t".repeat(109)}…: Error: why: ${"e".repeat(187)}…`);
  });

  it("gives a job without a mocha report its last non-empty lines, each at most 240 characters", () => {
    const out = `compiling\n\nError HHE3: something broke\n${"x".repeat(300)}\n\n`;
    expect(failureDigest(out, 2)).to.deep.equal(["Error HHE3: something broke", `${"x".repeat(239)}…`]);
  });
});
