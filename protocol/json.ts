/**
 * The one JSON codec for state that carries bigints (the yard's database rows, the agent's state files): a bigint
 * is written as its decimal digits tagged `n:` and a string tagged `s:`, so a string that merely looks like a tagged
 * bigint (a tenant's name "n:5") stays a string. Round-trips exactly: `fromJson(toJson(v))` equals `v` for any
 * value made of objects, arrays, strings, finite numbers, booleans, null and bigints.
 * Reading also accepts untagged strings (files written before strings were tagged): they are read as strings, except
 * an untagged `n:<digits>`, which such files only wrote for a bigint.
 *
 * @example
 *   toJson({ amount: 5n, name: "n:5" });          // '{"amount":"n:5","name":"s:n:5"}'
 *   fromJson<{ amount: bigint }>('{"amount":"n:5"}').amount === 5n;
 */
const BIGINT = /^n:-?\d+$/;

/** `v` as JSON with bigints and strings tagged; `indent` pretty-prints (files people may read). */
export function toJson(v: unknown, indent?: number): string {
  return JSON.stringify(
    v,
    (_k, x: unknown) => (typeof x === "bigint" ? `n:${x}` : typeof x === "string" ? `s:${x}` : x),
    indent,
  );
}

/** Parses what `toJson` wrote (see the header for untagged strings). Throws SyntaxError on text that is not JSON. */
export function fromJson<T>(text: string): T {
  return JSON.parse(text, (_k, x: unknown) => {
    if (typeof x !== "string") return x;
    if (x.startsWith("s:")) return x.slice(2);
    if (BIGINT.test(x)) return BigInt(x.slice(2));
    return x;
  }) as T;
}
