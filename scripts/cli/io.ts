/**
 * The CLI's output, its wait for a signal and how an entry ends: results on stdout, progress on stderr. A room of its
 * own, apart from context.ts (which reaches for the chain, keys and Hardhat on demand), so that the agent image's
 * entry (agent-main.ts) can bundle `agent run` without pulling Hardhat in; context.ts re-exports the first three.
 */
import { IconError } from "../../protocol/errors.ts";

export const say = (line: string): void => void process.stderr.write(`${line}\n`);
export const out = (line: string): void => void process.stdout.write(`${line}\n`);

/** Resolves on the first SIGINT or SIGTERM (Ctrl-C, `kill`), or when `done` settles first (then true). */
export function untilSignal(done?: Promise<unknown>): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const stop = (): void => resolve(false);
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
    void done?.then(() => resolve(true));
  });
}

/**
 * Runs an entry's `main` (icon.ts, agent-main.ts): its result is the exit code; an IconError becomes `error: <its
 * sentence>` and exit code 1 (ICON_DEBUG=1 adds the stack and cause); anything else is a bug and is thrown.
 */
export async function runEntry(main: () => Promise<number>): Promise<void> {
  try {
    process.exitCode = await main();
  } catch (e) {
    if (!(e instanceof IconError)) throw e;
    say(`error: ${e.message}`);
    if (process.env.ICON_DEBUG) console.error(e);
    process.exitCode = 1;
  }
}
