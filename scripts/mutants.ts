/**
 * Mutation check of the contract tests: deliberate bugs, applied to the contracts one at a time (each a text
 * substitution that must match exactly once), each run against the test files that should catch it. A mutant is
 * caught when its tests fail. The source is restored after each mutant, also on failure, Ctrl-C or SIGTERM.
 *
 * Usage: npm run test:mutants [-- <name substring>...]     (last line: one JSON object)
 * Not part of `npm test`: it takes minutes (one Hardhat run per mutant).
 */
import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";

interface Mutant {
  name: string;
  file: string;
  find: string;
  replace: string;
  /** `mocha` or `solidity`, then the test files. */
  run: "mocha" | "solidity";
  tests: string[];
}

const HARDENING = ["test/mocha/hardening.test.ts"];
const RELAY = ["test/mocha/intents.test.ts", "test/mocha/hosted-key.test.ts"];
const MUTANTS: Mutant[] = [
  {
    name: "allocate from a closed parent (closed-parent check removed)",
    file: "contracts/BudgetTree.sol",
    find: "pushes money down again.\n        if (p.closed) revert BudgetAccountClosed(parent);\n",
    replace: "pushes money down again.\n",
    run: "mocha",
    tests: HARDENING,
  },
  {
    name: "collateral floored instead of rounded up",
    file: "contracts/LeaseEscrow.sol",
    find: "(deposit * _collateralBps + _BPS - 1) / _BPS",
    replace: "(deposit * _collateralBps) / _BPS",
    run: "mocha",
    tests: HARDENING,
  },
  {
    name: "fund credits the requested amount, not what arrived",
    file: "contracts/BudgetTree.sol",
    find: "_credit(a, received);",
    replace: "_credit(a, amount);",
    run: "mocha",
    tests: HARDENING,
  },
  {
    name: "stake credits the requested amount, not what arrived",
    file: "contracts/IEPRegistry.sol",
    find: "(uint256(s.bonded) + unbonding + received).toUint120();",
    replace: "(uint256(s.bonded) + unbonding + amount).toUint120();",
    run: "mocha",
    tests: HARDENING,
  },
  {
    name: "missed-start penalty credited as slashed, not as arrived",
    file: "contracts/LeaseEscrow.sol",
    find: "penalty = _token.balanceOf(address(this)) - before;",
    replace: "penalty = amount;",
    run: "mocha",
    tests: HARDENING,
  },
  {
    name: "offer nonce check dropped (replay)",
    file: "contracts/LeaseEscrow.sol",
    find: "        if (bitmap & bit != 0) revert LeaseNonceUsed(provider, nonce);\n",
    replace: "",
    run: "mocha",
    tests: ["test/mocha/attacks.test.ts"],
  },
  {
    name: "arbiter slash cap comparison swapped (> to >=)",
    file: "contracts/IEPRegistry.sol",
    find: "if (amount > cap) revert RegistrySlashAboveCap",
    replace: "if (amount >= cap) revert RegistrySlashAboveCap",
    run: "mocha",
    tests: ["test/mocha/registry.test.ts"],
  },
  {
    name: "claim without the provider check (access check skipped)",
    file: "contracts/LeaseEscrow.sol",
    find: "        _checkProvider(id, ls);\n        _checkState(id, ls, _bit(LeaseState.Running) | _bit(LeaseState.Ended));\n",
    replace: "        _checkState(id, ls, _bit(LeaseState.Running) | _bit(LeaseState.Ended));\n",
    run: "mocha",
    tests: ["test/mocha/attacks.test.ts"],
  },
  {
    name: "claimMany without the provider check (another provider's lease paid to the caller)",
    file: "contracts/LeaseEscrow.sol",
    find: "            _checkProvider(id, ls);\n",
    replace: "",
    run: "mocha",
    tests: ["test/mocha/claim-many.test.ts"],
  },
  {
    name: "claimMany books the last lease's amount, not the sum",
    file: "contracts/LeaseEscrow.sol",
    find: "            total += amount;",
    replace: "            total = amount;",
    run: "mocha",
    tests: ["test/mocha/claim-many.test.ts"],
  },
  {
    name: "unbonding shorter than slash delay + reaction window accepted",
    file: "contracts/IEPRegistry.sol",
    find: "if (p.unbondingPeriod < uint256(p.slashDelay) + SLASH_REACTION_WINDOW) {",
    replace: "if (p.unbondingPeriod < uint256(p.slashDelay)) {",
    run: "mocha",
    tests: HARDENING,
  },
  {
    name: "terminate depends on the registry (release not caught)",
    file: "contracts/LeaseEscrow.sol",
    find: "        _releaseCollateral(id, ls, false);\n        emit LeaseTerminated",
    replace: "        _releaseCollateral(id, ls, true);\n        emit LeaseTerminated",
    run: "mocha",
    tests: HARDENING,
  },
  {
    name: "budget withdrawal to the market's own address allowed",
    file: "contracts/BudgetTree.sol",
    find: "        if (_isHouse(to)) revert BudgetInvalidRecipient(to);\n",
    replace: "",
    run: "mocha",
    tests: HARDENING,
  },
  {
    name: "re-entrancy guard dropped from the budget withdrawal",
    file: "contracts/BudgetTree.sol",
    find: "function withdraw(AccountId root, uint256 amount, address to) external nonReentrant {",
    replace: "function withdraw(AccountId root, uint256 amount, address to) external {",
    run: "mocha",
    tests: ["test/mocha/attacks.test.ts"],
  },
  {
    name: "settlement depends on the registry (caught by the fault invariants)",
    file: "contracts/LeaseEscrow.sol",
    find: "if (flags & _RELEASED == 0) _releaseCollateral(id, ls, false);",
    replace: "if (flags & _RELEASED == 0) _releaseCollateral(id, ls, true);",
    run: "solidity",
    tests: ["test/solidity/MarketInvariants.t.sol"],
  },
  {
    name: "relay fee cap dropped (a relayer takes more than maxRelayFee)",
    file: "contracts/IntentRelay.sol",
    find: "            if (fee > p.maxRelayFee) revert RelayFeeTooHigh(fee, p.maxRelayFee);\n",
    replace: "",
    run: "mocha",
    tests: RELAY,
  },
  {
    name: "relay daily allowance never reached",
    file: "contracts/IntentRelay.sol",
    find: "if (spent + fee > p.relayAllowancePerDay) {",
    replace: "if (spent + fee > type(uint256).max - 1) {",
    run: "mocha",
    tests: RELAY,
  },
  {
    name: "relay signer need not control the fee account",
    file: "contracts/IntentRelay.sol",
    find: "        if (i.signer != a.controller && i.signer != app.owner) revert RelayUnauthorized(i.account, i.signer);\n",
    replace: "",
    run: "mocha",
    tests: RELAY,
  },
  {
    name: "relay nonce not used (replay)",
    file: "contracts/IntentRelay.sol",
    find: "        _useNonce(i.signer, i.nonce);\n",
    replace: "",
    run: "mocha",
    tests: RELAY,
  },
  {
    name: "relayed call runs as the relayer, not the signer",
    file: "contracts/IntentRelay.sol",
    find: "_relayedSigner = i.signer;",
    replace: "_relayedSigner = msg.sender;",
    run: "mocha",
    tests: RELAY,
  },
  {
    name: "relay allowance kept per account (children multiply it)",
    file: "contracts/IntentRelay.sol",
    find: "RelaySpend storage s = _relaySpend[root];",
    replace: "root = i.account; RelaySpend storage s = _relaySpend[root];",
    run: "mocha",
    tests: RELAY,
  },
  {
    name: "relay fee always before the call (an account below one fee cannot terminate)",
    file: "contracts/IntentRelay.sol",
    find: "bool payAfter = fee > a.balance;",
    replace: "bool payAfter = false;",
    run: "mocha",
    tests: RELAY,
  },
];

const root = path.resolve(import.meta.dirname, "..");
const only = process.argv.slice(2);
const selected = only.length ? MUTANTS.filter((m) => only.some((o) => m.name.includes(o))) : MUTANTS;

/** Original text of the file currently mutated, restored by every exit path. */
let pending: { file: string; text: string } | null = null;
function restore(): void {
  if (!pending) return;
  writeFileSync(pending.file, pending.text);
  pending = null;
}
let child: ReturnType<typeof spawn> | null = null;
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.on(sig, () => {
    if (child?.pid) killGroup(child.pid);
    restore();
    console.error(`\n${sig}: source restored`);
    process.exit(130);
  });
}
process.on("exit", restore);

function killGroup(pid: number): void {
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    // already gone
  }
}

/**
 * Runs the tests; resolves with the number of failing tests (0 = the mutant survived). A failing Hardhat mocha
 * run can stay alive after its summary, so the summary line decides and the run is then ended.
 */
function runTests(m: Mutant): Promise<{ failing: number; output: string }> {
  return new Promise((resolve) => {
    const bin = path.join(root, "node_modules/.bin/hardhat");
    const p = spawn(bin, ["test", m.run, ...m.tests], { cwd: root, detached: true, env: process.env });
    child = p;
    let output = "";
    let done = false;
    const finish = (failing: number) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (p.pid) killGroup(p.pid);
      child = null;
      resolve({ failing, output });
    };
    const timer = setTimeout(() => finish(-1), 20 * 60_000);
    const onData = (b: Buffer) => {
      output += b.toString();
      const failing = /(\d+) failing/.exec(output);
      if (failing) setTimeout(() => finish(Number(failing[1])), 2_000); // let the report print
    };
    p.stdout.on("data", onData);
    p.stderr.on("data", onData);
    p.on("exit", (code) => {
      const failing = /(\d+) failing/.exec(output);
      finish(failing ? Number(failing[1]) : code === 0 ? 0 : -1);
    });
  });
}

const results: Array<{ name: string; caught: boolean; failing: number; seconds: number }> = [];
for (const m of selected) {
  const file = path.join(root, m.file);
  const text = readFileSync(file, "utf8");
  const count = text.split(m.find).length - 1;
  if (count !== 1) {
    console.error(`mutant "${m.name}" matches ${count} times in ${m.file} (must be exactly once): fix the script`);
    process.exit(2);
  }
  pending = { file, text };
  writeFileSync(file, text.replace(m.find, m.replace));
  const t0 = Date.now();
  let r: { failing: number; output: string };
  try {
    r = await runTests(m);
  } finally {
    restore();
  }
  const seconds = Math.round((Date.now() - t0) / 1000);
  if (r.failing < 0 && !/failing|passing/.test(r.output)) {
    console.error(r.output.slice(-2_000));
    console.error(`mutant "${m.name}": the tests did not run (compile error or timeout); fix the script`);
    process.exit(2);
  }
  const caught = r.failing !== 0;
  results.push({ name: m.name, caught, failing: r.failing, seconds });
  console.error(`${caught ? "caught  " : "SURVIVED"}  ${m.name}  (${m.run}: ${r.failing} failing, ${seconds} s)`);
}

const caught = results.filter((r) => r.caught).length;
console.error(`score: ${caught}/${results.length} mutants caught`);
console.log(
  JSON.stringify({
    mutants: results.length,
    caught,
    score: results.length ? caught / results.length : 0,
    survived: results.filter((r) => !r.caught).map((r) => r.name),
    seconds: results.reduce((s, r) => s + r.seconds, 0),
  }),
);
if (caught !== results.length) process.exitCode = 1;
