/**
 * A command's shape (usage, summary, its options as a zod schema, run) and the option types every group uses.
 * `parseOptions` tokenizes argv with node:util parseArgs (unknown options are refused there, with the usage) and
 * validates the values with the command's schema; the first problem becomes a ConfigError whose message is the
 * sentence given here (what was wrong, the value given, what is expected).
 */
import { parseArgs } from "node:util";
import { z } from "zod";
import { ConfigError, type ErrorCode } from "../../protocol/errors.ts";
import { parseShare } from "../../protocol/chain/policy.ts";
import { RESERVED_NETWORK_NAMES } from "../lib/networks.ts";
import type { Ctx } from "./context.ts";

export type Shape = z.ZodRawShape;
export type Options<S extends Shape> = z.output<z.ZodObject<S>>;

export interface Command<S extends Shape = Shape> {
  usage: string;
  summary: string;
  /** Option name (without --) → schema; parseArgs learns string/boolean/multiple from it. */
  options?: S;
  /** Rules across options (one of two is required, …); `fail` reports one as a sentence. */
  refine?(o: Options<S>, fail: (message: string, code?: ErrorCode) => void): void;
  run(ctx: Ctx, o: Options<S>): Promise<void>;
}

/** Declares a command; only here for the inference of `o` in run and refine from `options`. */
export function command<S extends Shape>(c: Command<S>): Command<S> {
  return c;
}

/** A failed check: the sentence, and the IconError code it is thrown with. */
function fail(zctx: z.RefinementCtx, message: string, code: ErrorCode = "BAD_OPTION"): typeof z.NEVER {
  zctx.addIssue({ code: z.ZodIssueCode.custom, message, params: { code } });
  return z.NEVER;
}

/** Option types: each takes the option's name (with --) to speak about it. */
export const opt = {
  string: () => z.string().optional(),
  flag: () => z.boolean().optional(),
  list: () => z.array(z.string()).optional(),
  /** A value that must be given, `message` if it is not. */
  required: (message: string) => z.string({ required_error: message }),
  /** A whole number 0..max (string → number). */
  int: (name: string, max = 2 ** 31, min = 0) =>
    z
      .string()
      .transform((v, zctx) =>
        !/^\d+$/.test(v) || Number(v) > max || Number(v) < min
          ? fail(zctx, `${name} must be an integer between ${min} and ${max}, got "${v}"`)
          : Number(v),
      )
      .optional(),
  /** A share given as 0..1 (e.g. 0.5), as basis points. */
  share: (name: string) =>
    z
      .string()
      .transform((v, zctx) => {
        try {
          return parseShare(v, name);
        } catch (e) {
          return fail(zctx, (e as Error).message);
        }
      })
      .optional(),
  /** An address (mixed case only with a valid checksum); `what` names it in the sentence. */
  address: (what: string) =>
    z
      .string()
      .superRefine(async (v, zctx) => {
        const { isAddress } = await import("ethers");
        if (!isAddress(v)) fail(zctx, `${what} "${v}" is not an address (0x followed by 40 hex digits)`, "BAD_ADDRESS");
      })
      .optional(),
  /** A string matching `pattern`, or `message(value)`. */
  matching: (pattern: RegExp, message: (v: string) => string) =>
    z
      .string()
      .superRefine((v, zctx) => void (pattern.test(v) || fail(zctx, message(v))))
      .optional(),
  /** One of `values`, or `message(value)`. */
  oneOf: <T extends string>(values: readonly T[], message: (v: string) => string) =>
    z
      .string()
      .transform((v, zctx) => ((values as readonly string[]).includes(v) ? (v as T) : fail(zctx, message(v))))
      .optional(),
};

/** An RPC endpoint as the JSON-RPC client takes it, and the sentence for one it does not. */
export const RPC_URL = /^https?:\/\/\S+$/i;
export const RPC_URL_SENTENCE = "--rpc must be an http:// or https:// URL, e.g. http://127.0.0.1:8545";

/** The options every command takes. */
export const GLOBAL_OPTIONS = {
  /** Repeatable: several endpoints, tried in order (protocol/chain/rpc.ts). */
  rpc: z.array(z.string().regex(RPC_URL, RPC_URL_SENTENCE)).optional(),
  network: z
    .string()
    .superRefine((v, zctx) => {
      if (!/^[a-z][a-z0-9-]{0,39}$/.test(v))
        fail(
          zctx,
          `--network must be a network name such as base or base-sepolia (lower case, digits, dashes), got "${v}"`,
        );
      else if (RESERVED_NETWORK_NAMES.includes(v))
        fail(
          zctx,
          `--network ${v}: "${v}" is a name Hardhat or icon keeps for itself (${RESERVED_NETWORK_NAMES.join(", ")}); declare the network under another name, e.g. ICON_RPC_URL_MY_NODE and --network my-node`,
        );
    })
    .optional(),
  deployment: opt.string(),
  keystore: opt.string(),
  "dev-account": z
    .string()
    .transform((v, zctx) =>
      /^\d{1,3}$/.test(v) ? Number(v) : fail(zctx, `--dev-account must be an account index such as 0 or 1, got "${v}"`),
    )
    .optional(),
  /** EIP-1559 fee cap and tip bound, checked when a command reaches the chain (protocol/chain/fees.ts). */
  "max-fee": opt.string(),
  "max-priority-fee": opt.string(),
  help: opt.flag(),
};

/** What node:util parseArgs needs to know of an option: a flag, a string, or a string given several times. */
function argType(schema: z.ZodTypeAny): { type: "string" | "boolean"; multiple?: boolean } {
  let s = schema;
  for (;;) {
    if (s instanceof z.ZodOptional || s instanceof z.ZodDefault) s = s._def.innerType as z.ZodTypeAny;
    else if (s instanceof z.ZodEffects) s = s._def.schema as z.ZodTypeAny;
    else break;
  }
  if (s instanceof z.ZodBoolean) return { type: "boolean" };
  if (s instanceof z.ZodArray) return { type: "string", multiple: true };
  return { type: "string" };
}

export class UsageError extends Error {}

/**
 * Splits `argv` (after the command words) into positionals and options and validates the options; a token
 * parseArgs refuses (unknown option, missing value) is a UsageError, a value the schema refuses a ConfigError.
 */
export async function parseOptions<S extends Shape>(
  cmd: Command<S>,
  argv: string[],
): Promise<{ global: Options<typeof GLOBAL_OPTIONS>; o: Options<S>; positionals: string[] }> {
  const shape = { ...GLOBAL_OPTIONS, ...(cmd.options ?? {}) };
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: Object.fromEntries(
        Object.entries(shape).map(([k, s]) => [k, k === "help" ? { ...argType(s), short: "h" } : argType(s)]),
      ),
      allowPositionals: true,
      strict: true,
    });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if (parsed.values.help) return { global: { help: true } as never, o: {} as never, positionals: [] };
  const schema = z.object(shape).superRefine((o, zctx) => {
    cmd.refine?.(o as Options<S>, (message, code) => fail(zctx, message, code));
  });
  const r = await schema.safeParseAsync(parsed.values);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const code: ErrorCode =
      issue.code === z.ZodIssueCode.custom
        ? ((issue.params as { code?: ErrorCode } | undefined)?.code ?? "BAD_OPTION")
        : issue.code === z.ZodIssueCode.invalid_type && issue.received === "undefined"
          ? "MISSING_OPTION"
          : "BAD_OPTION";
    throw new ConfigError(code, issue.message);
  }
  // The global options apart from the command's own.
  const [global, o]: Array<Record<string, unknown>> = [{}, {}];
  for (const [k, v] of Object.entries(r.data as Record<string, unknown>)) (k in GLOBAL_OPTIONS ? global : o)[k] = v;
  return {
    global: global as Options<typeof GLOBAL_OPTIONS>,
    o: o as Options<S>,
    positionals: parsed.positionals,
  };
}
