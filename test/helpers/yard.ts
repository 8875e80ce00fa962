/** Assertions and set-ups shared by the yard tests (the market itself lives in scripts/lib/testbed.ts). */
import { Wallet } from "ethers";
import { parseYardConfig, type YardConfigInput } from "../../yard-node/config.ts";
import { silentLogger, type Logger } from "../../protocol/log.ts";
import { Yard } from "../../yard-node/yard.ts";
import { USD, yardConfig, type TestMarket } from "../../scripts/lib/testbed.ts";

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

/** Lease timings that make tests quick: slots may start 2 s after a quote, claims every 5 s, 1 s to stop. */
export const FAST_LEASE = { startLeadS: 2, earlyStartS: 2, claimIntervalS: 5, stopTimeoutS: 1, minSlotS: 5 };

/**
 * Starts an in-process yard whose operator is `m.keys[key]` (minted 1000 iUSD for its stake), with the testbed's
 * `yardConfig(m, yardId, overrides)`. The suites' two-yard set-ups are two calls.
 */
export async function startTestYard(
  m: TestMarket,
  key: number,
  yardId: string,
  overrides: Partial<YardConfigInput> = {},
  log: Logger = silentLogger,
): Promise<Yard> {
  const wallet = new Wallet(m.keys[key]!, m.provider);
  await m.admin.mint(wallet.address, USD(1000));
  const config = parseYardConfig(yardConfig(m, yardId, overrides), `${yardId}.json`);
  return Yard.start({ config, wallet, log });
}
