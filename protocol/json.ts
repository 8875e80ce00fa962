/**
 * The one JSON codec for state that carries bigints (the yard's database rows, the agent's state files): a bigint
 * is written as its decimal digits tagged `n:`; a string that starts with `n:` or `s:` is tagged `s:` (so a tenant's
 * name "n:5" stays a string), and every other string is written as it is, so the files stay readable to people and
 * to tools that read them as plain JSON. Round-trips exactly: `fromJson(toJson(v))` equals `v` for any value made of
 * objects, arrays, strings, finite numbers, booleans, null and bigints.
 * Reading accepts what earlier versions wrote: the yard tagged every string `s:` (stripped), the agent tagged none
 * (an untagged `n:<digits>` it wrote only for a bigint).
 *
 * @example
 *   toJson({ amount: 5n, name: "n:5", host: "a" });  // '{"amount":"n:5","name":"s:n:5","host":"a"}'
 *   fromJson<{ amount: bigint }>('{"amount":"n:5"}').amount === 5n;
 */
const BIGINT = /^n:-?\d+$/;
const TAGGED = /^[ns]:/;

/** `v` as JSON with bigints tagged (and the strings that could be read as a tag); `indent` pretty-prints. */
export function toJson(v: unknown, indent?: number): string {
  return JSON.stringify(
    v,
    (_k, x: unknown) => (typeof x === "bigint" ? `n:${x}` : typeof x === "string" && TAGGED.test(x) ? `s:${x}` : x),
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
