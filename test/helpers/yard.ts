/**
 * Assertions and set-ups shared by the yard tests (the market itself lives in scripts/lib/testbed.ts): a test yard
 * in process, and `useTwoYards`, the hooks of a suite on two of them.
 */
import { Wallet } from "ethers";
import { parseYardConfig, type YardConfig, type YardConfigInput } from "../../yard-node/config.ts";
import { silentLogger, type Logger } from "../../protocol/log.ts";
import { Yard } from "../../yard-node/yard.ts";
import { USD, startMarket, yardConfig, type TestMarket } from "../../scripts/lib/testbed.ts";
import { useDockerYard, type TestYard } from "./docker.ts";

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

/** A yard's start-up inputs, kept to start it again on the same data directory. */
interface StartInputs {
  config: YardConfig;
  wallet: Wallet;
}

/**
 * The config and operator wallet of a test yard: operator `m.keys[key]` (minted 1000 iUSD for its stake), config
 * the testbed's `yardConfig(m, yardId, overrides)`.
 */
async function testYardInputs(
  m: TestMarket,
  key: number,
  yardId: string,
  overrides: Partial<YardConfigInput>,
): Promise<StartInputs> {
  const wallet = new Wallet(m.keys[key]!, m.provider);
  await m.admin.mint(wallet.address, USD(1000));
  return { config: parseYardConfig(yardConfig(m, yardId, overrides), `${yardId}.json`), wallet };
}

/** Starts an in-process yard whose operator is `m.keys[key]` with `yardConfig(m, yardId, overrides)`. */
export async function startTestYard(
  m: TestMarket,
  key: number,
  yardId: string,
  overrides: Partial<YardConfigInput> = {},
  log: Logger = silentLogger,
): Promise<Yard> {
  return Yard.start({ ...(await testYardInputs(m, key, yardId, overrides)), log });
}

/** What a two-yard suite's custom start is given (see `useTwoYards`). */
export interface TwoYardsStarter {
  m: TestMarket;
  /** The Docker yard ids of A (`useDockerYard(tag)`'s first) and B (made with tag `<tag>b`). */
  idA: string;
  idB: string;
  /** Starts a yard as `startTestYard` does, with the fixture's log; the fixture can start it again. */
  yard(key: number, yardId: string, overrides?: Partial<YardConfigInput>): Promise<Yard>;
}

/** How `useTwoYards` starts and stops its yards. */
export interface TwoYardsInit {
  /** Config overrides of both yards (default start). */
  overrides?: Partial<YardConfigInput>;
  /** The operators' key indexes of A and B (default start): 1 and 5. */
  keys?: readonly [number, number];
  log?: Logger;
  /** Starts the two yards when the default (A, then B, alike) does not fit: another order, other configs. */
  start?: (s: TwoYardsStarter) => Promise<{ a: Yard; b: Yard }>;
  /** What the suite made that must stop before the yards do (tenants, libp2p nodes), in that order. */
  stopFirst?: () => ReadonlyArray<{ stop(): unknown } | undefined>;
}

/** The running market and yards of a two-yard suite. */
export interface TwoYards {
  m: TestMarket;
  a: Yard;
  b: Yard;
  /** A's Docker yard (its runtime and a raw dockerode client on the project's engine). */
  engine: TestYard;
}

/**
 * Mocha hooks of a suite on one market with two in-process yards on real Docker, registered in the order that
 * matters: `after` — the suite's `stopFirst` things, then the yards, then the market — is registered before
 * `useDockerYard`'s, so the yards stop before the engine cleanup (a yard still running would recreate its
 * containers behind it); `before` starts the market, then the yards, after the engine is ready. The suite's own
 * `before` hooks, registered after the call, run once the yards are up: they read them with `get()`.
 *
 * @example
 *   const two = useTwoYards("ovl", { overrides: { lease: FAST_LEASE }, stopFirst: () => [tenant] });
 *   before(async () => {
 *     ({ m, a, b } = two.get());
 *     web = await two.imageId(WEB_IMAGE);
 *   });
 */
export function useTwoYards(
  tag: string,
  init: TwoYardsInit = {},
): {
  get(): TwoYards;
  /** Starts yard `which` again on its config and wallet (the test stopped it); the after hook stops this one. */
  startAgain(which: "a" | "b"): Promise<Yard>;
  /** The id of local image `ref` on the engine as a lease names it (0x and 64 hex digits). */
  imageId(ref: string): Promise<string>;
} {
  const log = init.log ?? silentLogger;
  const inputs = new Map<Yard, StartInputs>();
  const running: Partial<TwoYards> = {};
  // (the hooks take the suite's timeout, as the suites' own did)
  after(async () => {
    for (const s of init.stopFirst?.() ?? []) await s?.stop();
    await running.a?.stop();
    await running.b?.stop();
    await running.m?.close();
  });
  const docker = useDockerYard(tag);
  before(async () => {
    const m = (running.m = await startMarket());
    running.engine = docker.get();
    const yard = async (key: number, yardId: string, overrides: Partial<YardConfigInput> = {}): Promise<Yard> => {
      const i = await testYardInputs(m, key, yardId, overrides);
      const y = await Yard.start({ ...i, log });
      inputs.set(y, i);
      return y;
    };
    const idA = docker.get().yardId;
    const idB = docker.make(`${tag}b`).yardId;
    const [keyA, keyB] = init.keys ?? [1, 5];
    const start =
      init.start ??
      (async () => {
        const a = await yard(keyA, idA, init.overrides);
        return { a, b: await yard(keyB, idB, init.overrides) };
      });
    Object.assign(running, await start({ m, idA, idB, yard }));
  });
  const get = (): TwoYards => {
    const { m, a, b, engine } = running;
    if (!m || !a || !b || !engine) throw new Error("useTwoYards: the before hook has not started the market and yards");
    return { m, a, b, engine };
  };
  return {
    get,
    async startAgain(which) {
      const i = inputs.get(get()[which])!;
      const y = await Yard.start({ ...i, log });
      inputs.set(y, i);
      running[which] = y;
      return y;
    },
    async imageId(ref) {
      const id = await get().engine.runtime.imageId(ref);
      if (!id) throw new Error(`image ${ref} is not on the test engine: scripts/images.sh builds it`);
      return "0x" + id.slice("sha256:".length);
    },
  };
}
