/**
 * What only the ICONs know, live: per ICON the policy version it acts under (so a hot-swap is seen reaching it), per
 * client subnet its request rate and latency, and its decisions with their utility numbers and the latency before
 * and after each move. Each yard serves it to a read grant naming that yard which the owner's wallet signs once per
 * session (EIP-712 `StatusGrant` in the market's domain naming the yard's operator as the console's `GET /yards`
 * gives it, an hour long, one signature per yard, each shown in words first as every request, naming the yard's URL
 * and operator); the console's own server asks the yards (`GET /icons`), each grant sent with the URL it was signed
 * for and passed to the yard there only while it names that operator, so the page connects to nothing new.
 * Polled every 2 s, backing off to 30 s while it fails; stops when its section leaves the page. Everything an ICON
 * says is shown as text.
 */
import { marketDomain } from "../../protocol/eip712.ts";
import {
  STATUS_GRANT_TYPES,
  iconStatusLimits,
  statusGrantQuery,
  statusGrantsQuery,
  type ServedIconStatus,
  type StatusGrant,
} from "../../protocol/yard/icon-status.ts";
import { fill, h } from "./dom.ts";
import { afterElsewhere } from "./icon-after.ts";
import { fetchRead } from "./retry.ts";
import type { Plan, PlanCtx } from "./plans.ts";

/** A grant as the session keeps it: the operator it names (lowercased), its query, when it expires (unix s). */
interface Kept {
  operator: string;
  query: string;
  expiry: number;
}

/** The session's grants: per app and reader, one per yard URL (the one its words name), kept in memory until they
 * expire (a reload asks again). */
const grants = new Map<string, Map<string, Kept>>();
const key = (app: bigint, reader: string): string => `${app}/${reader.toLowerCase()}`;

/** The session's grants for `app` and `reader` by yard URL, but those expiring within a minute. */
function grantsOf(app: bigint, reader: string): Map<string, Kept> {
  const live = new Map<string, Kept>();
  for (const [url, g] of grants.get(key(app, reader)) ?? []) if (g.expiry > Date.now() / 1000 + 60) live.set(url, g);
  return live;
}

/** Whether the session holds a grant for the yard at `url` naming `operator` (a yard naming another operator than
 * the one its grant names needs a new one, shown in words again). */
const granted = (have: Map<string, Kept>, url: string, operator: string | undefined): boolean =>
  operator !== undefined && have.get(url)?.operator === operator.toLowerCase();

/** `/yards`' answer: each yard the console names and the operator it gives for itself (or why it gave none). */
interface YardsAnswer {
  yards: { yard: string; operator?: string; error?: string }[];
}

/** The signature steps of read grants for application `app`, one per yard the console names that has none yet
 * (by the operator it gives for itself), each valid an hour at that yard only, each in words first. */
export async function grantPlan(x: PlanCtx, app: bigint, then: () => void): Promise<Plan> {
  const res = await fetchRead("/yards", { cache: "no-store" });
  const answer = (await res.json()) as Partial<YardsAnswer> & { error?: string };
  if (!res.ok || !answer.yards) throw new Error(`the console could not list the yards: ${answer.error ?? res.status}`);
  const yards = answer.yards;
  const have = grantsOf(app, x.owner);
  const asked = new Set<string>();
  const todo = yards.filter((y): y is { yard: string; operator: string } => {
    if (y.operator === undefined || granted(have, y.yard, y.operator) || asked.has(y.yard)) return false;
    asked.add(y.yard);
    return true;
  });
  if (todo.length === 0) {
    const why = yards.map((y) => `${y.yard}: ${y.error ?? "granted already"}`).join("; ");
    throw new Error(`no yard needs a read grant now (${why || "the console names no yard (--yard-http)"})`);
  }
  const expiry = Math.floor(Date.now() / 1000) + iconStatusLimits.maxGrantS - 60;
  const d = x.chain.deployment;
  const until = new Date(expiry * 1000).toISOString().slice(11, 16);
  return {
    title: `Read the ICONs' status of application #${app}`,
    steps: todo.map(({ yard, operator }) => {
      const grant: StatusGrant = { app, yard: operator, reader: x.owner, expiry: BigInt(expiry) };
      return {
        kind: "signature" as const,
        words:
          `A read grant, no transaction and no cost: the yard at ${yard} (operator ${operator}) may show you ` +
          `(${x.owner}) the status of application #${app}'s ICONs it runs until ${until} UTC; no other yard ` +
          `accepts it. Signed as "StatusGrant" for the ICON Market ${d.market} on chain ${d.chainId}; it moves no ` +
          `money and gives nobody else anything.`,
        action: `signing the read grant for ${yard}`,
        async run() {
          const sig = await x.signer.signTypedData(
            marketDomain(BigInt(d.chainId), d.market),
            STATUS_GRANT_TYPES,
            grant,
          );
          const mine = grants.get(key(app, x.owner)) ?? new Map<string, Kept>();
          // Bound to this URL: the console passes it to the yard there only, while that yard names this operator.
          mine.set(yard, { operator: operator.toLowerCase(), query: statusGrantQuery(grant, sig), expiry });
          grants.set(key(app, x.owner), mine);
          then();
          return `Signed: ${yard}'s ICONs' status is read with it until it expires.`;
        },
      };
    }),
    done: () => `read grant${todo.length > 1 ? "s" : ""} for application ${app} signed (${todo.length} yard(s))`,
  };
}

/** `/icons`' answer as the page uses it. */
interface IconsAnswer {
  icons?: ServedIconStatus[];
  yards?: { yard: string; operator?: string; status: number; error?: string }[];
  error?: string;
}

const ms = (v: number | null): string => (v === null ? "—" : `${v.toFixed(1)} ms`);
const u = (v: number | null): string => (v === null ? "—" : v.toFixed(3));
const at = (t: number): string => new Date(t).toISOString().slice(11, 19);

/** One ICON: where it runs, the policy version it acts under against the chain's, its subnets and decisions. */
function iconView(s: ServedIconStatus, chainVersion: number, all: readonly ServedIconStatus[]): HTMLElement {
  const r = s.report;
  const current = r.policyVersion === chainVersion;
  return h(
    "article",
    { class: "icon-status", "data-icon": s.leaseId },
    h("h4", {}, `${r.name} · account ${r.account} · lease ${s.leaseId} at ${s.yardId} · instance ${r.instance}`),
    h(
      "p",
      {},
      "Policy in force: ",
      h("span", { class: `badge ${current ? "ok" : ""}`, "data-field": "policy-version" }, `v${r.policyVersion}`),
      current ? " (the chain's)" : ` (the chain has v${chainVersion}; not reached this ICON yet)`,
      h("span", { class: "muted" }, ` · reported ${at(r.atMs)} UTC`),
    ),
    r.subnets.length === 0
      ? h("p", { class: "empty" }, "No client traffic measured yet.")
      : h(
          "table",
          { class: "subnets" },
          h("caption", {}, "Client subnets (rate and latency as the ICON measures them, EWMA)"),
          h("thead", {}, h("tr", {}, h("th", {}, "subnet"), h("th", {}, "requests/s"), h("th", {}, "latency"))),
          h(
            "tbody",
            {},
            ...r.subnets.map((n) =>
              h("tr", {}, h("td", {}, n.subnet), h("td", {}, n.ratePerS.toFixed(2)), h("td", {}, ms(n.latencyMs))),
            ),
          ),
        ),
    h(
      "ol",
      { class: "decisions", reversed: true, "aria-label": `${r.name}'s decisions, newest first` },
      ...[...r.decisions]
        .sort((a, b) => b.atMs - a.atMs)
        .map((d) =>
          h(
            "li",
            { "data-decision": "" },
            h("span", { class: "muted" }, `${at(d.atMs)} `),
            d.text,
            ` · U stay ${u(d.u)}, U best ${u(d.uBest)}`,
            ...d.latency.map((l) => {
              // Not measured here (a replication: the replica serves the subnet now): as the ICON serving it says.
              const there = l.afterMs === null ? afterElsewhere(l.subnet, d.atMs, s, all) : undefined;
              const after = there ? `${ms(there.ms)} after (served by ${there.by})` : `${ms(l.afterMs)} after`;
              return h("span", { class: "latency" }, ` · ${l.subnet}: ${ms(l.beforeMs)} before → ${after}`);
            }),
          ),
        ),
    ),
  );
}

/**
 * The ICONs' section of application `app` (its chain policy version `chainVersion`): a button that asks for the
 * read grant (through `ask`, which runs {@link grantPlan}), or with a grant this session the live status.
 */
export function iconsSection(app: bigint, reader: string, chainVersion: number, ask: () => void): HTMLElement {
  const body = h("div", { "data-field": "icons" });
  const section = h(
    "section",
    { "aria-labelledby": "icons-h", class: "icons" },
    h("h3", { id: "icons-h" }, "What the ICONs report"),
    body,
  );
  if (grantsOf(app, reader).size === 0) {
    askFor(body, ask);
    return section;
  }
  fill(body, h("p", { class: "empty" }, "Asking the yards…"));
  void poll(section, body, app, reader, chainVersion, ask);
  return section;
}

/** The button that asks the wallet for read grants, in place of the status. */
function askFor(body: HTMLElement, ask: () => void): void {
  fill(
    body,
    h(
      "p",
      { class: "muted" },
      "Each yard shows the ICONs' status to you only: your wallet signs a read grant per yard.",
    ),
    h("button", { type: "button", "data-action": "read-icons", onclick: ask }, "Show the ICONs' status"),
  );
}

/** Reads `/icons` with the session's grants until `section` leaves the page: every 2 s, doubling up to 30 s while
 * it fails; a yard with no grant of this session yet gets a button that asks for it. */
async function poll(
  section: HTMLElement,
  body: HTMLElement,
  app: bigint,
  reader: string,
  chainVersion: number,
  ask: () => void,
): Promise<void> {
  let wait = 2000;
  await new Promise((r) => setTimeout(r, 0)); // the section is attached by the caller's render first
  while (section.isConnected) {
    let ok = false;
    try {
      const mine = grantsOf(app, reader);
      if (mine.size === 0) return askFor(body, ask); // every grant of this session expired
      const pairs = [...mine].map(([url, g]) => ({ url, query: g.query }));
      const res = await fetchRead(`/icons?${statusGrantsQuery(pairs)}`, { cache: "no-store" });
      const a = (await res.json()) as IconsAnswer;
      ok = res.ok;
      const failed = (a.yards ?? []).filter((y) => y.status !== 200);
      const ungranted = failed.filter((y) => y.operator !== undefined && !granted(mine, y.yard, y.operator));
      fill(
        body,
        a.error ? h("p", { class: "outcome fail", role: "alert" }, a.error) : null,
        ungranted.length
          ? h(
              "button",
              { type: "button", "data-action": "read-icons", onclick: ask },
              `Sign read grants for ${ungranted.length} more yard(s)`,
            )
          : null,
        (a.yards ?? []).length === 0 ? h("p", { class: "empty" }, "The console names no yard (--yard-http).") : null,
        ...failed.map((y) => h("p", { class: "muted" }, `${y.yard}: ${y.error ?? `answered ${y.status}`}`)),
        ok && (a.icons ?? []).length === 0 ? h("p", { class: "empty" }, "No ICON has reported yet.") : null,
        ...(a.icons ?? []).map((s, _i, all) => iconView(s, chainVersion, all)),
      );
      body.dataset.ready = "true";
    } catch (e) {
      fill(body, h("p", { class: "outcome fail" }, `The yards' status could not be read: ${(e as Error).message}`));
    }
    wait = ok ? 2000 : Math.min(wait * 2, 30_000);
    await new Promise((r) => setTimeout(r, wait));
  }
}
