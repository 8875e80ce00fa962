/**
 * The negotiation state machine of /icon/lease/1.0.0 checked against an expected table written out by hand
 * from the diagram in protocol/lease/negotiation.ts (not derived from its RULES), exhaustively for every
 * phase × rounds × sender × message type, plus property tests over random message sequences.
 */
import { expect } from "chai";
import fc from "fast-check";
import { leaseLimits } from "../../../protocol/lease/limits.ts";
import { LEASE_MESSAGE_TYPES, RejectCode, type LeaseMessage } from "../../../protocol/lease/messages.ts";
import {
  allowedMessages,
  initialState,
  transition,
  type NegotiationState,
  type Phase,
  type Role,
  type Transition,
} from "../../../protocol/lease/negotiation.ts";

type MessageType = LeaseMessage["type"];

const MAX = leaseLimits.maxCounterRounds;
const PHASES: readonly Phase[] = [
  "idle",
  "rfq",
  "quoted",
  "countered",
  "accepted",
  "opened",
  "deploying",
  "running",
  "failed",
  "closed",
];
const OPEN_PHASES: readonly Phase[] = PHASES.filter((p) => p !== "closed");
const ROLES: readonly Role[] = ["tenant", "provider"];
const TYPES: readonly MessageType[] = LEASE_MESSAGE_TYPES;

/**
 * Every legal move, by hand from the diagram: phase → sender → message type → next phase. Anything not
 * listed is refused. Senders follow lease.proto (capacityQuery tenant → yard, capacityAnswer yard → tenant).
 * `counter` is legal only below maxCounterRounds and `quote` only with round === rounds (checked separately).
 */
const EXPECTED: Record<Phase, Record<Role, Partial<Record<MessageType, Phase>>>> = {
  idle: {
    tenant: { capacityQuery: "idle", rfq: "rfq", redeploy: "deploying", reject: "closed" },
    provider: { capacityAnswer: "idle", reject: "closed" },
  },
  rfq: {
    tenant: { reject: "closed" },
    provider: { quote: "quoted", reject: "closed" },
  },
  quoted: {
    tenant: { counter: "countered", accept: "accepted", reject: "closed" },
    provider: { reject: "closed" },
  },
  countered: {
    tenant: { reject: "closed" },
    provider: { quote: "quoted", reject: "closed" },
  },
  accepted: {
    tenant: { reject: "closed" },
    provider: { opened: "opened", reject: "closed" },
  },
  opened: {
    tenant: { deploy: "deploying", terminate: "closed", reject: "closed" },
    provider: { reject: "closed" },
  },
  deploying: {
    tenant: { terminate: "closed", reject: "closed" },
    provider: { running: "running", failed: "failed", reject: "closed" },
  },
  running: {
    tenant: { terminate: "closed", reject: "closed" },
    provider: { reject: "closed" },
  },
  failed: {
    tenant: { terminate: "closed", reject: "closed" },
    provider: { reject: "closed" },
  },
  closed: { tenant: {}, provider: {} },
};

/** Who sends each message type (lease.proto comments). */
const SENDER: Record<MessageType, Role[]> = {
  capacityQuery: ["tenant"],
  capacityAnswer: ["provider"],
  rfq: ["tenant"],
  quote: ["provider"],
  counter: ["tenant"],
  accept: ["tenant"],
  reject: ["tenant", "provider"],
  opened: ["provider"],
  deploy: ["tenant"],
  redeploy: ["tenant"],
  running: ["provider"],
  failed: ["provider"],
  terminate: ["tenant"],
};

const ADDR = "0x00000000000000000000000000000000000000A1";
const HASH = "0x" + "11".repeat(32);
const SIG = "0x" + "22".repeat(65);

/** A valid message of each type; only `type` and, for quote, `round` matter to the state machine. */
function sample(type: MessageType, round = 0): LeaseMessage {
  switch (type) {
    case "capacityQuery":
      return { type };
    case "capacityAnswer":
      return {
        type,
        answer: {
          cpuMillisFree: 4000,
          memoryMiBFree: 8192,
          cpuPricePerSecond: 10n,
          memoryPricePerSecond: 5n,
          region: "eu-west",
          binding: { operator: ADDR, chainId: 31337n, registry: ADDR, signature: SIG },
        },
      };
    case "rfq":
      return {
        type,
        rfq: {
          cpuMillis: 500,
          memoryMiB: 256,
          slotSeconds: 3600,
          earliestStart: 0n,
          maxPricePerSecond: 1000n,
          imageRef: "icon/echo:1",
          imageDigest: HASH,
          tenantAccount: 1n,
        },
      };
    case "quote":
      return {
        type,
        round,
        providerSignature: SIG,
        offer: {
          provider: ADDR,
          account: 1n,
          token: ADDR,
          pricePerSecond: 100n,
          cpuMillis: 500,
          memoryMiB: 256,
          start: 1_000n,
          end: 4_600n,
          specHash: HASH,
          nonce: 7n,
          deadline: 2_000n,
        },
      };
    case "counter":
      return { type, pricePerSecond: 90n };
    case "accept":
      return { type, tenantSignature: SIG };
    case "reject":
      return { type, code: RejectCode.PRICE_BELOW_FLOOR, message: "no" };
    case "opened":
      return { type, leaseId: 1n, txHash: HASH };
    case "deploy":
      return {
        type,
        spec: { leaseId: 1n, imageRef: "icon/echo:1", imageDigest: HASH, command: [], env: [], ports: [8080] },
      };
    case "redeploy":
      return {
        type,
        access: { leaseId: 1n, expires: 2n, signature: SIG },
        spec: { leaseId: 1n, imageRef: "icon/echo:1", imageDigest: HASH, command: [], env: [], ports: [8080] },
      };
    case "running":
      return { type, leaseId: 1n, endpoint: "127.0.0.1:9000" };
    case "failed":
      return { type, leaseId: 1n, message: "image pull failed" };
    case "terminate":
      return { type, leaseId: 1n };
  }
}

const frozen = (phase: Phase, rounds: number): NegotiationState => Object.freeze({ phase, rounds });

function expectOk(t: Transition, phase: Phase, rounds: number): void {
  expect(t, JSON.stringify(t)).to.deep.equal({ ok: true, state: { phase, rounds } });
}

function expectRefused(t: Transition, tooManyRounds = false): void {
  expect(t.ok, JSON.stringify(t)).to.equal(false);
  if (t.ok) return;
  expect(t.reason).to.be.a("string").and.not.equal("");
  expect(t.tooManyRounds === true, "tooManyRounds flag").to.equal(tooManyRounds);
}

/** Feeds `steps` from the initial state, asserting each is accepted; returns the final state. */
function walk(steps: [Role, LeaseMessage][]): NegotiationState {
  let s = initialState;
  for (const [role, m] of steps) {
    const t = transition(s, role, m);
    expect(t.ok, `${role} ${m.type} in ${s.phase}: ${JSON.stringify(t)}`).to.equal(true);
    if (t.ok) s = t.state;
  }
  return s;
}

/** A shortest legal path from idle into every phase (by hand, from the diagram). */
const PATH_TO: Record<Phase, [Role, LeaseMessage][]> = (() => {
  const toQuoted: [Role, LeaseMessage][] = [
    ["tenant", sample("rfq")],
    ["provider", sample("quote", 0)],
  ];
  const toOpened: [Role, LeaseMessage][] = [...toQuoted, ["tenant", sample("accept")], ["provider", sample("opened")]];
  return {
    idle: [],
    rfq: [["tenant", sample("rfq")]],
    quoted: toQuoted,
    countered: [...toQuoted, ["tenant", sample("counter")]],
    accepted: [...toQuoted, ["tenant", sample("accept")]],
    opened: toOpened,
    deploying: [...toOpened, ["tenant", sample("deploy")]],
    running: [...toOpened, ["tenant", sample("deploy")], ["provider", sample("running")]],
    failed: [...toOpened, ["tenant", sample("deploy")], ["provider", sample("failed")]],
    closed: [["tenant", sample("reject")]],
  };
})();

/**
 * One step of a random sequence: either any (sender, type) at all, a plausible one (the type's own sender),
 * or a move picked from the expected table for the current phase (so sequences get deep; reject is picked
 * only with `withReject` so they do not close at once). A quote either carries the current round or a
 * random one. Sequences also contain counter + quote pairs, so the counter limit is reached.
 */
interface Step {
  sender: Role;
  type: MessageType;
  pick: { move: number; withReject: boolean } | null;
  round: number | "current";
}

const roundArb = fc.oneof(
  { weight: 3, arbitrary: fc.constant("current" as const) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: MAX + 1 }) },
);
const anyStep: fc.Arbitrary<Step> = fc.record({
  sender: fc.constantFrom(...ROLES),
  type: fc.constantFrom(...TYPES),
  pick: fc.constant(null),
  round: roundArb,
});
const plausibleStep: fc.Arbitrary<Step> = fc
  .record({ type: fc.constantFrom(...TYPES), i: fc.nat({ max: 1 }), round: roundArb })
  .map(({ type, i, round }) => ({ sender: SENDER[type][i % SENDER[type].length], type, pick: null, round }));
const tableStep: fc.Arbitrary<Step> = fc.record({
  sender: fc.constantFrom(...ROLES),
  type: fc.constantFrom(...TYPES),
  // 60 is a multiple of every pool size (1..6), so `move % pool.length` is uniform.
  pick: fc.record({ move: fc.nat({ max: 59 }), withReject: fc.nat({ max: 9 }).map((n) => n === 0) }),
  round: roundArb,
});
const counterPair: fc.Arbitrary<Step[]> = fc.constant([
  { sender: "tenant", type: "counter", pick: null, round: "current" },
  { sender: "provider", type: "quote", pick: null, round: "current" },
]);
const stepsArb: fc.Arbitrary<Step[]> = fc
  .array(
    fc.oneof(
      { weight: 2, arbitrary: anyStep.map((x) => [x]) },
      { weight: 2, arbitrary: plausibleStep.map((x) => [x]) },
      { weight: 6, arbitrary: tableStep.map((x) => [x]) },
      { weight: 3, arbitrary: counterPair },
    ),
    { maxLength: 40, size: "max" },
  )
  .map((chunks) => chunks.flat());

/** The sender and message of `step` in state `s` (a table pick is resolved against the current phase). */
function resolve(step: Step, s: NegotiationState): { sender: Role; m: LeaseMessage } {
  const round = step.round === "current" ? s.rounds : step.round;
  if (step.pick !== null) {
    const moves = ROLES.flatMap((sender) =>
      (Object.keys(EXPECTED[s.phase][sender]) as MessageType[]).map((type) => ({ sender, type })),
    );
    const forward = moves.filter((mv) => mv.type !== "reject");
    // Closed has no moves: keep the random (sender, type), so messages after close are still tried.
    const pool = step.pick.withReject || forward.length === 0 ? moves : forward;
    if (pool.length > 0) {
      const mv = pool[step.pick.move % pool.length];
      return { sender: mv.sender, m: sample(mv.type, round) };
    }
  }
  return { sender: step.sender, m: sample(step.type, round) };
}

describe("lease negotiation state machine", () => {
  it("starts idle with no counter-offers and an initial state that is not mutated by transitions", () => {
    expect(initialState).to.deep.equal({ phase: "idle", rounds: 0 });
    transition(initialState, "tenant", sample("rfq"));
    transition(initialState, "tenant", sample("capacityQuery"));
    expect(initialState).to.deep.equal({ phase: "idle", rounds: 0 });
  });

  it("the expected table is consistent with who sends what (self-check of the test's own table)", () => {
    for (const phase of PHASES)
      for (const role of ROLES)
        for (const type of Object.keys(EXPECTED[phase][role]) as MessageType[])
          expect(SENDER[type], `${role} ${type} in ${phase}`).to.include(role);
  });

  describe("every phase × rounds × sender × message type agrees with the table from the diagram", () => {
    for (const phase of PHASES) {
      for (const role of ROLES) {
        for (const type of TYPES) {
          const to = EXPECTED[phase][role][type];
          const what =
            to === undefined
              ? "is refused"
              : type === "counter"
                ? `goes to ${to} below ${MAX} rounds and is refused with tooManyRounds at ${MAX}`
                : type === "quote"
                  ? `goes to ${to} only with round === rounds`
                  : `goes to ${to}`;
          it(`${phase}: ${type} from the ${role} ${what}`, () => {
            for (let rounds = 0; rounds <= MAX; rounds++) {
              const s = frozen(phase, rounds);
              if (to === undefined) {
                if (type === "quote") {
                  for (const r of [0, rounds, rounds + 1, MAX + 1]) expectRefused(transition(s, role, sample(type, r)));
                } else {
                  expectRefused(transition(s, role, sample(type, rounds)));
                }
              } else if (type === "quote") {
                expectOk(transition(s, role, sample(type, rounds)), to, rounds);
                for (const wrong of [rounds + 1, rounds - 1, MAX + 1, 2 ** 32 - 1].filter(
                  (r) => r >= 0 && r !== rounds,
                ))
                  expectRefused(transition(s, role, sample(type, wrong)));
              } else if (type === "counter") {
                if (rounds < MAX) expectOk(transition(s, role, sample(type)), to, rounds + 1);
                else expectRefused(transition(s, role, sample(type)), true);
              } else {
                expectOk(transition(s, role, sample(type, rounds)), to, rounds);
              }
            }
          });
        }
      }
    }
  });

  describe("quote rounds", () => {
    it("accepts only round 0 for the first quote", () => {
      const s = walk(PATH_TO.rfq);
      expectOk(transition(s, "provider", sample("quote", 0)), "quoted", 0);
      expectRefused(transition(s, "provider", sample("quote", 1)));
      expectRefused(transition(s, "provider", sample("quote", MAX)));
    });

    it("numbers each re-quote with the count of counter-offers so far, refusing stale and future rounds", () => {
      let s = walk(PATH_TO.quoted);
      for (let n = 1; n <= MAX; n++) {
        const c = transition(s, "tenant", sample("counter"));
        expectOk(c, "countered", n);
        if (c.ok) s = c.state;
        expectRefused(transition(s, "provider", sample("quote", n - 1)));
        expectRefused(transition(s, "provider", sample("quote", n + 1)));
        expectRefused(transition(s, "provider", sample("quote", 0)));
        const t = transition(s, "provider", sample("quote", n));
        expectOk(t, "quoted", n);
        if (t.ok) s = t.state;
      }
    });

    it("refuses a second quote without a counter-offer in between", () => {
      const s = walk(PATH_TO.quoted);
      expectRefused(transition(s, "provider", sample("quote", 0)));
      expectRefused(transition(s, "provider", sample("quote", 1)));
    });
  });

  describe("counter-offer limit", () => {
    it(`allows ${MAX} counter-offers and refuses one more with tooManyRounds, leaving accept and reject open`, () => {
      const steps: [Role, LeaseMessage][] = [...PATH_TO.quoted];
      for (let n = 1; n <= MAX; n++) steps.push(["tenant", sample("counter")], ["provider", sample("quote", n)]);
      const s = walk(steps);
      expect(s).to.deep.equal({ phase: "quoted", rounds: MAX });
      const t = transition(s, "tenant", sample("counter"));
      expectRefused(t, true);
      expect(s).to.deep.equal({ phase: "quoted", rounds: MAX });
      expectOk(transition(s, "tenant", sample("accept")), "accepted", MAX);
      expectOk(transition(s, "tenant", sample("reject")), "closed", MAX);
      expectOk(transition(s, "provider", sample("reject")), "closed", MAX);
    });

    it("keeps the round count through accept, opened and deploy", () => {
      const s = walk([
        ...PATH_TO.quoted,
        ["tenant", sample("counter")],
        ["provider", sample("quote", 1)],
        ["tenant", sample("accept")],
        ["provider", sample("opened")],
        ["tenant", sample("deploy")],
      ]);
      expect(s).to.deep.equal({ phase: "deploying", rounds: 1 });
    });

    it("refuses a counter-offer from the provider and a counter-offer outside quoted", () => {
      expectRefused(transition(walk(PATH_TO.quoted), "provider", sample("counter")));
      for (const phase of PHASES.filter((p) => p !== "quoted"))
        expectRefused(transition(frozen(phase, 0), "tenant", sample("counter")));
    });
  });

  describe("reject and terminate", () => {
    for (const phase of OPEN_PHASES) {
      for (const role of ROLES) {
        it(`a reject from the ${role} closes a negotiation that reached ${phase}`, () => {
          const s = walk(PATH_TO[phase]);
          expect(s.phase).to.equal(phase);
          const t = transition(s, role, sample("reject"));
          expectOk(t, "closed", s.rounds);
        });
      }
    }

    it("lets only the tenant terminate, and only once the lease is opened", () => {
      for (const phase of OPEN_PHASES) {
        const s = walk(PATH_TO[phase]);
        const once = ["opened", "deploying", "running", "failed"].includes(phase);
        if (once) expectOk(transition(s, "tenant", sample("terminate")), "closed", 0);
        else expectRefused(transition(s, "tenant", sample("terminate")));
        expectRefused(transition(s, "provider", sample("terminate")));
      }
    });
  });

  describe("closed", () => {
    it("refuses every message from either side once closed, whatever the round", () => {
      for (let rounds = 0; rounds <= MAX + 1; rounds++) {
        const s = frozen("closed", rounds);
        for (const role of ROLES)
          for (const type of TYPES)
            for (let r = 0; r <= MAX + 1; r++) expectRefused(transition(s, role, sample(type, r)));
        for (const role of ROLES) expect(allowedMessages(s, role)).to.deep.equal([]);
      }
    });

    it("closes after a reject and after a terminate, and a second reject is refused", () => {
      const afterReject = walk([...PATH_TO.quoted, ["provider", sample("reject")]]);
      const afterTerminate = walk([...PATH_TO.running, ["tenant", sample("terminate")]]);
      for (const s of [afterReject, afterTerminate]) {
        expect(s.phase).to.equal("closed");
        expectRefused(transition(s, "tenant", sample("reject")));
        expectRefused(transition(s, "provider", sample("reject")));
      }
    });
  });

  describe("allowedMessages", () => {
    /** Types `role` may send in `s` per transition(), with quote at the expected round. */
    const okTypes = (s: NegotiationState, role: Role): MessageType[] =>
      TYPES.filter((type) => transition(s, role, sample(type, s.rounds)).ok);

    it("lists, for every phase, sender and round, exactly the types of the expected table and of transition()", () => {
      for (const phase of PHASES)
        for (let rounds = 0; rounds <= MAX; rounds++)
          for (const role of ROLES) {
            const s = frozen(phase, rounds);
            const expected = (Object.keys(EXPECTED[phase][role]) as MessageType[]).filter(
              (t) => t !== "counter" || rounds < MAX,
            );
            const what = `${role} in ${phase} after ${rounds} counters`;
            expect(new Set(allowedMessages(s, role)), what).to.deep.equal(new Set(expected));
            expect(new Set(allowedMessages(s, role)), what).to.deep.equal(new Set(okTypes(s, role)));
          }
    });

    it("does not list counter once maxCounterRounds counter-offers were made (transition refuses it)", () => {
      const s = frozen("quoted", MAX);
      expectRefused(transition(s, "tenant", sample("counter")), true);
      expect(allowedMessages(s, "tenant")).to.not.include("counter");
      expect(new Set(allowedMessages(s, "tenant"))).to.deep.equal(new Set(okTypes(s, "tenant")));
    });

    it("property: on states reached by random sequences, lists exactly the types transition() accepts", () => {
      fc.assert(
        fc.property(stepsArb, (steps) => {
          let s = initialState;
          const check = () => {
            for (const role of ROLES)
              expect(new Set(allowedMessages(s, role)), `${role} in ${JSON.stringify(s)}`).to.deep.equal(
                new Set(okTypes(s, role)),
              );
          };
          check();
          for (const step of steps) {
            const { sender, m } = resolve(step, s);
            const t = transition(s, sender, m);
            if (t.ok) s = t.state;
            check();
          }
        }),
        { numRuns: 1000 },
      );
    });
  });

  describe("properties of random (sender, message) sequences", () => {
    it("never reaches a phase outside the diagram and never exceeds maxCounterRounds", () => {
      let limitRuns = 0;
      fc.assert(
        fc.property(stepsArb, (steps) => {
          let s = initialState;
          let limitHit = false;
          for (const step of steps) {
            const { sender, m } = resolve(step, s);
            const t = transition(s, sender, m);
            if (!t.ok) {
              if (t.tooManyRounds) limitHit = true;
              continue;
            }
            expect(PHASES, JSON.stringify(t.state)).to.include(t.state.phase);
            expect(Object.keys(t.state).sort()).to.deep.equal(["phase", "rounds"]);
            expect(Number.isInteger(t.state.rounds) && t.state.rounds >= 0).to.equal(true);
            expect(t.state.rounds).to.be.at.most(MAX);
            s = t.state;
          }
          if (limitHit) limitRuns++;
        }),
        { numRuns: 2000 },
      );
      expect(limitRuns, "runs that hit the counter limit (the property must not be vacuous)").to.be.above(20);
    });

    it("agrees step by step with the expected table", () => {
      fc.assert(
        fc.property(stepsArb, (steps) => {
          let s = initialState;
          for (const step of steps) {
            const { sender, m } = resolve(step, s);
            const t = transition(s, sender, m);
            const to = EXPECTED[s.phase][sender][m.type];
            const legal =
              to !== undefined &&
              (m.type !== "quote" || m.round === s.rounds) &&
              (m.type !== "counter" || s.rounds < MAX);
            expect(t.ok, `${sender} ${m.type} in ${JSON.stringify(s)}`).to.equal(legal);
            if (t.ok) {
              expect(t.state.phase).to.equal(to);
              s = t.state;
            }
          }
        }),
        { numRuns: 2000 },
      );
    });

    it("once closed stays closed: every later message is refused", () => {
      let closedRuns = 0;
      fc.assert(
        fc.property(stepsArb, (steps) => {
          let s = initialState;
          let closed = false;
          for (const step of steps) {
            const { sender, m } = resolve(step, s);
            const t = transition(s, sender, m);
            if (closed) expect(t.ok, `${sender} ${m.type} after close`).to.equal(false);
            if (t.ok) s = t.state;
            if (s.phase === "closed") closed = true;
            if (closed) expect(s.phase).to.equal("closed");
          }
          if (closed) closedRuns++;
        }),
        { numRuns: 2000 },
      );
      expect(closedRuns, "runs that closed (the property must not be vacuous)").to.be.above(200);
    });

    it("every accepted sequence that reaches opened contains rfq, quote, accept, opened in that order", () => {
      let openedRuns = 0;
      fc.assert(
        fc.property(stepsArb, (steps) => {
          let s = initialState;
          const accepted: MessageType[] = [];
          let reached = false;
          for (const step of steps) {
            const { sender, m } = resolve(step, s);
            const t = transition(s, sender, m);
            if (!t.ok) continue;
            s = t.state;
            accepted.push(m.type);
            if (s.phase === "opened" && !reached) {
              reached = true;
              const order = ["rfq", "quote", "accept", "opened"];
              let i = 0;
              for (const type of accepted) if (type === order[i]) i++;
              expect(i, `accepted: ${accepted.join(", ")}`).to.equal(order.length);
              expect(accepted.at(-1)).to.equal("opened");
              expect(accepted.indexOf("rfq")).to.be.below(accepted.indexOf("quote"));
              expect(accepted.lastIndexOf("quote")).to.be.below(accepted.indexOf("accept"));
            }
          }
          if (reached) openedRuns++;
        }),
        { numRuns: 2000 },
      );
      expect(openedRuns, "runs that reached opened (the property must not be vacuous)").to.be.above(100);
    });
  });
});
