/**
 * Builds a plain-JavaScript copy of the runtime code into .build/ (gitignored), which `scripts/icon` runs: Node then
 * need not load its TypeScript stripper (a WASM module, and every source text kept for it), 17–24 MiB of a yard.
 *  - Every `.ts` under the trees below is compiled by TypeScript's own emit (`ts.transpileModule`, file by file, no
 *    type check: `npm run typecheck` does that) and written as `.js`; `.js` and `.d.ts` files there
 *    (protocol/schema/generated/) are copied. The layout is kept: .build/yard-node/yard.js, …
 *  - Relative import specifiers are TypeScript's to rewrite (`rewriteRelativeImportExtensions`: `./x.ts` becomes
 *    `./x.js`, in static imports, re-exports and `import()`). A relative import that leaves the trees fails the build
 *    (its target would be missing from .build/): code here imports such files by absolute URL (scripts/lib/hardhat.ts
 *    does for hardhat.config.ts and the Ignition modules). Bare specifiers resolve as from the sources: Node walks up
 *    from .build/ to the project's node_modules/ and package.json ("type").
 *  - Stack traces: a frame names the built file (.build/x/y.js) and the right function; its line is near the source's
 *    but not equal (the emit drops what is only types and re-flows some statements). Each output has a source map
 *    (y.js.map, naming ../x/y.ts): `NODE_OPTIONS=--enable-source-maps icon …` prints source lines exactly. Not on by
 *    default: Node then keeps every module's map in memory (the yard's RSS).
 *  - Code that locates files from `import.meta` sees .build/…: the files in REVIEWED_IMPORT_META account for it;
 *    any other is reported.
 *  - Incremental: a file is rebuilt only if its output is not newer than both the source and this script; outputs
 *    whose source is gone are removed. Files are written atomically (temp + rename): concurrent builds are safe.
 *    TypeScript (≈ 0.5 s to load) is loaded only when a file needs building.
 *  - .build/.complete exists only after a build that ended without error. It lists the trees (one a line) and its
 *    time is the build's start: scripts/setup.sh (icon_build_current) runs .build/ only if no file or directory
 *    under those trees, and not this script, is newer — so an edit made during a build makes it stale too.
 *
 * Usage: node scripts/build-js.ts [--quiet]   (one-line summary on stderr; --quiet: only if something changed;
 * exit 1 if a file failed)
 */
import {
  copyFileSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import path from "node:path";
import type ts from "typescript";

const started = performance.now();
const startedAt = new Date();
const ROOT = path.resolve(import.meta.dirname, "..");
const OUT = path.join(ROOT, ".build");
const STAMP = path.join(OUT, ".complete");
/** Everything `scripts/cli/icon.ts` imports, statically or dynamically, from the repository lives under these. */
const TREES = ["protocol", "yard-node", "icon-agent", "scripts/cli", "scripts/lib"];
/** Files whose use of import.meta was checked to behave the same from .build/. */
const REVIEWED_IMPORT_META = new Set([
  "scripts/lib/hardhat.ts",
  "scripts/cli/setup.ts",
  "scripts/cli/agent-main.ts",
  "scripts/lib/console-server.ts",
]);
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

let typescript: typeof ts | undefined;
/** TypeScript's module, loaded on first use (most runs find every output current). */
async function loadTypeScript(): Promise<typeof ts> {
  typescript ??= (await import("typescript")).default;
  return typescript;
}

/**
 * The emitted JavaScript of source `file` (relative to ROOT) and its source map (naming the source by its path from
 * the output's directory); throws a sentence if the code imports outside the trees.
 */
function compile(t: typeof ts, source: string, file: string): { code: string; map: string } {
  const { outputText, sourceMapText, diagnostics } = t.transpileModule(source, {
    fileName: file,
    reportDiagnostics: true,
    compilerOptions: {
      module: t.ModuleKind.ESNext,
      target: t.ScriptTarget.ESNext,
      rewriteRelativeImportExtensions: true,
      verbatimModuleSyntax: true,
      allowImportingTsExtensions: true,
      useDefineForClassFields: true,
      sourceMap: true,
    },
  });
  if (diagnostics?.length) throw new Error(t.flattenDiagnosticMessageText(diagnostics[0]!.messageText, " "));
  const srcDir = path.dirname(path.join(ROOT, file));
  for (const { fileName: spec } of t.preProcessFile(outputText, true, true).importedFiles) {
    if (!/^\.\.?\//.test(spec)) continue;
    const target = rel(path.resolve(srcDir, spec));
    if (!inTrees(target))
      throw new Error(
        `imports ${spec}, outside the trees .build/ holds (${TREES.join(", ")}); import it by absolute URL from the project root, as scripts/lib/hardhat.ts does`,
      );
  }
  const map = JSON.parse(sourceMapText!) as { sources: string[]; sourceRoot?: string };
  delete map.sourceRoot;
  map.sources = [
    path
      .relative(path.dirname(path.join(OUT, file)), path.join(ROOT, file))
      .split(path.sep)
      .join("/"),
  ];
  return { code: outputText, map: JSON.stringify(map) };
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
const counts = { compiled: 0, copied: 0, current: 0, removed: 0 };
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
    if (out !== file) expected.add(`${out}.map`);
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
        const { code, map } = compile(await loadTypeScript(), readFileSync(src, "utf8"), file);
        if (/\bimport\.meta\b/.test(code) && !REVIEWED_IMPORT_META.has(file)) unreviewed.push(file);
        // The map first: the code's time is what says the output is current.
        writeAtomically(`${dest}.map`, (tmp) => writeFileSync(tmp, map));
        writeAtomically(dest, (tmp) => writeFileSync(tmp, code));
        counts.compiled++;
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
// Written after every build without failure (also one that found everything current: whatever made the launcher
// think .build/ stale, e.g. a directory touched by an editor, was looked at), dated at the build's start.
if (failures.length === 0) {
  writeAtomically(STAMP, (tmp) => {
    writeFileSync(tmp, TREES.map((t) => `${t}\n`).join(""));
    utimesSync(tmp, startedAt, startedAt);
  });
}
const changed = counts.compiled + counts.copied + counts.removed > 0;
if (!quiet || changed || failures.length > 0) {
  say(
    `.build/: ${counts.compiled} compiled, ${counts.copied} copied, ${counts.current} up to date, ` +
      `${counts.removed} removed${failures.length ? `, ${failures.length} FAILED` : ""} ` +
      `(${Math.round(performance.now() - started)} ms)`,
  );
}
process.exitCode = failures.length > 0 ? 1 : 0;
