/**
 * Semantic names of the overlay (yard-node/overlay/names.ts): parsing, formatting, round trips (property tests),
 * rejection of every malformed name, and the namespace rules. Pure: no engine, no network.
 */
import { expect } from "chai";
import fc from "fast-check";
import { ConfigError, IconError } from "../../../protocol/errors.ts";
import {
  allowed,
  checkRules,
  formatName,
  isLabel,
  namespaceOf,
  parseName,
  parseServiceKey,
  tryParseName,
  type SemanticName,
} from "../../../yard-node/overlay/names.ts";
import type { ServiceName } from "../../../yard-node/overlay/types.ts";
import { appNamespace, appServiceName, namespaceProblem, namespaceRoot } from "../../../protocol/index.ts";
import { instanceProblem } from "../../../yard-node/overlay/owners.ts";

const CHARS = "abcdefghijklmnopqrstuvwxyz0123456789-".split("");
const ALNUM = CHARS.filter((c) => c !== "-");

/** DNS labels: 1-63 of [a-z0-9-], no dash first or last. */
const labelArb = fc
  .tuple(
    fc.constantFrom(...ALNUM),
    fc.array(fc.constantFrom(...CHARS), { maxLength: 61 }),
    fc.option(fc.constantFrom(...ALNUM), { nil: undefined }),
  )
  .map(([a, mid, z]) => (z === undefined ? a : a + mid.join("") + z));
const shortLabelArb = fc.oneof(
  labelArb,
  labelArb.map((l) => l.slice(0, 12).replace(/-+$/, "") || "a"),
);
const policyArb = fc
  .tuple(
    fc.constantFrom(..."abcdefghijklmnopqrstuvwxyz".split("")),
    fc.array(fc.constantFrom(...CHARS), { maxLength: 10 }),
  )
  .map(([a, rest]) => (a + rest.join("")).replace(/-+$/, ""))
  .filter((p) => p !== "none" && p !== "any");
const serviceArb: fc.Arbitrary<ServiceName> = fc.record({
  app: shortLabelArb,
  appns: shortLabelArb,
  service: shortLabelArb,
  servicens: shortLabelArb,
});
const idArb = fc.bigInt({ min: 0n, max: 10n ** 63n - 1n });
const nameArb: fc.Arbitrary<SemanticName> = fc
  .oneof(
    fc.record({ kind: fc.constant("service" as const), service: serviceArb, policy: policyArb }),
    fc.record({ kind: fc.constant("instance" as const), service: serviceArb, instanceId: idArb }),
  )
  .filter((n) => formatLength(n) <= 253);

function formatLength(n: SemanticName): number {
  const s = n.service;
  const tail = n.kind === "service" ? `any.${n.policy}` : `${n.instanceId}.none`;
  return `${s.app}.${s.appns}.${s.service}.${s.servicens}.${tail}`.length;
}

function errorOf(f: () => unknown): IconError {
  try {
    f();
  } catch (e) {
    expect(e).to.be.instanceOf(IconError);
    return e as IconError;
  }
  expect.fail("expected an IconError");
}

const SHOP: ServiceName = { app: "shop", appns: "acme", service: "cart", servicens: "prod" };

describe("overlay names", function () {
  describe("parseName", function () {
    it("parses a ServiceIP name (any.<policy>)", function () {
      expect(parseName("shop.acme.cart.prod.any.rr")).to.deep.equal({ kind: "service", service: SHOP, policy: "rr" });
    });

    it("parses an InstanceIP name (<id>.none)", function () {
      expect(parseName("shop.acme.cart.prod.42.none")).to.deep.equal({
        kind: "instance",
        service: SHOP,
        instanceId: 42n,
      });
      expect(parseName("shop.acme.cart.prod.0.none")).to.deep.include({ instanceId: 0n });
    });

    it("accepts the .icon suffix, a trailing dot and upper case", function () {
      const expected = parseName("shop.acme.cart.prod.any.least-conn");
      for (const text of [
        "shop.acme.cart.prod.any.least-conn.icon",
        "shop.acme.cart.prod.any.least-conn.",
        "shop.acme.cart.prod.any.least-conn.icon.",
        "Shop.ACME.cart.prod.ANY.Least-Conn.ICON",
      ]) {
        expect(parseName(text), text).to.deep.equal(expected);
      }
    });

    it("rejects the invalid combinations any.none and <id>.<policy> with a sentence", function () {
      const anyNone = errorOf(() => parseName("shop.acme.cart.prod.any.none"));
      expect(anyNone.code).to.equal("BAD_SEMANTIC_NAME");
      expect(anyNone.message).to.match(/any\.none/);
      const idPolicy = errorOf(() => parseName("shop.acme.cart.prod.7.rr"));
      expect(idPolicy.code).to.equal("BAD_SEMANTIC_NAME");
      expect(idPolicy.message).to.match(/7\.none/);
    });

    it("rejects malformed names, naming the part that is wrong", function () {
      const cases: [string, RegExp][] = [
        ["", /labels/],
        ["shop.acme.cart.any.rr", /5 labels/],
        ["shop.acme.cart.prod.any.rr.com", /labels/],
        ["shop.acme.cart.prod.any.rr.icon.icon", /labels/],
        ["shop..cart.prod.any.rr", /appns/],
        ["-shop.acme.cart.prod.any.rr", /app "-shop"/],
        ["shop.acme-.cart.prod.any.rr", /appns/],
        ["shop.acme.c_rt.prod.any.rr", /service/],
        ["shop.acme.cart.pr od.any.rr", /servicens/],
        [`shop.acme.${"c".repeat(64)}.prod.any.rr`, /service/],
        ["shop.acme.cart.prod.007.none", /leading zeros/],
        ["shop.acme.cart.prod.-1.none", /lease id/],
        ["shop.acme.cart.prod.x1.none", /lease id/],
        [`shop.acme.cart.prod.${"9".repeat(64)}.none`, /lease id/],
        ["shop.acme.cart.prod.any.1rr", /policy/],
        ["shop.acme.cart.prod.any.any", /policy/],
        ["shop.acme.cart.prod.any.r_r", /policy/],
        ["shop.acme.cart.prod.any.rr-", /policy/],
        ["shop.acme.cart.prod.any.rr..", /labels|app/],
        ["shop.acme.cart.prod.any.\u212Arr", /policy/],
        ["shop.acme.\u0130cart.prod.any.rr", /service/],
        [`${"a".repeat(63)}.${"b".repeat(63)}.${"c".repeat(63)}.${"d".repeat(63)}.any.rr`, /longer than 253/],
      ];
      for (const [text, why] of cases) {
        const e = errorOf(() => parseName(text));
        expect(e.code, text).to.equal("BAD_SEMANTIC_NAME");
        expect(e.message, text).to.match(why);
        expect(tryParseName(text), text).to.equal(undefined);
      }
    });

    it("never throws anything but BAD_SEMANTIC_NAME, whatever the input", function () {
      fc.assert(
        fc.property(
          fc.oneof(
            fc.string(),
            fc.string({ unit: "binary" }),
            fc.array(shortLabelArb).map((a) => a.join(".")),
          ),
          (s) => {
            try {
              parseName(s);
            } catch (e) {
              expect(e).to.be.instanceOf(IconError);
              expect((e as IconError).code).to.equal("BAD_SEMANTIC_NAME");
            }
          },
        ),
        { numRuns: 2000 },
      );
    });
  });

  describe("formatName", function () {
    it("writes the canonical text, with .icon on request", function () {
      expect(formatName({ kind: "service", service: SHOP, policy: "rr" })).to.equal("shop.acme.cart.prod.any.rr");
      expect(formatName({ kind: "instance", service: SHOP, instanceId: 42n }, { suffix: true })).to.equal(
        "shop.acme.cart.prod.42.none.icon",
      );
    });

    it("refuses what it could not parse back", function () {
      const bad: SemanticName[] = [
        { kind: "service", service: SHOP, policy: "none" },
        { kind: "service", service: SHOP, policy: "Rr" },
        { kind: "service", service: { ...SHOP, app: "Shop" }, policy: "rr" },
        { kind: "service", service: { ...SHOP, service: "" }, policy: "rr" },
        { kind: "instance", service: SHOP, instanceId: -1n },
        { kind: "instance", service: SHOP, instanceId: 10n ** 63n },
      ];
      for (const n of bad) expect(errorOf(() => formatName(n)).code).to.equal("BAD_SEMANTIC_NAME");
    });

    it("property: parse(format(n)) = n, with and without .icon", function () {
      fc.assert(
        fc.property(nameArb, fc.boolean(), (n, suffix) => {
          expect(parseName(formatName(n, { suffix }))).to.deep.equal(n);
        }),
        { numRuns: 2000 },
      );
    });

    it("property: format(parse(s)) = s for canonical names; suffix, dot and case are normalised away", function () {
      fc.assert(
        fc.property(nameArb, fc.boolean(), fc.boolean(), fc.boolean(), (n, suffix, dot, upper) => {
          const s = formatName(n);
          let variant = suffix ? `${s}.icon` : s;
          if (dot) variant += ".";
          if (upper) variant = variant.toUpperCase();
          expect(formatName(parseName(s))).to.equal(s);
          expect(formatName(parseName(variant))).to.equal(s);
        }),
        { numRuns: 2000 },
      );
    });

    it("property: a corrupted label makes the name invalid", function () {
      const badLabel = fc.oneof(
        fc.constant(""),
        fc.constant("-x"),
        fc.constant("x-"),
        fc.constant("a".repeat(64)),
        fc.constantFrom("_", " ", "é", "*", "a/b").map((c) => `a${c}b`),
      );
      fc.assert(
        fc.property(nameArb, fc.integer({ min: 0, max: 5 }), badLabel, (n, i, bad) => {
          const labels = formatName(n).split(".");
          // Labels 4 and 5 (instance, policy) also turn invalid when swapped for a valid label of the other kind.
          labels[i] = i === 5 && n.kind === "service" ? "none" : i === 4 && n.kind === "service" ? "12" : bad;
          const text = labels.join(".");
          expect(tryParseName(text), text).to.equal(undefined);
          expect(errorOf(() => parseName(text)).code).to.equal("BAD_SEMANTIC_NAME");
        }),
        { numRuns: 2000 },
      );
    });

    it("property: a name with a label too many or too few is invalid", function () {
      fc.assert(
        fc.property(
          nameArb,
          shortLabelArb.filter((l) => l !== "icon"),
          fc.boolean(),
          (n, extra, add) => {
            const labels = formatName(n).split(".");
            if (add) labels.push(extra);
            else labels.splice(0, 1);
            expect(tryParseName(labels.join("."))).to.equal(undefined);
          },
        ),
        { numRuns: 1000 },
      );
    });
  });

  describe("service keys and labels", function () {
    it("parses app.appns.service.servicens and gives the namespace", function () {
      expect(parseServiceKey("shop.acme.cart.prod")).to.deep.equal(SHOP);
      expect(namespaceOf(SHOP)).to.equal("shop.acme");
      expect(errorOf(() => parseServiceKey("shop.acme.cart")).code).to.equal("BAD_SERVICE_NAME");
      expect(errorOf(() => parseServiceKey("shop.acme.c_rt.prod")).message).to.match(/service "c_rt"/);
      expect(isLabel("a-b")).to.equal(true);
      expect(isLabel("A")).to.equal(false);
    });
  });

  describe("allowed (namespace rules of the target)", function () {
    const cart = SHOP;
    const web: ServiceName = { app: "shop", appns: "acme", service: "web", servicens: "prod" };
    const evil: ServiceName = { app: "mine", appns: "evil", service: "miner", servicens: "x" };
    const partner: ServiceName = { app: "pay", appns: "bank", service: "gateway", servicens: "eu" };

    it("allows the same namespace and nothing else by default", function () {
      expect(allowed(web, cart, [])).to.equal(true);
      expect(allowed(cart, cart, [])).to.equal(true);
      expect(allowed(evil, cart, [])).to.equal(false);
      expect(allowed(cart, evil, [])).to.equal(false);
      // Same app, other appns: another namespace.
      expect(allowed({ ...web, appns: "other" }, cart, [])).to.equal(false);
    });

    it("lets the target's rules admit other sources, with * for any label", function () {
      expect(allowed(partner, cart, ["pay.bank.*.*"])).to.equal(true);
      expect(allowed(partner, cart, ["pay.bank.gateway.*"])).to.equal(true);
      expect(allowed(partner, cart, ["pay.bank.gateway.us"])).to.equal(false);
      expect(allowed(partner, cart, ["pay.bank.other.*"])).to.equal(false);
      expect(allowed(evil, cart, ["pay.bank.*.*"])).to.equal(false);
      expect(allowed(evil, cart, ["pay.bank.*.*", "*.*.*.*"])).to.equal(true);
      expect(allowed(partner, cart, ["*.bank.*.eu"])).to.equal(true);
    });

    it("reads the rules as the target's: the source's rules do not matter", function () {
      // The rule list passed is the target's; a rule naming the target does not open the source's side.
      expect(allowed(cart, partner, ["pay.bank.*.*"])).to.equal(false);
      expect(allowed(cart, partner, ["shop.acme.*.*"])).to.equal(true);
    });

    it("rejects malformed rules", function () {
      for (const rule of ["pay.bank.*", "pay.bank.*.*.*", "pay.b_nk.*.*", "pay.bank.**.*", "", "pay.bank.*.*."]) {
        const e = errorOf(() => checkRules([rule]));
        expect(e, rule).to.be.instanceOf(ConfigError);
        expect(e.code).to.equal("BAD_NAMESPACE_RULE");
        expect(errorOf(() => allowed(evil, cart, [rule])).code).to.equal("BAD_NAMESPACE_RULE");
      }
      expect(() => checkRules(["*.*.*.*", "pay.bank.gateway.eu"])).not.to.throw();
    });
  });

  describe("namespaces bound to applications (protocol/lease/namespace.ts, overlay/owners.ts)", function () {
    it("appns is r<root>: a DNS label for every uint64 root, read back to the same root, never a lease id label", function () {
      fc.assert(
        fc.property(fc.bigInt({ min: 1n, max: 2n ** 64n - 1n }), (root) => {
          const ns = appNamespace(root);
          expect(isLabel(ns)).to.equal(true);
          expect(namespaceRoot(ns)).to.equal(root);
          expect(tryParseName(`a.${ns}.b.c.any.rr`)).to.not.equal(undefined);
          const key = appServiceName({ app: "a", service: "b", servicens: "c" }, root);
          expect(namespaceProblem(key, root)).to.equal(undefined);
          expect(namespaceProblem(key, root + 1n)).to.contain(`must be r${root + 1n}`);
        }),
      );
      for (const bad of ["r0", "r007", "acme", "r", "r1x", "R1"]) expect(namespaceRoot(bad), bad).to.equal(undefined);
      expect(() => appNamespace(0n)).to.throw(RangeError);
    });

    it("a name outside the application's namespace gets a sentence naming the one to use", function () {
      expect(namespaceProblem("shop.acme.web.prod", 7n)).to.equal(
        'service "shop.acme.web.prod" is not in the namespace of application 7: its namespace label (the second) must be r7, derived from the application\'s root account, e.g. shop.r7.web.prod',
      );
      expect(namespaceProblem("shop.web.prod", 7n)).to.contain("<app>.r7.<service>.<servicens>");
    });

    it("an announced instance is taken only for a lease of the service's app, hosted by the announcer, not ended", function () {
      const facts = { root: 7n, provider: "0xabc", end: 1000n };
      expect(instanceProblem("s.r7.w.p", 5n, facts, "0xABC", 900)).to.equal(undefined);
      expect(instanceProblem("s.r8.w.p", 5n, facts, "0xabc", 900)).to.match(/paid by application 7 .*must be r7/);
      expect(instanceProblem("s.r7.w.p", 5n, facts, "0xdef", 900)).to.match(/hosted by provider 0xabc, not by/);
      expect(instanceProblem("s.r7.w.p", 5n, facts, undefined, 900)).to.match(/not by the yard that names it/);
      expect(instanceProblem("s.r7.w.p", 5n, facts, "0xabc", 1059)).to.equal(undefined); // a minute's slack
      expect(instanceProblem("s.r7.w.p", 5n, facts, "0xabc", 1060)).to.equal("lease 5 ended at 1000");
      expect(instanceProblem("s.r7.w.p", 5n, null, "0xabc")).to.equal("lease 5 does not exist on chain");
      expect(instanceProblem("s.r7.w.p", 5n, undefined, "0xabc")).to.equal(
        "lease 5 cannot be verified on chain now (chain unreadable or read budget used)",
      );
    });
  });
});
