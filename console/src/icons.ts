/**
 * What only the ICONs know, live: per ICON the policy version it acts under (so a hot-swap is seen reaching it), per
 * client subnet its request rate and latency, and its decisions with their utility numbers and the latency before
 * and after each move. The yards serve it to a read grant the owner's wallet signs once per session (EIP-712
 * `StatusGrant` in the market's domain, an hour long, shown in words first as every request); the console's own
 * server asks the yards (`GET /icons`), so the page connects to nothing new. Polled every 2 s, backing off to 30 s
 * while it fails; stops when its section leaves the page. Everything an ICON says is shown as text.
 */
import { marketDomain } from "../../protocol/eip712.ts";
import {
  STATUS_GRANT_TYPES,
  iconStatusLimits,
  statusGrantQuery,
  type ServedIconStatus,
  type StatusGrant,
} from "../../protocol/yard/icon-status.ts";
import { fill, h } from "./dom.ts";
import { afterElsewhere } from "./icon-after.ts";
import type { Plan, PlanCtx } from "./plans.ts";

/** The session's grant: one per app and reader, kept in memory until it expires (a reload asks again). */
const grants = new Map<string, { query: string; expiry: number }>();
const key = (app: bigint, reader: string): string => `${app}/${reader.toLowerCase()}`;

/** The session's grant for `app` and `reader`, unless it expires within a minute. */
function grantOf(app: bigint, reader: string): string | undefined {
  const g = grants.get(key(app, reader));
  return g && g.expiry > Date.now() / 1000 + 60 ? g.query : undefined;
}

/** The signature step of a read grant for application `app`, valid an hour, in words first. */
export function grantPlan(x: PlanCtx, app: bigint, then: () => void): Plan {
  const expiry = Math.floor(Date.now() / 1000) + iconStatusLimits.maxGrantS - 60;
  const d = x.chain.deployment;
  const grant: StatusGrant = { app, reader: x.owner, expiry: BigInt(expiry) };
  const until = new Date(expiry * 1000).toISOString().slice(11, 16);
  return {
    title: `Read the ICONs' status of application #${app}`,
    steps: [
      {
        kind: "signature",
        words:
          `A read grant, no transaction and no cost: the yards running application #${app}'s ICONs may show you ` +
          `(${x.owner}) their status until ${until} UTC. Signed as "StatusGrant" for the ICON Market ${d.market} on ` +
          `chain ${d.chainId}; it moves no money and gives nobody else anything.`,
        action: "signing the read grant",
        async run() {
          const sig = await x.signer.signTypedData(
            marketDomain(BigInt(d.chainId), d.market),
            STATUS_GRANT_TYPES,
            grant,
          );
          grants.set(key(app, x.owner), { query: statusGrantQuery(grant, sig), expiry });
          then();
          return "Signed: the ICONs' status is read with it until it expires.";
        },
      },
    ],
    done: () => `read grant for application ${app} signed`,
  };
}

/** `/icons`' answer as the page uses it. */
interface IconsAnswer {
  icons?: ServedIconStatus[];
  yards?: { yard: string; status: number; error?: string }[];
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
  const query = grantOf(app, reader);
  if (!query) {
    fill(
      body,
      h("p", { class: "muted" }, "The yards show the ICONs' status to you only: your wallet signs a read grant once."),
      h("button", { type: "button", "data-action": "read-icons", onclick: ask }, "Show the ICONs' status"),
    );
    return section;
  }
  fill(body, h("p", { class: "empty" }, "Asking the yards…"));
  void poll(section, body, query, chainVersion);
  return section;
}

/** Reads `/icons` until `section` leaves the page: every 2 s, doubling up to 30 s while it fails. */
async function poll(section: HTMLElement, body: HTMLElement, query: string, chainVersion: number): Promise<void> {
  let wait = 2000;
  await new Promise((r) => setTimeout(r, 0)); // the section is attached by the caller's render first
  while (section.isConnected) {
    let ok = false;
    try {
      const res = await fetch(`/icons?${query}`, { cache: "no-store" });
      const a = (await res.json()) as IconsAnswer;
      ok = res.ok;
      const failed = (a.yards ?? []).filter((y) => y.status !== 200);
      fill(
        body,
        a.error ? h("p", { class: "outcome fail", role: "alert" }, a.error) : null,
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
