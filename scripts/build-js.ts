/**
 * Builds a plain-JavaScript copy of the runtime code into .build/ (gitignored), which `scripts/icon` runs: Node then
 * need not load its TypeScript stripper (a WASM module, and every source text kept for it), 17–24 MiB of a yard.
 *  - Every `.ts` under the trees below is stripped with Node's own `stripTypeScriptTypes` (mode "strip": types become
 *    blanks, so lines and columns of stack traces still match the sources) and written as `.js`; `.js` and `.d.ts`
 *    files there (protocol/schema/generated/) are copied. The layout is kept: .build/yard-node/yard.js, …
 *  - Relative import specifiers (static `import`/`export … from`, side-effect `import "…"`, `import("…")`) that point
 *    into those trees have `.ts` rewritten to `.js`; those that point outside them (hardhat.config.ts, the Ignition
 *    modules) are rewritten to reach the original file, which Node strips on load as before. Bare specifiers resolve
 *    as from the sources: Node walks up from .build/ to the project's node_modules/ and package.json ("type").
 *  - Code that locates files from `import.meta` sees .build/…: scripts/lib/hardhat.ts accounts for it (projectRoot);
 *    a file not reviewed for that is reported (REVIEWED_IMPORT_META).
 *  - Incremental: a file is rebuilt only if its output is not newer than both the source and this script; outputs
 *    whose source is gone are removed. Files are written atomically (temp + rename): concurrent builds are safe.
 *  - .build/.complete exists only after a build that ended without error: scripts/icon runs the build only then.
 *
 * Usage: node scripts/build-js.ts [--quiet]   (one-line summary on stderr; --quiet: only if something changed;
 * exit 1 if a file failed)
 */
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { stripTypeScriptTypes } from "node:module";
import path from "node:path";

const started = performance.now();
const ROOT = path.resolve(import.meta.dirname, "..");
const OUT = path.join(ROOT, ".build");
const STAMP = path.join(OUT, ".complete");
/** Everything `scripts/cli/icon.ts` imports, statically or dynamically, from the repository lives under these. */
const TREES = ["protocol", "yard-node", "icon-agent", "scripts/cli", "scripts/lib"];
/** Files whose use of import.meta was checked to behave the same from .build/. */
const REVIEWED_IMPORT_META = new Set(["scripts/lib/hardhat.ts"]);
const quiet = process.argv.includes("--quiet");
const say = (line: string): void => void process.stderr.write(`[build-js] ${line}\n`);

const inTrees = (rel: string): boolean => TREES.some((t) => rel.startsWith(`${t}/`));
const rel = (abs: string): string => path.relative(ROOT, abs).split(path.sep).join("/");
/** The output (relative to OUT) of a source file (relative to ROOT), or undefined if it is not part of the build. */
function outputOf(file: string): string | undefined {
  if (file.endsWith(".d.ts") || file.endsWith(".js")) return file;
  if (file.endsWith(".ts")) return file.slice(0, -3) + ".js";
  return undefined;
}

// The experimental-feature warning of stripTypeScriptTypes (Node 24) is noise in a build summary.
const emitWarning = process.emitWarning.bind(process);
process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
  if (!String(warning instanceof Error ? warning.message : warning).includes("stripTypeScriptTypes"))
    (emitWarning as (...a: unknown[]) => void)(warning, ...rest);
}) as typeof process.emitWarning;

/** Rewrites the relative specifiers of `code` (output of source `file`, both relative to ROOT) for .build/. */
function rewriteSpecifiers(code: string, file: string): string {
  const srcDir = path.dirname(path.join(ROOT, file));
  const outDir = path.dirname(path.join(OUT, file));
  return code.replace(
    /(\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(["'])(\.\.?\/[^"'\n]*)\2/g,
    (_all, lead: string, q: string, spec: string) => {
      const target = rel(path.resolve(srcDir, spec));
      let next: string;
      if (inTrees(target)) next = spec.endsWith(".ts") && !spec.endsWith(".d.ts") ? spec.slice(0, -3) + ".js" : spec;
      else {
        next = path.relative(outDir, path.join(ROOT, target)).split(path.sep).join("/");
        if (!next.startsWith(".")) next = `./${next}`;
      }
      return `${lead}${q}${next}${q}`;
    },
  );
}

function writeAtomically(dest: string, write: (tmp: string) => void): void {
  mkdirSync(path.dirname(dest), { recursive: true });
  const tmp = `${dest}.${process.pid}.tmp`;
  try {
    write(tmp);
    renameSync(tmp, dest);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

const selfMtime = statSync(import.meta.filename).mtimeMs;
const expected = new Set<string>();
const counts = { transformed: 0, copied: 0, current: 0, removed: 0 };
const failures: string[] = [];
const unreviewed: string[] = [];
let stampRemoved = false;

for (const tree of TREES) {
  let entries;
  try {
    entries = readdirSync(path.join(ROOT, tree), { recursive: true, withFileTypes: true });
  } catch {
    continue; // a tree without files (icon-agent/ may hold only a README)
  }
  for (const e of entries) {
    if (!e.isFile()) continue;
    const file = rel(path.join(e.parentPath, e.name));
    const out = outputOf(file);
    if (out === undefined) continue;
    if (expected.has(out)) {
      failures.push(`${file}: two sources for .build/${out}`);
      continue;
    }
    expected.add(out);
    const src = path.join(ROOT, file);
    const dest = path.join(OUT, out);
    let destMtime = 0;
    try {
      destMtime = statSync(dest).mtimeMs;
    } catch {
      // not built yet
    }
    if (destMtime > Math.max(statSync(src).mtimeMs, selfMtime)) {
      counts.current++;
      continue;
    }
    if (!stampRemoved) {
      rmSync(STAMP, { force: true });
      stampRemoved = true;
    }
    try {
      if (out === file) {
        writeAtomically(dest, (tmp) => copyFileSync(src, tmp));
        counts.copied++;
      } else {
        const code = rewriteSpecifiers(stripTypeScriptTypes(readFileSync(src, "utf8"), { mode: "strip" }), file);
        if (/\bimport\.meta\b/.test(code) && !REVIEWED_IMPORT_META.has(file)) unreviewed.push(file);
        writeAtomically(dest, (tmp) => writeFileSync(tmp, code));
        counts.transformed++;
      }
    } catch (err) {
      failures.push(`${file}: ${err instanceof Error ? err.message.split("\n")[0] : String(err)}`);
    }
  }
}

// Outputs whose source is gone (deleted or renamed files).
for (const tree of TREES) {
  let entries;
  try {
    entries = readdirSync(path.join(OUT, tree), { recursive: true, withFileTypes: true });
  } catch {
    continue;
  }
  for (const e of entries) {
    if (!e.isFile()) continue;
    const out = path.relative(OUT, path.join(e.parentPath, e.name)).split(path.sep).join("/");
    if (expected.has(out) || /\.\d+\.tmp$/.test(out)) continue;
    rmSync(path.join(OUT, out), { force: true });
    counts.removed++;
  }
}

for (const f of failures) say(`error: ${f}`);
for (const f of unreviewed)
  say(`warning: ${f} uses import.meta: its built copy runs from .build/${outputOf(f)} (see scripts/build-js.ts)`);
if (failures.length === 0 && (stampRemoved || !existsSync(STAMP))) writeFileSync(STAMP, "");
const changed = counts.transformed + counts.copied + counts.removed > 0;
if (!quiet || changed || failures.length > 0) {
  say(
    `.build/: ${counts.transformed} stripped, ${counts.copied} copied, ${counts.current} up to date, ` +
      `${counts.removed} removed${failures.length ? `, ${failures.length} FAILED` : ""} ` +
      `(${Math.round(performance.now() - started)} ms)`,
  );
}
process.exitCode = failures.length > 0 ? 1 : 0;
