/**
 * Reconciling the saved state with the chain: at start (a crash may have struck anywhere) and every 60 periods.
 * A move or termination under way is finished; a placement whose lease ended is replaced by its renewal or
 * dropped; leases nobody runs are ended, missed starts cancelled, half-made replicas adopted or unwound, and money
 * in closed replica accounts pulled back up.
 *
 * @example
 *   const recovery = new Recovery({ dir, seed, client, wallet, childKey, clientFor, spawn, save, emit, moves });
 *   await recovery.recover();   // at start
 *   await recovery.sweep();     // now and then
 */
import path from "node:path";
import type { Wallet } from "ethers";
import { isIconError, type MarketClient } from "../protocol/index.ts";
import { live, liveBuried, liveLeases, rekeyedOf, successorOf } from "./leases.ts";
import type { Moves } from "./moves.ts";
import { readAgentState, stateDirLocked, type AgentSeed, type Emit } from "./state.ts";

/** What recovery uses of the agent. */
export interface RecoveryComponents {
  /** The state directory (replicas' under children/<account>/). */
  dir: string;
  seed: AgentSeed;
  client: MarketClient;
  /** The ICON's key: the gas of an unwound replica's key comes back to it. */
  wallet: Wallet;
  /** The key of the n-th replica (leases.ts replicaKey). */
  childKey(n: number): Wallet;
  /** A market client sending with `signer`. */
  /** A client of `signer`, whose relayed intents `account` pays for. */
  clientFor(signer: Wallet, account: bigint): Promise<MarketClient>;
  /** Starts the agent of a replica from its state directory. */
  spawn(dir: string): Promise<void>;
  save(): Promise<void>;
  emit: Emit;
  moves: Pick<Moves, "finishMove" | "finishTermination">;
  /**
   * This agent runs in its lease's sidecar: its state directory came from the state its yard holds, which may be
   * older than the tree (the replicas' directories are not in it) — a child it does not know is left alone.
   */
  inSidecar?: boolean;
  /** What the yard holds of this ICON is sealed again after a change that matters (a replica adopted). */
  refreshHeld?(): Promise<void>;
  /** Blocks a placement's end must be buried under before it is placed again (env.chainConfirmations; 0). */
  confirmations?: number;
}

export class Recovery {
  readonly #c: RecoveryComponents;
  /** A lease of the account that may be the placement's own, re-keyed by a reorganisation, not yet buried (recover). */
  #maybeRekeyed: bigint | undefined;

  constructor(components: RecoveryComponents) {
    this.#c = components;
  }

  /** At start: finishes what a crash interrupted and checks the placement against the chain, then sweeps. */
  async recover(): Promise<void> {
    const { seed, client, emit, moves } = this.#c;
    const me = await client.account(seed.account);
    if (seed.terminating || me.closed) {
      await moves.finishTermination();
      return;
    }
    const p = seed.placement;
    if (seed.moving) await moves.finishMove();
    else if (p) {
      const l = await client.lease(p.leaseId);
      const depth = this.#c.confirmations ?? 0;
      // Only a lease gone at the head and below it is given up ("unsure" keeps the placement for now); an id that
      // names another lease (of another account, yard or slot) is gone for this placement.
      if ((await liveBuried(client, p.leaseId, depth, { ...p, account: seed.account })) === "gone") {
        // Its opening included again under another id (a reorganisation): the same lease, adopted under that id;
        // live only at the head, the placement is kept and it is looked at again at the next start.
        const moved = await rekeyedOf(client, seed.account, p, depth);
        // A renewal opened just before a crash carries the container on: adopt it; otherwise place again.
        const next = moved ? undefined : await successorOf(client, seed.account, p);
        if (moved?.state === "live") {
          seed.placement = { ...p, leaseId: moved.id };
          emit("renewed", `lease ${p.leaseId}'s opening was included again as lease ${moved.id}: adopted under it`);
        } else if (moved) {
          this.#maybeRekeyed = moved.id; // the sweep leaves it alone until then
          emit("renewed", `lease ${p.leaseId}'s opening may be lease ${moved.id} now: looked at again once buried`);
        } else if (next) {
          seed.placement = {
            ...p,
            leaseId: next.id,
            leaseStart: next.start,
            end: next.end,
            pricePerSecond: next.pricePerSecond,
          };
          emit("renewed", `lease ${next.id} renews ${p.leaseId}: adopted after the restart`);
        } else {
          emit("placed", `lease ${p.leaseId} is ${l.state} on chain: placing again`);
          seed.placement = undefined;
        }
        await this.#c.save();
      }
    }
    await this.sweep();
  }

  /**
   * The lease recover() found may be the placement's own re-keyed (not yet buried then), looked at again now that
   * blocks have followed: buried and still the only match → the placement runs under it; gone → forgotten (the
   * placement's own id was gone already: the loss rules and the next start handle it).
   */
  async #adoptRekeyed(): Promise<void> {
    const { seed, client, emit } = this.#c;
    const p = seed.placement;
    if (this.#maybeRekeyed === undefined || !p || seed.moving) return;
    const moved = await rekeyedOf(client, seed.account, p, this.#c.confirmations ?? 0);
    if (moved?.state === "unsure" && moved.id === this.#maybeRekeyed) return;
    this.#maybeRekeyed = undefined;
    if (moved?.state !== "live") return;
    seed.placement = { ...p, leaseId: moved.id };
    await this.#c.save();
    emit("renewed", `lease ${p.leaseId}'s opening was included again as lease ${moved.id}: adopted under it`);
  }

  /**
   * Leaves nothing behind that no agent runs: leases of this account the state does not know (an opening whose
   * answer was lost, a crash between opening and saving) are terminated — except the placement's own renewal
   * chain at its yard; leases whose start the yard missed are cancelled (deposit and penalty back); replica
   * accounts whose agent never started are unwound with their derived key; money that landed in a closed replica
   * account (a late refund) is pulled back up.
   */
  async sweep(): Promise<void> {
    const { seed, client, emit } = this.#c;
    await this.#adoptRekeyed();
    const p = seed.placement;
    for (const id of await client.leasesOf(seed.account)) {
      if (id === p?.leaseId || id === p?.renewal?.leaseId || id === seed.moving?.leaseId) continue;
      const l = await client.lease(id);
      if (l.state === "StartMissed") {
        const back = await client.cancelMissedStart(id);
        emit("error", `lease ${id}: the yard missed its start; cancelled, ${client.format(back)} back`);
        continue;
      }
      if (!live(l.state)) continue;
      const sameYard = p && l.provider.toLowerCase() === p.yard.operator.toLowerCase();
      if (sameYard && (l.end === p.leaseStart || l.start === p.end)) continue; // renewal chain: one container
      if (id === this.#maybeRekeyed) continue; // its own lease re-keyed, perhaps, not yet buried (recover)
      const refund = await client.terminate(id);
      emit("error", `lease ${id} was open but unknown to the saved state: terminated, refund ${client.format(refund)}`);
    }
    for (const a of await client.appAccounts(seed.root)) {
      if (a.parent !== seed.account) continue;
      if (a.closed) {
        if (a.balance > 0n) {
          await client.returnToParent(a.id, a.balance);
          emit("tree", `pulled ${client.format(a.balance)} back from closed replica account ${a.id}`);
        }
        continue;
      }
      if (seed.children[String(a.id)]?.started) continue;
      if (await this.#adoptChild(a.id)) continue;
      if (await this.#leaveChild(a.id, a.controller)) continue;
      await this.#unwindChild(a.id, a.controller);
    }
  }

  /**
   * A replication that got as far as the replica's state directory (its key, account and live lease written) but
   * not as far as recording that its agent started: the replica is adopted and its agent started, not unwound. An
   * agent already running there (a detached `icon agent run` outlives its parent) keeps its lock; that counts as
   * started. In sidecar placement `spawn` hands the replica into its lease's sidecar again (a Redeploy with the same
   * agent keeps a sidecar that runs already): the yard's Running is what "started" means there, not a local lock.
   * Returns false when there is nothing to adopt.
   */
  async #adoptChild(account: bigint): Promise<boolean> {
    const { seed, client, emit } = this.#c;
    const dir = path.join(this.#c.dir, "children", String(account));
    const st = await readAgentState(dir).catch(() => undefined);
    if (!st || st.seed.account !== account || st.seed.done) return false;
    // Its agent runs (between placements, perhaps): it is started, whatever its lease says.
    const running = await stateDirLocked(dir);
    if (!running) {
      if (!st.seed.placement || !live((await client.lease(st.seed.placement.leaseId)).state)) return false;
    }
    seed.children[String(account)] = { name: st.seed.name, subnets: st.seed.subnets };
    await this.#c.save();
    try {
      if (!running) await this.#c.spawn(dir);
    } catch (e) {
      if (!isIconError(e, "AGENT_RUNNING")) {
        emit(
          "error",
          `replica ${st.seed.name} (account ${account}): starting its agent failed, retried later: ${(e as Error).message}`,
        );
        return true;
      }
    }
    seed.children[String(account)]!.started = true;
    await this.#c.save();
    await this.#c.refreshHeld?.();
    emit(
      "tree",
      `adopted replica ${st.seed.name} (account ${account}${st.seed.placement ? `, lease ${st.seed.placement.leaseId} at ${st.seed.placement.yard.name}` : ""}): its start had not been recorded`,
    );
    return true;
  }

  /**
   * Adopt or leave: a child account with a live lease and no state directory here is unwound only when this state
   * made it and did not finish (its key's number is one the state counted, `seed.replicas`, and the directory would
   * be here). A child whose number is beyond it was made by a later state of this ICON (a state restored from what
   * a yard held, older than the tree): it is live, so it is left alone, reported, and the count raised past it so no
   * new replica is given its key. In a sidecar the replicas' directories never travel, so none is unwound there.
   * Returns true when the child is left alone.
   */
  async #leaveChild(account: bigint, controller: string): Promise<boolean> {
    const { seed, client, emit } = this.#c;
    const leases = await liveLeases(client, account);
    if (leases.length === 0) return false;
    let n = 0;
    for (let i = 1; i <= seed.replicas + 64 && !n; i++)
      if (this.#c.childKey(i).address.toLowerCase() === controller.toLowerCase()) n = i;
    const later = n > seed.replicas;
    if (!later && !this.#c.inSidecar) return false;
    if (later) {
      seed.replicas = n;
      await this.#c.save();
      await this.#c.refreshHeld?.(); // what its yard holds must not hand this key out again either
    }
    emit(
      "error",
      `replica account ${account} (lease ${leases.join(", ")}) is live but unknown to this state${later ? ` (its key is replica ${n}, made after this state was saved)` : ""}: left alone, not unwound; its agent reports to this ICON's tree`,
    );
    return true;
  }

  /** Undoes a replication that did not finish: the replica's leases ended (its key is derived), its account closed. */
  async #unwindChild(account: bigint, controller: string): Promise<void> {
    const { seed, client, emit } = this.#c;
    let key: Wallet | undefined;
    for (let n = 1; n <= seed.replicas + 2 && !key; n++) {
      const k = this.#c.childKey(n);
      if (k.address.toLowerCase() === controller.toLowerCase()) key = k;
    }
    const leases = await liveLeases(client, account);
    if (leases.length > 0) {
      if (!key) {
        emit("error", `replica account ${account} runs leases under a key this ICON cannot derive; left alone`);
        return;
      }
      const holder = await this.#c.clientFor(key, account);
      for (const id of leases) await holder.terminate(id);
    }
    const { balance } = await client.account(account);
    await client.closeAccount(account);
    delete seed.children[String(account)];
    await this.#c.save();
    emit(
      "error",
      `replica account ${account} never got its agent: ${leases.length} lease(s) ended, account closed, ${client.format(balance)} back`,
    );
  }
}
