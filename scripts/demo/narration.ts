/**
 * The demo's god view (scripts/demo.ts): the chain's events of the application and what each ICON agent prints in
 * its sidecar, narrated as the timeline's lines and counted for the summary (replications, migrations, learned and
 * path-discovered domains, the round trips the ICONs measured). It never calls an ICON.
 */
import { Wallet } from "ethers";
import { MarketClient } from "../../protocol/index.ts";
import { ChainWatch, SidecarLogs, type AgentContainer, type ChainEvent } from "../lib/godview.ts";
import type { World } from "./setup.ts";
import { OWNER_KEY, SOCKET, say } from "./world.ts";

/** A round trip an ICON reported measuring at its site (its observe line). */
export interface RttSeen {
  yard: string;
  subnet: string;
  rttMs: number;
  lijMs: number;
  atMs: number;
}

export class GodView {
  readonly reader: MarketClient;
  readonly ownerAddress: string;
  readonly app = { root: 0n, accounts: new Set<bigint>(), leases: new Set<bigint>(), iconKeys: new Set<string>() };
  /** The application's FundingRequested events. */
  readonly funding: ChainEvent[] = [];
  readonly counts = { replications: 0, migrations: 0, terminations: 0, replacements: 0, replicaFounderings: 0 };
  readonly learned = new Set<string>();
  /** Yards the ICONs found only by path tomography (eDisco), and each round trip an ICON measured at its site. */
  readonly pathFound = new Set<string>();
  readonly rttSeen: RttSeen[] = [];
  /** Per client subnet (CIDR), the domains with IEPs the ICONs' traces of its path named. */
  readonly pathDomains = new Map<string, Set<string>>();
  /** When a lost replica was first said placed again. */
  replacedAt: number | undefined;
  /** Set when the owner returns: accounts closed from then on are the wind-down's, not ICONs' terminations. */
  ownerBack = false;
  readonly chain: ChainWatch;
  readonly sidecars: SidecarLogs;
  readonly #w: World;
  #observed = 0;

  private constructor(w: World, reader: MarketClient) {
    this.#w = w;
    this.reader = reader;
    this.ownerAddress = new Wallet(w.m.keys[OWNER_KEY]!).address;
    this.chain = new ChainWatch({ market: reader.market, onEvent: (e) => this.#narrateChain(e) });
    this.sidecars = new SidecarLogs({
      socket: SOCKET,
      yardIds: Object.keys(w.yardIds),
      onLine: (c, line) => this.#narrateSidecar(c, line),
    });
  }

  /** Follows the chain, then the sidecars of the world's yards; both stop with the world's clean-up. */
  static async start(w: World): Promise<GodView> {
    const reader = await MarketClient.connect({ deployment: w.m.deployment, provider: w.m.provider });
    const god = new GodView(w, reader);
    await god.chain.start();
    w.cleanup.push(() => god.chain.stop());
    god.sidecars.start();
    w.cleanup.push(() => god.sidecars.stop());
    return god;
  }

  #narrateChain(e: ChainEvent): void {
    const { app, counts, funding, reader } = this;
    const n = (k: string): bigint => e.args[k] as bigint;
    const s = (k: string): string => e.args[k] as string;
    const fmt = (v: bigint): string => reader.format(v);
    const key = (k: string): string => `${k.slice(0, 8)}…`;
    const yard = (addr: string): string => this.#w.operators.get(addr.toLowerCase()) ?? key(addr);
    switch (e.name) {
      case "AppCreated":
        if (s("owner").toLowerCase() !== this.ownerAddress.toLowerCase()) return;
        app.accounts.add(n("root"));
        app.iconKeys.add(s("controller"));
        return say("chain", `application ${n("root")} created by the owner; its origin's key ${key(s("controller"))}`);
      case "AccountCreated":
        if (!app.accounts.has(n("parent"))) return;
        app.accounts.add(n("account"));
        app.iconKeys.add(s("controller"));
        return say(
          "chain",
          `account ${n("account")} created below ${n("parent")} for ICON key ${key(s("controller"))}`,
        );
      case "ControllerChanged":
        if (!app.accounts.has(n("account"))) return;
        if (s("controller").toLowerCase() !== this.ownerAddress.toLowerCase()) app.iconKeys.add(s("controller"));
        return say("chain", `account ${n("account")} is controlled by ${key(s("controller"))} now`);
      case "Allocated":
        if (!app.accounts.has(n("parent"))) return;
        return say("chain", `account ${n("parent")} allocated ${fmt(n("amount"))} to ${n("child")}`);
      case "AccountClosed":
        if (!app.accounts.has(n("account"))) return;
        // A replica's account closes as it terminates (by itself, or finished by its parent: its agent stops with
        // its lease) — or at the owner's wind-down, which is not an ICON's termination.
        if (!this.ownerBack) counts.terminations++;
        return say("chain", `account ${n("account")} closed, ${fmt(n("returned"))} back to the parent`);
      case "FundingRequested":
        if (!app.accounts.has(n("account"))) return;
        funding.push(e);
        return say(
          "chain",
          `account ${n("account")} asks ${n("parent") === 0n ? "the owner" : `its parent ${n("parent")}`} for ${fmt(n("amount"))} (FundingRequested)`,
        );
      case "Relayed":
        if (!app.accounts.has(n("account"))) return;
        app.iconKeys.add(s("signer"));
        return say(
          "chain",
          `${yard(s("relayer"))} relayed an intent of ${key(s("signer"))} (account ${n("account")}), fee ${fmt(n("fee"))}`,
        );
      case "LeaseOpened":
        if (!app.accounts.has(n("account"))) return;
        app.leases.add(n("id"));
        return say(
          "chain",
          `lease ${n("id")} opened at ${yard(s("provider"))} for account ${n("account")}: ${fmt(n("pricePerSecond"))}/s, ${fmt(n("deposit"))} into escrow`,
        );
      case "LeaseTerminated":
        if (!app.leases.has(n("id"))) return;
        return say("chain", `lease ${n("id")} terminated, ${fmt(n("refund"))} refunded`);
      case "LeaseCancelled":
        if (!app.leases.has(n("id"))) return;
        return say("chain", `lease ${n("id")} cancelled (start missed), ${fmt(n("refund"))} refunded`);
      case "Withdrawn":
        if (!app.accounts.has(n("root"))) return;
        return say("chain", `${fmt(n("amount"))} withdrawn from application ${n("root")}`);
    }
  }

  #narrateSidecar(c: AgentContainer, line: string): void {
    const { counts, learned, pathFound, pathDomains, rttSeen } = this;
    const who = `${this.#w.yardIds[c.yardId]}/${c.leaseId}`;
    const ev = /^\S+Z (\S+) (\w+): (.*)$/.exec(line);
    if (!ev) {
      if (/"level":"(warn|error)"|Error/.test(line)) say(who, line.slice(0, 300));
      else if (/^ICON .* running|terminated itself|retired/.test(line)) say(who, line);
      return;
    }
    const [, icon, kind, text] = ev as unknown as [string, string, string, string];
    if (kind === "replicated" && /lost with yard/.test(text)) {
      counts.replacements++;
      this.replacedAt ??= Date.now();
    } else if (kind === "replicated") counts.replications++;
    // A move in sidecars is told twice: by the old instance when it hands over, by the successor when it finished.
    if (kind === "migrated" && /^moved from/.test(text)) counts.migrations++;
    if (kind === "tree" && icon !== "origin" && /^foundering: asked for/.test(text)) counts.replicaFounderings++;
    if (kind === "discovered") {
      const d = /looking for _edge\._tcp\.(\S+)$/.exec(text)?.[1];
      if (d && !/^hop \d+ on the path/.test(text)) learned.add(d);
      const y = /^yard (\S+) found only by path tomography/.exec(text)?.[1];
      if (y) pathFound.add(y);
      const p = /^path to (\S+): \d+ hops, \d+ named; IEP domains on it: (.*)$/.exec(text);
      for (const d of p?.[2]!.matchAll(/(\S+) \(hop \d+, [^)]*\)/g) ?? [])
        pathDomains.set(p![1]!, new Set([...(pathDomains.get(p![1]!) ?? []), d[1]!]));
    }
    if (kind === "observe") {
      const at = /^at (\S+): (.*); U=/.exec(text);
      for (const m of at?.[2]!.matchAll(/(\S+) [\d.]+\/s (\d+) ms \(rtt ([\d.]+)\)/g) ?? [])
        rttSeen.push({ yard: at![1]!, subnet: m[1]!, lijMs: Number(m[2]), rttMs: Number(m[3]), atMs: Date.now() });
    }
    if (kind === "observe" && !/→ (replicate|migrate|terminate)/.test(text) && this.#observed++ % 5 !== 0) return;
    say(who, `${icon} ${kind}: ${text}`);
  }
}
