/**
 * The simulator's chain: budget accounts in memory, with the operations the agent performs on the market's
 * budget tree (protocol/chain/client.ts `createAccount`, `allocate`, a lease's payment, `closeAccount` returning
 * the rest to the parent, the owner's deposit) and the money rules the contract enforces: bigint token units, no
 * account ever below zero. A spend beyond a balance is refused, as the contract reverts it, and counted by what it
 * was for (`refused`): each one is a case the agent's rules (decision.ts's affordability, `replicaShare`,
 * `renewalPlan`) let through. `solvent()` checks that no spend beyond a budget ever took place.
 */
export class Ledger {
  readonly #balance = new Map<bigint, bigint>();
  readonly #parent = new Map<bigint, bigint | undefined>();
  #next = 1n;
  /** Spends refused because they exceeded the balance, by what they were for. */
  readonly refused = new Map<string, number>();
  /** What the owner put in, and what left the tree (leases, relay fees). */
  deposited = 0n;
  spent = 0n;

  createAccount(parent?: bigint): bigint {
    const id = this.#next++;
    this.#balance.set(id, 0n);
    this.#parent.set(id, parent);
    return id;
  }

  balance(id: bigint): bigint {
    return this.#balance.get(id) ?? 0n;
  }

  /** The owner funds `id`. */
  deposit(id: bigint, amount: bigint): void {
    this.#balance.set(id, this.balance(id) + amount);
    this.deposited += amount;
  }

  /** Moves `amount` from `from` to `to` (a parent to its child); refused (false, counted) beyond the balance. */
  allocate(from: bigint, to: bigint, amount: bigint, what = "allocate"): boolean {
    if (amount < 0n || amount > this.balance(from)) return this.#refuse(what);
    this.#balance.set(from, this.balance(from) - amount);
    this.#balance.set(to, this.balance(to) + amount);
    return true;
  }

  /** Pays `amount` out of `id` (a lease, a relay fee); refused (false, counted) beyond the balance. */
  pay(id: bigint, amount: bigint, what = "pay"): boolean {
    if (amount < 0n || amount > this.balance(id)) return this.#refuse(what);
    this.#balance.set(id, this.balance(id) - amount);
    this.spent += amount;
    return true;
  }

  /** Closes `id`: its balance goes to `to` (its parent, or whoever adopted its place). */
  close(id: bigint, to: bigint | undefined): void {
    const b = this.balance(id);
    this.#balance.delete(id);
    if (to !== undefined) this.#balance.set(to, this.balance(to) + b);
    else this.deposited -= b; // back to the owner
  }

  /** Every balance is ≥ 0 and what is in the tree plus what was spent equals what was deposited. */
  solvent(): boolean {
    let sum = 0n;
    for (const b of this.#balance.values()) {
      if (b < 0n) return false;
      sum += b;
    }
    return sum + this.spent === this.deposited;
  }

  /** Spends refused in all. */
  get refusals(): number {
    return [...this.refused.values()].reduce((a, b) => a + b, 0);
  }

  #refuse(what: string): false {
    this.refused.set(what, (this.refused.get(what) ?? 0) + 1);
    return false;
  }
}
