/**
 * What a failed job of test/lanes.ts said, in a few lines: the tests that failed and the first line of each one's
 * error, read from mocha's report (`N failing`, then `1) suite` / `title:` / the error). test/lanes.ts prints it at
 * the very end of a run, beside the FAILED line, so that a run whose log is kept only by its tail (a CI summary)
 * still says which test failed and why. A job without a mocha report (a crash, a Hardhat or coverage failure) gets
 * its last non-empty lines instead.
 *
 * @example
 *   failureDigest(output, 6)   // ["1) renews its lease …: AssertionError: expected [] to have a length of 1", …]
 */

/** ANSI colour codes (a run on a terminal passes --color to mocha). */
const ANSI = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, "g");

/** At most `max` lines naming each failed test of `output` (mocha's) and its error's first line. */
export function failureDigest(output: string, max = 8): string[] {
  const lines = output.replace(ANSI, "").split("\n");
  const at = lines.findIndex((l) => /^\s*\d+ failing\s*$/.test(l));
  if (at < 0) {
    const tail = lines.map((l) => l.trimEnd()).filter((l) => l.trim() !== "");
    return tail.slice(-max).map((l) => clip(l.trim(), 240));
  }
  const out: string[] = [];
  let i = at + 1;
  while (i < lines.length && out.length < max) {
    const head = /^\s*(\d+)\) (.*)$/.exec(lines[i]!);
    if (!head) {
      i++;
      continue;
    }
    // `1) describe title` then the test's title on following lines (ending in ':'), then the error.
    const title: string[] = [];
    let j = i + 1;
    for (; j < lines.length && lines[j]!.trim() !== ""; j++) {
      const t = lines[j]!.trim();
      title.push(t.replace(/:$/, ""));
      if (t.endsWith(":")) break;
    }
    if (title.length === 0) title.push(head[2]!.trim());
    // A hook's failure names itself on the heading line: keep it when no test title followed.
    let error = "";
    for (let k = j + 1; k < lines.length; k++) {
      const t = lines[k]!.trim();
      if (/^\d+\) /.test(t)) break;
      if (t !== "") {
        error = t;
        break;
      }
    }
    // The error is the part that says why: a long title gives way to it.
    out.push(`${head[1]}) ${clip(title.join(" "), 110)}: ${clip(error || "(no error text)", 200)}`);
    i = j + 1;
  }
  return out;
}

/** `s` in at most `n` characters (a log's tail stays readable). */
function clip(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}
