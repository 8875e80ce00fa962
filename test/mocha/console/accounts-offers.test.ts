/**
 * The owner console offers an account's forms (open a child, allocate to it, return from it; console/src/offers.ts)
 * exactly where the contract lets the connected address act — checked against the chain itself, without
 * a browser: on an embedded chain with the market, for every address (the owner, each account's controller, a
 * stranger) and every account of a tree (root, children, a closed one holding money with an open child under it, one
 * at the depth bound), the chain's answer to the call (`staticCall` from that address) is compared with the page's
 * offer. A refused address gets the contract's sentence, as the CLI prints it.
 */
import { expect } from "chai";
import { Contract, JsonRpcProvider, Wallet } from "ethers";
import { offersOn } from "../../../console/src/offers.ts";
import { ConsoleChain } from "../../../console/src/chain.ts";
import { iconMarketAbi } from "../../../protocol/chain/abi.generated.ts";
import { MarketClient } from "../../../protocol/chain/client.ts";
import type { Deployment } from "../../../protocol/chain/deployment.ts";
import { toChainError } from "../../../protocol/chain/errors.ts";
import { DEFAULT_POLICY_BPS } from "../../../protocol/chain/policy.ts";
import { deployMarket, devKeys, startDevChain, type DevChain } from "../../../scripts/lib/hardhat.ts";
import { listing, openSignedLease } from "../../helpers/market.ts";

describe("owner console: an account's forms are offered exactly where the contract allows", function () {
  this.timeout(120_000);
  let chain: DevChain;
  let deployment: Deployment;
  let provider: JsonRpcProvider;
  const [deployerKey, ownerKey, aKey, bKey, cKey, strangerKey, closedKey, yardKey] = devKeys(8) as [
    string,
    string,
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  const keys = {
    owner: ownerKey,
    "root's ICON": aKey,
    "child's ICON": bKey,
    "grandchild's ICON": cKey,
    "closed account's ICON": closedKey,
    stranger: strangerKey,
  };
  const client = (key: string): Promise<MarketClient> =>
    MarketClient.connect({ deployment, provider, signer: new Wallet(key) });

  before(async () => {
    chain = await startDevChain("127.0.0.1", 0);
    deployment = await deployMarket(chain.url, deployerKey);
    provider = new JsonRpcProvider(chain.url, undefined, { staticNetwork: true, cacheTimeout: -1 });
    await (await client(deployerKey)).mint(new Wallet(ownerKey).address, 100_000_000n);
    await (await client(deployerKey)).mint(new Wallet(yardKey).address, 2_000_000_000n);
    const yard = await client(yardKey);
    await yard.register(listing("cd".repeat(32)));
    await yard.stake(1_000_000_000n);
  });

  after(async () => {
    await chain?.close();
  });

  /** A lease of account `account` at the yard, accepted with its controller's key: 100 units/s for 600 s from 60 s on. */
  async function openLease(yard: MarketClient, account: bigint, controllerKey: string): Promise<bigint> {
    const tenant = new Wallet(controllerKey);
    const o = { yard, yardKey, tenant, deployment, rpc: provider, account, nonce: 1n, startIn: 60n, seconds: 600n };
    return (await openSignedLease(o)).leaseId;
  }

  it("compares every address × account × action with the chain's answer; a refused address reads the contract's sentence", async () => {
    const owner = await client(ownerKey);
    const a = await client(aKey);
    const b = await client(bKey);
    const policy = { ...DEFAULT_POLICY_BPS, maxPricePerSecond: 0n, maxRelayFee: 1000n, relayAllowancePerDay: 10_000n };
    const root = await owner.createApp(new Wallet(aKey).address, policy, 10_000_000n);
    // root (the root's ICON) → child (the child's ICON) → grandchild (the grandchild's ICON); a closed sibling of the
    // child holding money, with an open child of its own; a line of the owner's own accounts under the grandchild down
    // to the depth bound.
    const child = await a.createAccount(root, new Wallet(bKey).address);
    await a.allocate(root, child, 4_000_000n);
    const grandchild = await b.createAccount(child, new Wallet(cKey).address);
    await b.allocate(child, grandchild, 1_000_000n);
    const closed = await owner.createAccount(root, new Wallet(closedKey).address);
    await owner.allocate(root, closed, 1_000_000n);
    // An open account under one that closes later: the contract closes an account whatever its children.
    const orphan = await owner.createAccount(closed, Wallet.createRandom().address);
    // The closed account holds money the way the chain lets it: a lease of it, opened before it closed, is ended
    // after (still Scheduled: its whole deposit, 100 units/s × 600 s, is refunded to the closed account).
    const leaseId = await openLease(await client(yardKey), closed, closedKey);
    await owner.closeAccount(closed);
    expect((await owner.account(closed)).balance).to.equal(0n);
    expect(await owner.terminate(leaseId)).to.equal(60_000n);
    expect(await owner.account(closed)).to.deep.include({ closed: true, balance: 60_000n });
    const view = await ConsoleChain.open(deployment, chain.url);
    const maxDepth = await view.maxDepth();
    expect(maxDepth).to.equal(8);
    let deepest = grandchild;
    for (let depth = 3; depth <= maxDepth; depth++)
      deepest = await owner.createAccount(deepest, new Wallet(ownerKey).address);
    // Every open account holds money: a 1-unit call is refused only by who calls, a closure or the depth bound.
    for (const x of (await view.app(root)).accounts) if (!x.closed) await owner.fund(x.id, 1n);
    const app = await view.app(root);
    expect(app.accounts.find((x) => x.id === deepest)!.depth).to.equal(maxDepth);

    const seen = { offered: 0, refused: 0, byNonOwner: 0, returnFromClosed: 0, parentClosed: 0 };
    for (const [who, key] of Object.entries(keys)) {
      const signer = new Wallet(key, provider);
      const market = new Contract(deployment.market, iconMarketAbi, signer);
      for (const acc of app.accounts) {
        const may = offersOn(app, signer.address, maxDepth, acc);
        const calls: Array<[string, true | string | undefined, string, unknown[]]> = [
          ["open", may.open, `creating a child of account ${acc.id}`, [acc.id, Wallet.createRandom().address]],
          ["allocate", may.allocate, `allocating from account ${acc.parent} to ${acc.id}`, [acc.parent, acc.id, 1n]],
          ["return", may.return, `returning from account ${acc.id}`, [acc.id, 1n]],
        ];
        const fns = { open: "createAccount", allocate: "allocate", return: "returnToParent" } as Record<string, string>;
        for (const [action, offer, words, args] of calls) {
          if (acc.id === root && action !== "open") {
            expect(offer, `${action} on the root`).to.equal(undefined);
            continue;
          }
          let refusal: string | undefined;
          try {
            await market.getFunction(fns[action]!).staticCall(...args);
          } catch (e) {
            refusal = toChainError(e, words, view.tokenInfo).message;
          }
          const where = `${who} ${action} on account ${acc.id}: offer ${String(offer)}, chain ${refusal ?? "ok"}`;
          expect(offer === true, where).to.equal(refusal === undefined);
          if (offer === true) {
            seen.offered++;
            if (action === "return" && acc.id === closed) seen.returnFromClosed++;
            if (who !== "owner") seen.byNonOwner++;
            continue;
          }
          seen.refused++;
          expect(offer, where).to.be.a("string");
          // The page's reason names the same cause as the chain's sentence.
          if (/takes (its|the)/.test(offer as string))
            expect(refusal, where).to.equal(
              `${words} refused: ${signer.address} may not act on budget account ${action === "allocate" ? acc.parent : acc.id} (not its controller, its parent's, or the owner)`,
            );
          else if (/is closed/.test(offer as string)) {
            // The closed account named by the page is the one the chain names: the account itself, or (allocating
            // to the open account under it) its parent.
            const named = /^Account #(\d+) is closed/.exec(offer as string)![1];
            expect(refusal, where).to.equal(`${words} refused: budget account ${named} is closed`);
            if (acc.id === orphan && action === "allocate") {
              expect(offer, where).to.equal(`Account #${closed} is closed: it allocates nothing.`);
              seen.parentClosed++;
            }
          } else
            expect(refusal, where).to.equal(
              `${words} refused: the budget tree may be at most ${maxDepth} levels deep (would be ${maxDepth + 1})`,
            );
        }
      }
    }
    // Each kind of answer was met: offers to the owner and to controllers, refusals by rule, closure and depth.
    expect(seen.offered).to.be.above(20);
    expect(seen.byNonOwner).to.be.at.least(5);
    expect(seen.refused).to.be.above(20);
    // The closed account's money goes back up from the owner, its own key and its parent's (the root's ICON); the open
    // account under it is refused an allocation for its parent's closure (owner and the closed account's key).
    expect(seen.returnFromClosed).to.equal(3);
    expect(seen.parentClosed).to.equal(2);
  });
});
