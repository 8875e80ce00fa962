/**
 * The CLI's output and its wait for a signal: results on stdout, progress on stderr. A room of its own, apart from
 * context.ts (which reaches for the chain, keys and Hardhat on demand), so that the agent image's entry
 * (agent-main.ts) can bundle `agent run` without pulling Hardhat in; context.ts re-exports all of it.
 */
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
