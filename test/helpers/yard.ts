/** Assertions shared by the yard tests (the market itself lives in scripts/lib/testbed.ts). */
/** Asserts `p` rejects with an instance of `type` whose message matches `re`; returns the error. */
export async function expectRejection<E extends Error>(
  p: Promise<unknown>,
  type: abstract new (...a: never[]) => E,
  re: RegExp,
): Promise<E> {
  try {
    await p;
  } catch (e) {
    if (!(e instanceof type)) throw new Error(`expected ${type.name}, got ${String(e)}`, { cause: e });
    if (!re.test(e.message)) throw new Error(`expected a message matching ${re}, got "${e.message}"`, { cause: e });
    return e;
  }
  throw new Error(`expected a rejection with ${type.name} matching ${re}, but it resolved`);
}
