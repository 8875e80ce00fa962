/**
 * bench:gas, relayed part (gas.ts runs it): whole-transaction gas of each ICON operation sent directly by its key
 * and relayed as an EIP-712 intent (IconMarket.relay), side by side in the same state, and the relayer's repayment
 * (the intent's fee, token units, credited to its earnings). Steady state: the signer's nonce word, the account's
 * relay-spend slot for the day and the relayer's earnings already hold non-zero values; the first intent of a
 * nonce word (one in 256 per client) and an account's first relay of a UTC day each write a fresh slot (≈ +17 100).
 */
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import type { BaseContract, ContractTransactionResponse } from "ethers";
import { ACCEPTANCE_TYPES, INTENT_TYPES, OFFER_TYPES, type Intent, type MarketDomain } from "../../protocol/eip712.ts";

/** What the relayed bench uses of gas.ts's set-up. */
export interface RelayBenchComponents {
  /** The market, as an ethers Contract (any runner: calls pick their signer). */
  market: BaseContract;
  domain: MarketDomain;
  token: string;
  /** Owns an application whose root `icon` controls; its policy allows `fee`. */
  root: bigint;
  icon: HardhatEthersSigner;
  /** Another key, for the child accounts. */
  childKey: HardhatEthersSigner;
  provider: HardhatEthersSigner;
  relayer: HardhatEthersSigner;
  latest: () => Promise<bigint>;
  increase: (seconds: number) => Promise<void>;
  /** Fee of every relayed intent, token units. */
  fee: bigint;
}

/** One operation: gas sent directly, gas relayed, the difference and the relayer's repayment. */
export interface RelayedFigure {
  direct: number;
  relayed: number;
  overhead: number;
  fee: string;
}

/** Measures every relayable operation both ways. */
export async function relayedGas(c: RelayBenchComponents): Promise<Record<string, RelayedFigure>> {
  const { market } = c;
  const gas = async (tx: Promise<ContractTransactionResponse>): Promise<number> =>
    Number((await (await tx).wait())!.gasUsed);
  /** Sends `fn(...args)` from `from`. */
  const send = (from: HardhatEthersSigner, fn: string, ...args: unknown[]): Promise<ContractTransactionResponse> =>
    market
      .connect(from)
      .getFunction(fn)
      .send(...args);
  const view = async <T>(fn: string): Promise<T> => (await market.getFunction(fn).staticCall()) as T;
  let nonce = 1n << 200n; // one word per bench run; intents use its bits in turn, as the client does
  const relayed = async (signer: HardhatEthersSigner, fn: string, args: unknown[], account: bigint) => {
    const intent: Intent = {
      signer: signer.address,
      account,
      data: market.interface.encodeFunctionData(fn, args),
      fee: c.fee,
      relayer: c.relayer.address,
      nonce: nonce++,
      deadline: (await c.latest()) + 600n,
    };
    const signature = await signer.signTypedData(c.domain, INTENT_TYPES, intent);
    return gas(send(c.relayer, "relay", intent, signature));
  };
  const lastAccount = () => view<bigint>("accountCount");
  const out: Record<string, RelayedFigure> = {};
  const put = (op: string, direct: number, viaRelay: number) => {
    out[op] = { direct, relayed: viaRelay, overhead: viaRelay - direct, fee: c.fee.toString() };
  };

  // Set-up: a funded child of the root, controlled by childKey; warm-up intents write the nonce word, both
  // accounts' spend slots for the day and the relayer's earnings.
  await (await send(c.icon, "createAccount", c.root, c.childKey.address)).wait();
  const child = await lastAccount();
  await (await send(c.icon, "allocate", c.root, child, 100_000_000n)).wait();
  await relayed(c.icon, "requestFunding", [c.root, 1n], c.root);
  await relayed(c.childKey, "requestFunding", [child, 1n], child);

  put(
    "createAccount",
    await gas(send(c.icon, "createAccount", c.root, c.childKey.address)),
    await relayed(c.icon, "createAccount", [c.root, c.childKey.address], c.root),
  );
  put(
    "allocate",
    await gas(send(c.icon, "allocate", c.root, child, 1_000_000n)),
    await relayed(c.icon, "allocate", [c.root, child, 1_000_000n], c.root),
  );
  put(
    "returnToParent",
    await gas(send(c.childKey, "returnToParent", child, 500_000n)),
    await relayed(c.childKey, "returnToParent", [child, 500_000n], child),
  );
  put(
    "requestFunding",
    await gas(send(c.childKey, "requestFunding", child, 500_000n)),
    await relayed(c.childKey, "requestFunding", [child, 500_000n], child),
  );

  // terminate: two confirmed, running leases of the child's, one ended each way.
  const leases: bigint[] = [];
  for (let i = 0n; i < 2n; i++) {
    const t = await c.latest();
    const offer = {
      provider: c.provider.address,
      account: child,
      token: c.token,
      pricePerSecond: 100n,
      cpuMillis: 500,
      memoryMiB: 256,
      start: t + 5n,
      end: t + 5n + 3600n,
      specHash: "0x" + "ab".repeat(32),
      nonce: (1n << 100n) + i,
      deadline: t + 600n,
    };
    const ps = await c.provider.signTypedData(c.domain, OFFER_TYPES, offer);
    const ts = await c.childKey.signTypedData(c.domain, ACCEPTANCE_TYPES, { offer });
    await (await send(c.relayer, "openLease", offer, ps, ts)).wait();
    leases.push(await view<bigint>("leaseCount"));
  }
  await c.increase(10);
  for (const id of leases) await (await send(c.provider, "confirmStart", id)).wait();
  await c.increase(100);
  put(
    "terminate",
    await gas(send(c.childKey, "terminate", leases[0]!)),
    await relayed(c.childKey, "terminate", [leases[1]!], child),
  );

  // closeAccount: two funded accounts controlled by the root's key, each closed by it (fee from the closing one).
  const closing: bigint[] = [];
  for (let i = 0; i < 2; i++) {
    await (await send(c.icon, "createAccount", c.root, c.icon.address)).wait();
    closing.push(await lastAccount());
    await (await send(c.icon, "allocate", c.root, closing[i]!, 1_000_000n)).wait();
    await relayed(c.icon, "requestFunding", [closing[i]!, 1n], closing[i]!); // its spend slot for the day
  }
  put(
    "closeAccount",
    await gas(send(c.icon, "closeAccount", closing[0]!)),
    await relayed(c.icon, "closeAccount", [closing[1]!], closing[1]!),
  );
  return out;
}
