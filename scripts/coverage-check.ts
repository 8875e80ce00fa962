/**
 * Enforces contract coverage after `hardhat test --coverage`: every product contract (mocks excluded) must
 * have >= 95 % of its lines hit. Hardhat 3's coverage reports lines and statements, not branches; branch
 * coverage is approached by the revert-path tests instead (see README).
 *
 * Usage: node scripts/coverage-check.ts [coverage/lcov.info]
 */
import { readFile } from "node:fs/promises";

const MIN_LINES = 95;
const file = process.argv[2] ?? "coverage/lcov.info";
const text = await readFile(file, "utf8").catch(() => {
  console.error(`no ${file}: run the tests with --coverage first`);
  process.exit(1);
});

let failed = false;
let hit = 0;
let found = 0;
for (const record of text.split("end_of_record")) {
  const sf = /^SF:(.+)$/m.exec(record)?.[1];
  const lf = Number(/^LF:(\d+)$/m.exec(record)?.[1] ?? 0);
  const lh = Number(/^LH:(\d+)$/m.exec(record)?.[1] ?? 0);
  if (!sf || !sf.startsWith("contracts/") || sf.startsWith("contracts/mocks/") || lf === 0) continue;
  hit += lh;
  found += lf;
  const pct = (100 * lh) / lf;
  const ok = pct >= MIN_LINES;
  failed ||= !ok;
  console.error(
    `${sf.padEnd(32)} ${pct.toFixed(2).padStart(6)} % lines (${lh}/${lf}) ${ok ? "ok" : `below ${MIN_LINES} %`}`,
  );
}
console.error(`${"total".padEnd(32)} ${((100 * hit) / found).toFixed(2).padStart(6)} % lines (${hit}/${found})`);
if (found === 0 || failed) {
  console.error(`contract line coverage must be >= ${MIN_LINES} % per contract`);
  process.exit(1);
}
