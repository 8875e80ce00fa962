/**
 * protocol/'s shared vocabulary: the JSON codec for bigint-carrying state (yard database, agent files), the logger's
 * components, and error codes checked by guard instead of cast.
 */
import { expect } from "chai";
import fc from "fast-check";
import { fromJson, toJson } from "../../../protocol/json.ts";
import { createLogger, silentLogger } from "../../../protocol/log.ts";
import { ChainError, ConfigError, IconError, isIconError } from "../../../protocol/errors.ts";

describe("protocol vocabulary", () => {
  describe("JSON codec (protocol/json.ts)", () => {
    it("round-trips bigints, strings that look like tagged bigints, and nested values exactly", () => {
      const value = { amount: 5n, neg: -12345678901234567890n, name: "n:5", s: "s:x", list: ["", 0n, 1.5, null, true] };
      expect(fromJson(toJson(value))).to.deep.equal(value);
      expect(fromJson(toJson(value, 2))).to.deep.equal(value);
      fc.assert(
        fc.property(fc.jsonValue(), fc.array(fc.bigInt()), (v, bigs) => {
          // JSON itself writes -0 as 0: the expectation is the value as JSON carries it, with the bigints as they are.
          expect(fromJson(toJson({ v, bigs }))).to.deep.equal({ v: JSON.parse(JSON.stringify(v)) as unknown, bigs });
        }),
        { numRuns: 300 },
      );
    });

    it("reads what earlier versions wrote: the yard's s:-tagged strings, the agent's untagged n:<digits> bigints", () => {
      expect(fromJson<{ a: string }>('{"a":"s:http://x"}')).to.deep.equal({ a: "http://x" });
      expect(fromJson<{ a: string; b: bigint; c: string }>('{"a":"http://x","b":"n:7","c":"n:seven"}')).to.deep.equal({
        a: "http://x",
        b: 7n,
        c: "n:seven",
      });
    });

    it("keeps a tenant's string that merely looks like a bigint a string, and writes other strings as they are", () => {
      expect(toJson({ name: "n:5", tag: "s:x", host: "shop.r3.web.prod" })).to.equal(
        '{"name":"s:n:5","tag":"s:s:x","host":"shop.r3.web.prod"}',
      );
      expect(fromJson(toJson({ tag: "s:x" }))).to.deep.equal({ tag: "s:x" });
      expect(fromJson<{ name: unknown }>(toJson({ name: "n:5" })).name).to.equal("n:5");
    });
  });

  describe("logger (protocol/log.ts)", () => {
    it("tags a child's lines with its component, a grandchild's with both names, and keeps the base fields", () => {
      const lines: Record<string, unknown>[] = [];
      const log = createLogger({ level: "info", base: { yard: "y1" }, write: (l) => lines.push(JSON.parse(l)) });
      log.info("root");
      log.child("tunnels").warn("peer refused", { peer: "p", amount: 3n });
      log.child("overlay").child("dns").info("ready");
      log.child("tunnels").debug("below the level");
      expect(lines.map((l) => [l.msg, l.component, l.yard])).to.deep.equal([
        ["root", undefined, "y1"],
        ["peer refused", "tunnels", "y1"],
        ["ready", "overlay.dns", "y1"],
      ]);
      expect(lines[1]!.amount).to.equal("3");
      expect(silentLogger.child("x")).to.equal(silentLogger);
    });
  });

  describe("error codes (protocol/errors.ts)", () => {
    it("guards by one code or a list of codes, for every subclass, and refuses what is not a project error", () => {
      const down = new ChainError("CHAIN_UNREACHABLE", "the chain is down");
      expect(isIconError(down)).to.equal(true);
      expect(isIconError(down, "CHAIN_UNREACHABLE")).to.equal(true);
      expect(isIconError(down, "CHAIN_TIMEOUT")).to.equal(false);
      expect(isIconError(down, ["CHAIN_TIMEOUT", "CHAIN_UNREACHABLE"])).to.equal(true);
      expect(isIconError(new ConfigError("BAD_CONFIG", "x"), ["CHAIN_TIMEOUT"])).to.equal(false);
      expect(
        isIconError(new IconError("BudgetAccountClosed", "a contract's custom error"), "BudgetAccountClosed"),
      ).to.equal(true);
      const lookalike = Object.assign(new Error("plain"), { code: "CHAIN_UNREACHABLE" });
      expect(isIconError(lookalike, "CHAIN_UNREACHABLE")).to.equal(false);
      expect(isIconError(undefined)).to.equal(false);
    });
  });
});
