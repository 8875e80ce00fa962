/**
 * Runs a plan (plans.ts) in the page: first shows every request in words, asks the wallet only once the owner
 * continues, then shows each step as waiting, pending (the transaction's hash), confirmed (its block) or failed —
 * a refusal as the sentence the CLI prints (protocol/chain/errors.ts), a wallet's "no" (4001) as such.
 */
import { isError } from "ethers";
import { toChainError } from "../../protocol/chain/errors.ts";
import type { TokenInfo } from "../../protocol/units.ts";
import { fill, h } from "./dom.ts";
import type { Plan } from "./plans.ts";
import { walletErrorCode } from "./wallet.ts";

export type Outcome = { ok: true; message: string } | { ok: false; declined: boolean; message: string };

/** The sentence for a failed step: the wallet's refusal, or the CLI's sentence for the chain's. */
export function failureSentence(e: unknown, action: string, token: TokenInfo): { declined: boolean; message: string } {
  if (walletErrorCode(e) === 4001 || isError(e, "ACTION_REJECTED"))
    return { declined: true, message: `You declined ${action} in your wallet: nothing was signed or sent for it.` };
  return { declined: false, message: toChainError(e, action, token).message };
}

/**
 * Shows `plan` in `panel` for review; resolves null if the owner cancels, else the outcome once every step
 * confirmed or one failed (the steps after a failed one are not asked).
 */
export function reviewAndRun(panel: HTMLElement, plan: Plan, token: TokenInfo): Promise<Outcome | null> {
  return new Promise((resolve) => {
    const statuses = plan.steps.map(() => h("p", { class: "step-status" }, "Not asked yet"));
    const outcome = h("p", { class: "outcome", role: "alert" });
    const go = h("button", { type: "button", class: "primary", "data-action": "confirm" }, "Continue in wallet");
    const cancel = h("button", { type: "button", "data-action": "cancel" }, "Cancel");
    const close = (o: Outcome | null): void => {
      go.hidden = true;
      cancel.textContent = "Close";
      cancel.onclick = () => {
        panel.hidden = true;
        fill(panel);
      };
      resolve(o);
    };
    cancel.onclick = () => {
      panel.hidden = true;
      fill(panel);
      resolve(null);
    };
    go.onclick = async () => {
      go.disabled = true;
      cancel.disabled = true;
      for (const [i, step] of plan.steps.entries()) {
        const status = statuses[i]!;
        status.dataset.state = "waiting";
        status.textContent = `Waiting for your wallet: it asks you to ${step.kind === "signature" ? "sign" : "send"} this.`;
        try {
          const receipt = await step.run((hash) => {
            status.dataset.state = "pending";
            status.textContent = `Pending: transaction ${hash} sent, waiting for a block.`;
          });
          status.dataset.state = "confirmed";
          status.textContent =
            typeof receipt === "string" ? receipt : receipt ? `Confirmed in block ${receipt.blockNumber}.` : "Signed.";
        } catch (e) {
          console.error(e);
          const f = failureSentence(e, step.action, token);
          status.dataset.state = f.declined ? "declined" : "failed";
          status.textContent = f.declined ? "Declined in your wallet." : "Failed.";
          const earlier = i > 0 ? ` The ${i} step(s) before it stand.` : "";
          outcome.className = "outcome fail";
          outcome.textContent = f.message + earlier;
          for (const s of statuses.slice(i + 1)) s.textContent = "Not asked.";
          cancel.disabled = false;
          close({ ok: false, declined: f.declined, message: f.message });
          return;
        }
      }
      outcome.className = "outcome ok";
      outcome.textContent = `Done: ${plan.done()}.`;
      cancel.disabled = false;
      close({ ok: true, message: plan.done() });
    };
    fill(
      panel,
      h("h2", { id: "flow-h" }, plan.title),
      h(
        "p",
        {},
        `Your wallet will be asked for ${plan.steps.length} request(s), one after another. What each one does:`,
      ),
      h(
        "ol",
        { class: "steps" },
        ...plan.steps.map((s, i) =>
          h(
            "li",
            {},
            h("span", { class: `kind ${s.kind}` }, s.kind === "signature" ? "Signature" : "Transaction"),
            h("p", { class: "words" }, s.words),
            statuses[i]!,
          ),
        ),
      ),
      h("div", { class: "actions" }, go, cancel),
      outcome,
    );
    panel.hidden = false;
    panel.scrollIntoView({ block: "start" });
    go.focus();
  });
}
