/**
 * The application's accounts, one panel each: open a child account with its controller (`icon budget account`),
 * allocate to the account from its parent (`icon budget allocate`), return from it to its parent (`icon budget
 * return`; a closed account still holding money gets only this form). A form is offered only where the contract lets
 * the connected address act (contracts/BudgetTree.sol: createAccount and allocate take the parent's controller or the
 * owner; returnToParent the child's controller, its parent's or the owner), else a sentence says why not. Typed input
 * is checked before the wallet is asked, with the CLI's sentences; an amount over the balance the page read is
 * refused with the chain's sentence.
 */
import { isAddress, getAddress } from "ethers";
import { contractRefusal } from "../../protocol/chain/errors.ts";
import type { AccountView, AppView, ConsoleChain } from "./chain.ts";
import { offersOn, same } from "./offers.ts";
import { field, h, valueOf } from "./dom.ts";
import { allocatePlan, createAccountPlan, returnPlan, type Plan, type PlanCtx } from "./plans.ts";

/** `text` as a checksummed address, or the CLI's sentence (`icon budget account`'s addressArg) when it is none. */
export function addressFrom(text: string, name: string): string {
  if (!isAddress(text)) throw new Error(`${name} "${text}" is not an address (0x followed by 40 hex digits)`);
  return getAddress(text);
}

/** How main.ts runs a plan built from a form (the form's error line gets a refusal's sentence). */
export type Submit = (form: HTMLFormElement, build: () => Plan) => void;

/** The market's refusal (protocol/chain/errors.ts: the CLI's sentence), given before the wallet is asked. */
function checkAmount(chain: ConsoleChain, action: string, from: AccountView, amount: bigint): void {
  if (amount === 0n) throw contractRefusal("BudgetZeroValue", ["amount"], action, chain.tokenInfo);
  if (amount > from.balance)
    throw contractRefusal("BudgetInsufficientBalance", [from.id, from.balance, amount], action, chain.tokenInfo);
}

/** The accounts section: per open account of `app` (and closed one holding money), what `me` may do on it. */
export function accountsSection(
  chain: ConsoleChain,
  app: AppView,
  me: string,
  maxDepth: number,
  ctx: () => PlanCtx,
  submit: Submit,
): HTMLElement {
  const byId = new Map(app.accounts.map((a) => [a.id, a]));
  const owner = same(me, app.owner);
  const who = owner ? "you own the application" : "";
  const err = (): HTMLElement => h("p", { class: "form-error", role: "alert" });
  const sym = chain.tokenInfo.symbol;
  const form = (name: string, build: (f: HTMLFormElement) => Plan, ...children: Array<Node | string>): HTMLElement => {
    const f = h("form", { "data-form": name, novalidate: true }, ...children, err());
    f.addEventListener("submit", (e) => {
      e.preventDefault();
      submit(f, () => build(f));
    });
    return f;
  };
  const notOffered = (name: string, why: string): HTMLElement =>
    h("p", { class: "muted", "data-not-offered": name }, why);

  const panel = (a: AccountView): HTMLElement => {
    const parent = a.id === app.root ? undefined : byId.get(a.parent);
    const parts: HTMLElement[] = [];
    const may = offersOn(app, me, maxDepth, a);
    // A closed account takes nothing and opens nothing: its panel (shown while it holds money) only hands it up.
    if (!a.closed)
      parts.push(
        may.open !== true
          ? notOffered("account", may.open)
          : form(
              "account",
              (f) => createAccountPlan(ctx(), a.id, addressFrom(valueOf(f, "controller"), "<controller>")),
              h("h4", {}, `Open an account under #${a.id}`),
              field("Controller (the key its ICON acts with)", "controller", {
                placeholder: "0x…",
                hint: "Checksummed or lower-case hex; the new account starts empty.",
              }),
              h("button", { type: "submit", class: "primary" }, "Review new account"),
            ),
      );
    if (parent && may.allocate !== undefined && !a.closed)
      parts.push(
        may.allocate !== true
          ? notOffered("allocate", may.allocate)
          : form(
              "allocate",
              (f) => {
                const amount = chain.parse(valueOf(f, "amount"), "amount");
                checkAmount(
                  chain,
                  `allocating ${chain.format(amount)} from account ${parent.id} to ${a.id}`,
                  parent,
                  amount,
                );
                return allocatePlan(ctx(), parent.id, a.id, amount);
              },
              h("h4", {}, `Allocate from #${parent.id} to #${a.id}`),
              h(
                "p",
                { class: "muted" },
                `Account #${parent.id} holds `,
                h("span", { "data-field": "parent-balance" }, chain.format(parent.balance)),
              ),
              field(`Amount (${sym})`, "amount", { placeholder: "e.g. 2", inputmode: "decimal" }),
              h("button", { type: "submit", class: "primary" }, "Review allocation"),
            ),
      );
    if (parent && may.return !== undefined)
      parts.push(
        may.return !== true
          ? notOffered("return", may.return)
          : form(
              "return",
              (f) => {
                const amount = chain.parse(valueOf(f, "amount"), "amount");
                checkAmount(chain, `returning ${chain.format(amount)} from account ${a.id}`, a, amount);
                return returnPlan(ctx(), a.id, parent.id, amount);
              },
              h("h4", {}, `Return from #${a.id} to #${parent.id}`),
              h(
                "p",
                { class: "muted" },
                `Account #${a.id} holds `,
                h("span", { "data-field": "balance" }, chain.format(a.balance)),
              ),
              field(`Amount (${sym})`, "amount", { placeholder: "e.g. 1", inputmode: "decimal" }),
              h("button", { type: "submit", class: "primary" }, "Review return"),
            ),
      );
    const key = same(a.controller, me) ? "your key" : `key ${a.controller}`;
    return h(
      "details",
      { class: "account", "data-manage": String(a.id) },
      h(
        "summary",
        {},
        `#${a.id}${a.id === app.root ? " (origin)" : ` under #${a.parent}`}${a.closed ? " · closed" : ""} · ${key} · ${chain.format(a.balance)}`,
      ),
      h("div", { class: "forms" }, ...parts),
    );
  };

  // Every open account, and every closed one still holding money (a refund or penalty credited after it closed).
  const shown = app.accounts
    .filter((a) => !a.closed || a.balance > 0n)
    .sort((p, q) => p.depth - q.depth || Number(p.id - q.id));
  return h(
    "section",
    { "aria-labelledby": "accounts-h", class: "accounts" },
    h("h3", { id: "accounts-h" }, "Accounts: open, allocate, return"),
    h(
      "p",
      { class: "muted" },
      `Money moves inside the application only. ${who ? `As ${who}, you may act on every account of its tree; ` : ""}an account's ICON key may act on its own account and its children.`,
    ),
    ...shown.map(panel),
  );
}
