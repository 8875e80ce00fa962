/**
 * The negotiation state machine of /icon/lease/1.0.0, pure and shared by both sides: each side feeds it
 * every message it sends and receives, with the sender's role, and refuses what the machine refuses.
 *
 *   idle ──rfq──▶ rfq ──quote──▶ quoted ──accept──▶ accepted ──opened──▶ opened ──deploy──▶ deploying
 *                               │  ▲                                                           │
 *                          counter quote (≤ maxCounterRounds)                         running / failed
 *                               ▼  │                                                           ▼
 *                             countered                                              running | failed
 *   reject (either side, any open phase) ──▶ closed;  terminate (tenant, once opened) ──▶ closed
 *   capacityQuery / capacityAnswer are allowed in idle and keep it idle.
 *   idle ──redeploy──▶ deploying: a lease the tenant holds already, deployed again (running / failed as above).
 */
import { leaseLimits } from "./limits.ts";
import type { LeaseMessage } from "./messages.ts";

export type Role = "tenant" | "provider";
export type Phase =
  "idle" | "rfq" | "quoted" | "countered" | "accepted" | "opened" | "deploying" | "running" | "failed" | "closed";

/** The state of one negotiation. */
export interface NegotiationState {
  phase: Phase;
  /** Counter-offers made so far. */
  rounds: number;
}

export type Transition = { ok: true; state: NegotiationState } | { ok: false; reason: string; tooManyRounds?: boolean };

export const initialState: NegotiationState = { phase: "idle", rounds: 0 };

type Rule = { from: Phase[]; sender: Role; to: Phase | ((s: NegotiationState, m: LeaseMessage) => Transition) };

const OPEN: Phase[] = ["idle", "rfq", "quoted", "countered", "accepted", "opened", "deploying", "running", "failed"];

const RULES: Record<LeaseMessage["type"], Rule[]> = {
  capacityQuery: [{ from: ["idle"], sender: "tenant", to: "idle" }],
  capacityAnswer: [{ from: ["idle"], sender: "provider", to: "idle" }],
  rfq: [{ from: ["idle"], sender: "tenant", to: "rfq" }],
  quote: [
    {
      from: ["rfq", "countered"],
      sender: "provider",
      to: (s, m) =>
        m.type === "quote" && m.round === s.rounds
          ? { ok: true, state: { ...s, phase: "quoted" } }
          : { ok: false, reason: `a quote for round ${s.rounds} was expected` },
    },
  ],
  counter: [
    {
      from: ["quoted"],
      sender: "tenant",
      to: (s) =>
        s.rounds < leaseLimits.maxCounterRounds
          ? { ok: true, state: { phase: "countered", rounds: s.rounds + 1 } }
          : {
              ok: false,
              reason: `at most ${leaseLimits.maxCounterRounds} counter-offers per negotiation`,
              tooManyRounds: true,
            },
    },
  ],
  accept: [{ from: ["quoted"], sender: "tenant", to: "accepted" }],
  opened: [{ from: ["accepted"], sender: "provider", to: "opened" }],
  deploy: [{ from: ["opened"], sender: "tenant", to: "deploying" }],
  // A lease held already (its own negotiation long over): deploy it again, on the holder's access signature.
  redeploy: [{ from: ["idle"], sender: "tenant", to: "deploying" }],
  running: [{ from: ["deploying"], sender: "provider", to: "running" }],
  failed: [{ from: ["deploying"], sender: "provider", to: "failed" }],
  terminate: [{ from: ["opened", "deploying", "running", "failed"], sender: "tenant", to: "closed" }],
  reject: [
    { from: OPEN, sender: "tenant", to: "closed" },
    { from: OPEN, sender: "provider", to: "closed" },
  ],
};

/** Applies message `m` sent by `sender` to `state`; pure. */
export function transition(state: NegotiationState, sender: Role, m: LeaseMessage): Transition {
  const rules = RULES[m.type];
  const senders = new Set(rules.map((r) => r.sender));
  if (!senders.has(sender)) return { ok: false, reason: `a ${sender} never sends ${m.type}` };
  const rule = rules.find((r) => r.sender === sender && r.from.includes(state.phase));
  if (!rule) return { ok: false, reason: `${m.type} is not allowed in phase ${state.phase}` };
  return typeof rule.to === "function" ? rule.to(state, m) : { ok: true, state: { ...state, phase: rule.to } };
}

/** Message types `sender` may send in `state` (for tests and documentation). */
export function allowedMessages(state: NegotiationState, sender: Role): LeaseMessage["type"][] {
  return (Object.keys(RULES) as LeaseMessage["type"][]).filter((t) =>
    RULES[t].some(
      (r) =>
        r.sender === sender &&
        r.from.includes(state.phase) &&
        (t !== "counter" || state.rounds < leaseLimits.maxCounterRounds),
    ),
  );
}
