/**
 * bench:gas's set-up, shared by gas.ts and gas-breakdown.ts so both measure the same market in the same state: the
 * dev market deployed on a fresh embedded network, the provider and the application owner minted 10 000 tokens
 * each and approving the market and the registry (test/helpers/market.ts's `fundSigners`, as the tests' market), the
 * provider listed (the tests' `listing()`, its own peer id) and staked, the owner's application, and
 * the bench's lease: the provider's offer to the application (100 units/s, 500 m CPU, 256 MiB, an hour from 5 s
 * ahead, offer nonces 0, 1, 2, …), accepted by the application's controller and sent by the deployer.
 */
import { network } from "hardhat";
import type { ContractTransactionReceipt } from "ethers";
import { IconMarketDevModule, defaultMarketParameters } from "../../contracts/ignition/modules/IconMarket.ts";
import { ACCEPTANCE_TYPES, OFFER_TYPES, marketDomain, type Offer } from "../../protocol/eip712.ts";
import { defaultPolicy, fundSigners, listing } from "../../test/helpers/market.ts";

/** Whole-transaction gas (receipt.gasUsed: 21k base and calldata included) of a sent transaction. */
export const gas = async (tx: Promise<{ wait(): Promise<{ gasUsed: bigint } | null> }>): Promise<number> =>
  Number((await (await tx).wait())!.gasUsed);

/** The market deployed, the provider and the owner funded; the steps below are the caller's to time. */
export async function gasBench() {
  const conn = await network.create();
  const { ethers, ignition, networkHelpers } = conn;
  const d = await ignition.deploy(IconMarketDevModule);
  const [deployer, provider, owner, icon, childKey, relayer] = await ethers.getSigners();
  const token = await ethers.getContractAt("TestToken", await d.token.getAddress());
  const registry = await ethers.getContractAt("IEPRegistry", await d.registry.getAddress());
  const market = await ethers.getContractAt("IconMarket", await d.market.getAddress());
  const domain = marketDomain((await ethers.provider.getNetwork()).chainId, await market.getAddress());
  await fundSigners({ token, market, registry }, [provider, owner], 10_000_000_000n);

  /** Lists the provider, then stakes 10 × the minimum stake (its first stake); the gas of each. */
  async function listProvider(): Promise<{ register: number; stake: number }> {
    const register = await gas(
      // The tests' listing but for the peer id, whose bytes the figures in BENCHMARKS.md were measured with.
      registry
        .connect(provider)
        .register({ ...listing(), peerId: "0x00240801122012345678901234567890123456789012345678901234567890123456" }),
    );
    return { register, stake: await gas(registry.connect(provider).stake(defaultMarketParameters.minStake * 10n)) };
  }

  /** The owner's application, 1 000 tokens deposited, `icon` its controller; its root account and the gas. */
  async function createApp(): Promise<{ root: bigint; gas: number }> {
    const used = await gas(market.connect(owner).createApp(icon.address, defaultPolicy(), 1_000_000_000n));
    return { root: await market.accountCount(), gas: used };
  }

  let nonce = 0n;
  /** Opens the bench's lease paid by `root` (the next offer nonce); the receipt. */
  async function openLease(root: bigint): Promise<ContractTransactionReceipt> {
    const t = BigInt(await networkHelpers.time.latest());
    const offer: Offer = {
      provider: provider.address,
      account: root,
      token: await token.getAddress(),
      pricePerSecond: 100n,
      cpuMillis: 500,
      memoryMiB: 256,
      start: t + 5n,
      end: t + 5n + 3600n,
      specHash: ethers.id("busybox"),
      nonce: nonce++,
      deadline: t + 600n,
    };
    const ps = await provider.signTypedData(domain, OFFER_TYPES, offer);
    const ts = await icon.signTypedData(domain, ACCEPTANCE_TYPES, { offer });
    return (await (await market.connect(deployer).openLease(offer, ps, ts)).wait())!;
  }

  return {
    conn,
    ethers,
    networkHelpers,
    deployer,
    provider,
    owner,
    icon,
    childKey,
    relayer,
    token,
    registry,
    market,
    /** The AccessManager's address (the registry asks it whether the market may call its hooks). */
    manager: await d.manager.getAddress(),
    domain,
    listProvider,
    createApp,
    openLease,
  };
}
