/**
 * The owner console's page: reads the deployment `icon console` serves, finds the browser's wallets, and lets
 * the owner create, fund, steer and wind down applications — every request shown in words before the wallet is
 * asked (flow.ts), every read straight from the chain (chain.ts).
 */
import { getAddress, type JsonRpcSigner } from "ethers";
import { deploymentSchema, type Deployment } from "../../protocol/chain/deployment-schema.ts";
import { DEFAULT_POLICY_BPS, DEFAULT_RELAY_CAPS, parseShare } from "../../protocol/chain/policy.ts";
import type { Policy } from "../../protocol/chain/types.ts";
import { accountsSection, addressFrom } from "./accounts.ts";
import { ConsoleChain, type AppView } from "./chain.ts";
import { byId, field, fill, h, valueOf } from "./dom.ts";
import { failureSentence, reviewAndRun } from "./flow.ts";
import { grantPlan, iconsSection } from "./icons.ts";
import { createAppPlan, fundPlan, policyPlan, withdrawPlan, windDownPlan, type Plan, type PlanCtx } from "./plans.ts";
import { fetchRead, importRetrying } from "./retry.ts";
import { appTimeline } from "./timeline.ts";
import { appView, policyFields, timelineView } from "./views.ts";
import {
  discoverWallets,
  legacyWallet,
  requestAccount,
  switchChain,
  walletChainId,
  walletSigner,
  type FoundWallet,
} from "./wallet.ts";
import "./style.css";

interface Served {
  deployment: Deployment;
  rpcUrl: string;
  chainName: string;
}

const state: {
  served?: Served;
  chain?: ConsoleChain;
  wallets: FoundWallet[];
  wallet?: FoundWallet;
  account?: string;
  walletChain?: number;
  signer?: JsonRpcSigner;
  apps: bigint[];
  selected?: bigint;
  app?: AppView;
  busy: boolean;
} = { wallets: [], apps: [], busy: false };

function notice(text: string, kind: "info" | "error" = "info", ...extra: Node[]): void {
  const el = byId("notice");
  el.className = `notice ${kind}`;
  fill(el, h("p", {}, text), ...extra);
  el.hidden = text === "";
}

async function loadServed(): Promise<Served> {
  const res = await fetchRead("/deployment.json", { cache: "no-store" });
  if (!res.ok) throw new Error(`the console's server has no deployment (${res.status})`);
  const raw = (await res.json()) as { deployment?: unknown; rpcUrl?: unknown; chainName?: unknown };
  const parsed = deploymentSchema.safeParse(raw.deployment);
  if (!parsed.success) throw new Error(`the served deployment is malformed: ${parsed.error.issues[0]!.message}`);
  if (typeof raw.rpcUrl !== "string") throw new Error("the served deployment names no RPC endpoint");
  return {
    deployment: parsed.data,
    rpcUrl: raw.rpcUrl,
    chainName: String(raw.chainName ?? `chain ${parsed.data.chainId}`),
  };
}

function renderNet(): void {
  const { served, chain } = state;
  if (!served || !chain) return;
  const d = served.deployment;
  fill(
    byId("net"),
    h("span", { class: "badge" }, served.chainName),
    h(
      "span",
      { class: "muted" },
      ` market ${d.market.slice(0, 10)}… · token ${chain.tokenInfo.symbol}${chain.permit ? " (permit)" : ""}`,
    ),
  );
}

function renderWallet(): void {
  const el = byId("wallet");
  if (state.account && state.wallet) {
    fill(
      el,
      h(
        "span",
        { class: "badge ok", "data-connected": state.account },
        `${state.wallet.info.name}: ${state.account.slice(0, 6)}…${state.account.slice(-4)}`,
      ),
    );
    return;
  }
  if (state.wallets.length === 0) {
    fill(el, h("span", { class: "muted" }, "No browser wallet found: install one (MetaMask, Rabby, …) and reload."));
    return;
  }
  fill(
    el,
    ...state.wallets.map((w) =>
      h(
        "button",
        { type: "button", class: "primary", "data-wallet": w.info.rdns || w.info.uuid, onclick: () => void connect(w) },
        w.info.icon ? h("img", { src: w.info.icon, alt: "", width: 18, height: 18 }) : null,
        `Connect ${w.info.name}`,
      ),
    ),
  );
}

const listened = new WeakSet<object>();
const showError = (e: unknown): void =>
  notice(failureSentence(e, "reading the wallet", state.chain!.tokenInfo).message, "error");
let walletChange: Promise<void> = Promise.resolve();

/** Reads the wallet's account and chain again, one change after the other (events and switches may come together). */
function walletChanged(): Promise<void> {
  walletChange = walletChange.then(afterWalletChange, afterWalletChange);
  return walletChange;
}

async function connect(w: FoundWallet): Promise<void> {
  try {
    state.wallet = w;
    state.account = await requestAccount(w.provider);
    if (!listened.has(w.provider)) {
      listened.add(w.provider);
      w.provider.on?.("accountsChanged", (a) => {
        if (state.wallet !== w) return;
        const list = a as string[];
        state.account = list[0] ? getAddress(list[0]) : undefined;
        walletChanged().catch(showError);
      });
      w.provider.on?.("chainChanged", () => {
        if (state.wallet === w) walletChanged().catch(showError);
      });
    }
    await walletChanged();
  } catch (e) {
    state.account = undefined;
    const f = failureSentence(e, "connecting", state.chain!.tokenInfo);
    notice(
      f.declined ? "You declined the connection in your wallet: nothing is shared with this page." : f.message,
      "error",
    );
    renderWallet();
  }
}

async function afterWalletChange(): Promise<void> {
  const { wallet, served } = state;
  if (!wallet || !served) return;
  state.signer = undefined;
  renderWallet();
  if (!state.account) return notice("Your wallet shares no account with this page: connect again.");
  state.walletChain = await walletChainId(wallet.provider);
  const want = served.deployment.chainId;
  if (state.walletChain !== want) {
    const button = h(
      "button",
      { type: "button", class: "primary", "data-action": "switch-chain", onclick: () => void doSwitch() },
      `Switch wallet to ${served.chainName}`,
    );
    notice(
      `Your wallet is on chain ${state.walletChain}; the market is on ${served.chainName} (chain ${want}).`,
      "error",
      button,
    );
    fill(byId("owner"));
    return;
  }
  notice("");
  state.signer = await walletSigner(wallet.provider, want, state.account);
  await loadApps();
}

async function doSwitch(): Promise<void> {
  const { wallet, served } = state;
  if (!wallet || !served) return;
  const d = served.deployment;
  try {
    await switchChain(wallet.provider, { chainId: d.chainId, name: served.chainName, rpcUrl: served.rpcUrl });
    await walletChanged();
  } catch (e) {
    const f = failureSentence(e, "switching the chain", state.chain!.tokenInfo);
    notice(
      f.declined
        ? `You declined the switch to ${served.chainName} in your wallet: the console cannot act on another chain.`
        : f.message,
      "error",
      h(
        "button",
        { type: "button", class: "primary", "data-action": "switch-chain", onclick: () => void doSwitch() },
        `Switch wallet to ${served.chainName}`,
      ),
    );
  }
}

function ctx(): PlanCtx {
  return { chain: state.chain!, signer: state.signer!, owner: state.account! };
}

async function run(build: () => Promise<Plan> | Plan): Promise<void> {
  if (state.busy) return;
  state.busy = true;
  document.body.dataset.busy = "true";
  try {
    const outcome = await reviewAndRun(byId("flow"), await build(), state.chain!.tokenInfo);
    if (outcome?.ok) {
      const m = /^application (\d+) created/.exec(outcome.message);
      if (m) state.selected = BigInt(m[1]!);
    }
    await loadApps();
  } catch (e) {
    notice(failureSentence(e, "preparing the request", state.chain!.tokenInfo).message, "error");
  } finally {
    state.busy = false;
    delete document.body.dataset.busy;
  }
}

/** Runs `build` unless reading the form fails: then its sentence goes into the form's error line. */
function fromForm(form: HTMLFormElement, build: () => Plan | Promise<Plan>): void {
  const err = form.querySelector(".form-error");
  try {
    const planned = build();
    if (err) err.textContent = "";
    void run(() => planned);
  } catch (e) {
    if (err) err.textContent = (e as Error).message;
  }
}

function policyFrom(form: HTMLFormElement): Policy {
  const chain = state.chain!;
  return {
    weightBps: parseShare(valueOf(form, "weight"), "weight"),
    migrateThresholdBps: parseShare(valueOf(form, "migrate"), "migrate threshold"),
    replicateThresholdBps: parseShare(valueOf(form, "replicate"), "replicate threshold"),
    terminateThresholdBps: parseShare(valueOf(form, "terminate"), "terminate threshold"),
    maxPricePerSecond: chain.parse(valueOf(form, "maxPrice") || "0", "max price"),
    maxRelayFee: chain.parse(valueOf(form, "maxRelayFee"), "max relay fee"),
    relayAllowancePerDay: chain.parse(valueOf(form, "relayAllowance"), "relay allowance"),
  };
}

function idFrom(text: string, name: string): bigint {
  if (!/^\d+$/.test(text) || BigInt(text) === 0n)
    throw new Error(`${name} must be a positive integer id, got "${text}"`);
  return BigInt(text);
}

function createForm(): HTMLElement {
  const chain = state.chain!;
  const defaults: Policy = {
    ...DEFAULT_POLICY_BPS,
    maxPricePerSecond: 0n,
    maxRelayFee: chain.parse(DEFAULT_RELAY_CAPS.maxRelayFee, "max relay fee"),
    relayAllowancePerDay: chain.parse(DEFAULT_RELAY_CAPS.relayAllowancePerDay, "relay allowance"),
  };
  const f = h(
    "form",
    { "data-form": "create", novalidate: true },
    h("h2", { id: "create-h" }, "Create an application"),
    field("Origin ICON key (address)", "controller", {
      placeholder: "0x…",
      hint: "The address of the key the origin ICON acts with: icon app key --config app.json --state <dir> makes it and prints it; once the application is created, icon app deploy --state <dir> --app <its number> starts the origin.",
    }),
    field(`Deposit (${chain.tokenInfo.symbol})`, "deposit", { placeholder: "e.g. 20", inputmode: "decimal" }),
    h("details", {}, h("summary", {}, "Policy (defaults as the CLI's)"), ...policyFields(chain, defaults)),
    h("p", { class: "form-error", role: "alert" }),
    h("button", { type: "submit", class: "primary" }, "Review creation"),
  );
  f.addEventListener("submit", (e) => {
    e.preventDefault();
    fromForm(f, () =>
      createAppPlan(ctx(), {
        controller: addressFrom(valueOf(f, "controller"), "origin ICON key"),
        deposit: chain.parse(valueOf(f, "deposit") || "0", "deposit"),
        policy: policyFrom(f),
      }),
    );
  });
  return f;
}

let chartView: { finalize(): void } | undefined;

/** The live parts of `app`'s view, read after the rest is shown: the money chart (its module, with Vega, loaded on
 * first use) and the timeline of its events. */
async function drawLive(app: AppView): Promise<void> {
  const chain = state.chain!;
  const chartEl = document.getElementById("money-chart");
  const timelineEl = document.getElementById("timeline");
  if (!chartEl || !timelineEl) return;
  try {
    const leases = await chain.leases(app.accounts.map((a) => a.id));
    const [points, entries] = await Promise.all([
      chain.moneyOverTime(app, leases, await chain.now()),
      appTimeline(chain, app, leases),
    ]);
    fill(timelineEl, timelineView(entries));
    timelineEl.dataset.ready = "true";
    const { renderMoneyChart } = await importRetrying("chart", () => import("./chart.ts"));
    chartView?.finalize();
    fill(chartEl);
    chartView = await renderMoneyChart(chartEl, points, chain.tokenInfo);
    chartEl.dataset.ready = "true";
  } catch (e) {
    // A read or the chart's chunk that failed (at the network: after READ_TRIES tries) is read again on the next
    // refresh, which draws these anew.
    const again = " (tried again on the next refresh)";
    fill(chartEl, h("p", { class: "empty" }, `No chart: ${(e as Error).message}${again}`));
    if (timelineEl.dataset.ready !== "true")
      fill(timelineEl, h("p", { class: "empty" }, `No timeline: ${(e as Error).message}${again}`));
  }
}

async function loadApps(): Promise<void> {
  const chain = state.chain!;
  const owner = state.account!;
  const el = byId("owner");
  document.body.dataset.loading = "true";
  try {
    state.apps = await chain.appsOf(owner);
    if (state.selected === undefined || !state.apps.includes(state.selected)) state.selected = state.apps.at(-1);
    const balance = await chain.balanceOf(owner);
    const list = h(
      "section",
      { "aria-labelledby": "apps-h", class: "apps" },
      h("h2", { id: "apps-h" }, "Your applications"),
      h(
        "p",
        { class: "muted" },
        `Wallet balance: `,
        h("span", { "data-field": "wallet-balance" }, chain.format(balance)),
      ),
      state.apps.length === 0
        ? h("p", { class: "empty" }, "None yet: create one.")
        : h(
            "ul",
            { class: "app-list" },
            ...state.apps.map((r) =>
              h(
                "li",
                {},
                h(
                  "button",
                  {
                    type: "button",
                    "aria-pressed": String(r === state.selected),
                    "data-app": String(r),
                    onclick: () => {
                      state.selected = r;
                      void loadApps();
                    },
                  },
                  `Application #${r}`,
                ),
              ),
            ),
          ),
    );
    const parts: Node[] = [
      h("div", { class: "top" }, list, h("section", { "aria-labelledby": "create-h", class: "create" }, createForm())),
    ];
    if (state.selected !== undefined) {
      const root = state.selected;
      const app = await chain.app(root);
      state.app = app;
      const [leases, requests, now, maxDepth] = await Promise.all([
        chain.leases(app.accounts.map((a) => a.id)),
        chain.fundingRequests(root),
        chain.now(),
        chain.maxDepth(),
      ]);
      parts.push(
        appView(chain, app, leases, requests, now, owner, {
          topUp: (f) =>
            fromForm(f, () => {
              const account = idFrom(valueOf(f, "account"), "account");
              return fundPlan(ctx(), account, chain.parse(valueOf(f, "amount"), "amount"), "a top-up");
            }),
          answer: (r) =>
            void run(() =>
              fundPlan(
                ctx(),
                r.account,
                r.amount - r.answered,
                `the answer to its funding request of block ${r.block}`,
              ),
            ),
          policy: (f) => fromForm(f, () => policyPlan(ctx(), app, policyFrom(f))),
          withdraw: (f) =>
            fromForm(f, () =>
              withdrawPlan(
                ctx(),
                root,
                chain.parse(valueOf(f, "amount"), "amount"),
                addressFrom(valueOf(f, "to"), "to address"),
              ),
            ),
          windDown: () => void run(() => windDownPlan(ctx(), root)),
        }),
        accountsSection(chain, app, owner, maxDepth, ctx, fromForm),
        iconsSection(root, owner, app.version, () => void run(() => grantPlan(ctx(), root, () => {}))),
      );
    }
    fill(el, ...parts);
    if (state.app && state.selected !== undefined) void drawLive(state.app);
  } catch (e) {
    notice(failureSentence(e, "reading your applications", chain.tokenInfo).message, "error");
  } finally {
    delete document.body.dataset.loading;
  }
}

async function start(): Promise<void> {
  try {
    state.served = await loadServed();
    state.chain = await ConsoleChain.open(state.served.deployment, state.served.rpcUrl);
  } catch (e) {
    notice((e as Error).message, "error");
    document.body.dataset.ready = "error";
    return;
  }
  renderNet();
  const legacy = legacyWallet();
  discoverWallets((w) => {
    // A wallet that announces itself replaces the legacy entry for the same provider.
    state.wallets = state.wallets.filter((x) => x.info.uuid !== "window.ethereum" || x.provider !== w.provider);
    state.wallets.push(w);
    if (!state.account) renderWallet();
  });
  if (legacy && !state.wallets.some((w) => w.provider === legacy.provider)) state.wallets.push(legacy);
  renderWallet();
  fill(
    byId("owner"),
    h(
      "p",
      { class: "hero" },
      "Connect your wallet to create, fund, steer and wind down your applications. The page never sees a key: your wallet signs.",
    ),
  );
  document.body.dataset.ready = String(Math.round(performance.now()));
}

void start();
