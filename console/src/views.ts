/**
 * The application's view: its accounts, funding requests, leases, and the owner's forms (top up, policy,
 * withdraw, wind down). Pure rendering: what a button does is given by main.ts.
 */
import { stillOpen } from "../../protocol/chain/funding.ts";
import { leaseCost } from "../../protocol/chain/lease-cost.ts";
import { describePolicy } from "../../protocol/chain/policy.ts";
import type { Policy } from "../../protocol/chain/types.ts";
import { leaseTimeLeft, type AppView, type ConsoleChain, type FundingRequest, type LeaseView } from "./chain.ts";
import { field, h } from "./dom.ts";
import type { TimelineEntry } from "./timeline.ts";

/** What the owner can do from the application's view. */
export interface AppActions {
  topUp(form: HTMLFormElement): void;
  answer(r: FundingRequest): void;
  policy(form: HTMLFormElement): void;
  withdraw(form: HTMLFormElement): void;
  windDown(): void;
}

/** Seconds as people read them: "1 h 02 min", "4 min 10 s", "45 s". */
export function duration(s: bigint): string {
  const n = Number(s);
  if (n >= 3600) return `${Math.floor(n / 3600)} h ${String(Math.floor((n % 3600) / 60)).padStart(2, "0")} min`;
  if (n >= 60) return `${Math.floor(n / 60)} min ${n % 60} s`;
  return `${n} s`;
}

const share = (bps: number): string => String(bps / 10_000);

/** The policy's fields as a form's inputs, filled with `p` (shares 0..1 and amounts, as the CLI's options). */
export function policyFields(chain: ConsoleChain, p: Policy): HTMLElement[] {
  const amount = (v: bigint): string => chain.format(v).replace(/\s+\S+$/, "");
  return [
    field("Weight of latency (0 = price only, 1 = latency only)", "weight", {
      value: share(p.weightBps),
      inputmode: "decimal",
    }),
    field("Migrate when utility improves by at least (0..1)", "migrate", {
      value: share(p.migrateThresholdBps),
      inputmode: "decimal",
    }),
    field("Replicate when utility improves by at least (0..1)", "replicate", {
      value: share(p.replicateThresholdBps),
      inputmode: "decimal",
    }),
    field("Terminate a replica whose share falls below (0..1)", "terminate", {
      value: share(p.terminateThresholdBps),
      inputmode: "decimal",
    }),
    field(`Max price per second (${chain.tokenInfo.symbol}/s, 0 = no cap)`, "maxPrice", {
      value: amount(p.maxPricePerSecond),
      inputmode: "decimal",
    }),
    field(`Max relay fee (${chain.tokenInfo.symbol} per relayed call)`, "maxRelayFee", {
      value: amount(p.maxRelayFee),
      inputmode: "decimal",
    }),
    field(`Relay allowance (${chain.tokenInfo.symbol} per day)`, "relayAllowance", {
      value: amount(p.relayAllowancePerDay),
      inputmode: "decimal",
    }),
  ];
}

function table(
  name: string,
  caption: string,
  head: string[],
  rows: Array<Array<string | Node>>,
  empty: string,
): HTMLElement {
  if (rows.length === 0) return h("p", { class: "empty" }, empty);
  return h(
    "table",
    { "data-table": name },
    h("caption", {}, caption),
    h("thead", {}, h("tr", {}, ...head.map((c) => h("th", { scope: "col" }, c)))),
    h("tbody", {}, ...rows.map((r) => h("tr", {}, ...r.map((c) => h("td", {}, c))))),
  );
}

/** The leases table: yard, price, time left and spend of each lease, newest first. */
export function leasesTable(chain: ConsoleChain, leases: LeaseView[], now: bigint): HTMLElement {
  const rows = [...leases]
    .sort((a, b) => Number(b.id - a.id))
    .map((l) => [
      `#${l.id}`,
      h("span", { title: l.provider }, l.yard || l.provider),
      `account ${l.account}`,
      `${chain.format(l.pricePerSecond)}/s`,
      leaseTimeLeft(l, now) > 0n ? duration(leaseTimeLeft(l, now)) : "—",
      chain.format(leaseCost(l, now)),
      h("span", { class: `state ${l.state.toLowerCase()}` }, l.state),
    ]);
  return table(
    "leases",
    "Leases of the application's accounts",
    ["Lease", "Yard", "Paid from", "Price", "Time left", "Spend", "State"],
    rows,
    "No lease yet: the origin ICON opens its first one once it runs (icon app deploy, or icon agent run).",
  );
}

/**
 * The application's tree as the chain has it: each budget account (an ICON's, by its key) under its parent, with
 * its balance and where it runs — its live leases' yards.
 */
export function treeView(chain: ConsoleChain, app: AppView, leases: LeaseView[], owner: string): HTMLElement {
  const node = (id: bigint): HTMLElement => {
    const a = app.accounts.find((x) => x.id === id)!;
    const live = leases.filter((l) => l.account === id && (l.state === "Running" || l.state === "Scheduled"));
    const key = a.controller.toLowerCase() === owner.toLowerCase() ? "your key" : `ICON key ${a.controller}`;
    const where = live.length
      ? `runs at ${live.map((l) => `${l.yard || l.provider} (lease #${l.id}, ${l.state}, ${chain.format(l.pricePerSecond)}/s)`).join(", ")}`
      : a.closed
        ? "closed"
        : "no live lease";
    const children = app.accounts.filter((x) => x.parent === id && x.id !== id);
    return h(
      "li",
      { "data-account": String(id) },
      h(
        "div",
        { class: `node${a.closed ? " closed" : ""}` },
        h("strong", {}, `#${id}${id === app.root ? " (origin)" : ""}`),
        h("span", { class: "muted" }, ` ${key}`),
        h("span", { class: "where" }, where),
        h("span", { class: "money" }, chain.format(a.balance)),
      ),
      children.length ? h("ul", {}, ...children.map((c) => node(c.id))) : null,
    );
  };
  return h(
    "ul",
    { class: "tree", "aria-label": "The application's ICONs: budget accounts and where each runs" },
    node(app.root),
  );
}

/** The timeline's entries, newest first, each with its time (UTC) and block. */
export function timelineView(entries: TimelineEntry[]): HTMLElement {
  if (entries.length === 0) return h("p", { class: "empty" }, "No event yet.");
  const shown = entries.slice(0, 100);
  return h(
    "ol",
    // scrollable, so it takes the keyboard's focus (it scrolls with the arrow keys)
    { class: "timeline", reversed: true, tabindex: 0, "aria-label": "The application's events, newest first" },
    ...shown.map((e) =>
      h(
        "li",
        {},
        h(
          "time",
          { datetime: new Date(Number(e.t) * 1000).toISOString() },
          new Date(Number(e.t) * 1000).toISOString().slice(11, 19),
        ),
        h("span", { class: "muted" }, ` block ${e.block} `),
        e.text,
      ),
    ),
    entries.length > shown.length ? h("li", { class: "muted" }, `… and ${entries.length - shown.length} older`) : null,
  );
}

/** The application: summary, accounts, funding requests, leases, and the owner's forms. */
export function appView(
  chain: ConsoleChain,
  app: AppView,
  leases: LeaseView[],
  requests: FundingRequest[],
  now: bigint,
  owner: string,
  act: AppActions,
): HTMLElement {
  const fmt = (v: bigint): string => chain.format(v);
  const total = app.accounts.reduce((s, a) => s + a.balance, 0n);
  const spent = leases.reduce((s, l) => s + leaseCost(l, now), 0n);
  const pending = requests.filter(stillOpen);
  const form = (
    name: string,
    submit: (f: HTMLFormElement) => void,
    ...children: Array<Node | string>
  ): HTMLFormElement => {
    const f = h("form", { "data-form": name, novalidate: true }, ...children);
    f.addEventListener("submit", (e) => {
      e.preventDefault();
      submit(f);
    });
    return f;
  };
  const err = (): HTMLElement => h("p", { class: "form-error", role: "alert" });
  return h(
    "section",
    { "aria-labelledby": "app-h", class: "app" },
    h("h2", { id: "app-h" }, `Application #${app.root}`),
    h(
      "dl",
      { class: "summary" },
      h("dt", {}, "In its accounts"),
      h("dd", { "data-field": "held" }, fmt(total)),
      h("dt", {}, "Spent on leases"),
      h("dd", { "data-field": "spent" }, fmt(spent)),
      h("dt", {}, `Policy v${app.version}`),
      h("dd", { "data-field": "policy" }, describePolicy(app.policy, fmt)),
    ),
    h("h3", {}, "ICON tree"),
    treeView(chain, app, leases, owner),
    h("h3", {}, "Money"),
    h("div", { id: "money-chart", class: "chart" }, h("p", { class: "empty" }, "Drawing the chart…")),
    h("h3", {}, "Timeline (from the chain)"),
    h("div", { id: "timeline" }, h("p", { class: "empty" }, "Reading the events…")),
    h("h3", {}, "Funding requests"),
    pending.length === 0
      ? h("p", { class: "empty" }, requests.length ? "Every funding request was answered." : "No ICON asked for money.")
      : h(
          "ul",
          { class: "requests" },
          ...pending.map((r) =>
            h(
              "li",
              {},
              `Account ${r.account} asks for ${fmt(r.amount)} (block ${r.block})` +
                (r.answered > 0n ? `, ${fmt(r.answered)} of it answered so far ` : " "),
              h(
                "button",
                { type: "button", onclick: () => act.answer(r), "data-answer": String(r.account) },
                `Fund ${fmt(r.amount - r.answered)}`,
              ),
            ),
          ),
        ),
    h("h3", {}, "Leases"),
    leasesTable(chain, leases, now),
    h(
      "div",
      { class: "forms" },
      form(
        "topup",
        act.topUp,
        h("h3", {}, "Top up"),
        field("Account", "account", { value: String(app.root), inputmode: "numeric" }),
        field(`Amount (${chain.tokenInfo.symbol})`, "amount", { placeholder: "e.g. 5", inputmode: "decimal" }),
        err(),
        h("button", { type: "submit", class: "primary" }, "Review top-up"),
      ),
      form(
        "policy",
        act.policy,
        h("h3", {}, "Policy"),
        ...policyFields(chain, app.policy),
        err(),
        h("button", { type: "submit", class: "primary" }, "Review policy"),
      ),
      form(
        "withdraw",
        act.withdraw,
        h("h3", {}, "Withdraw"),
        field(`Amount (${chain.tokenInfo.symbol})`, "amount", { placeholder: "e.g. 1", inputmode: "decimal" }),
        field("To address", "to", { value: owner }),
        err(),
        h("button", { type: "submit", class: "primary" }, "Review withdrawal"),
      ),
      h(
        "div",
        { class: "danger-zone" },
        h("h3", {}, "Wind down"),
        h(
          "p",
          {},
          "Takes the ICONs' keys back, ends every live lease, closes the child accounts and withdraws what is left to your wallet.",
        ),
        h(
          "button",
          { type: "button", class: "danger", onclick: () => act.windDown(), "data-action": "wind-down" },
          "Review wind-down",
        ),
      ),
    ),
  );
}
