/**
 * The /icon/relay/1.0.0 codec (protocol/relay/relay.ts): every message survives encode → decode, and every frame a
 * stranger can send either decodes to a valid message or is refused as RELAY_BAD_FRAME — never another exception.
 */
import { expect } from "chai";
import fc from "fast-check";
import { getAddress, hexlify } from "ethers";
import {
  RelayError,
  RelayErrorCode,
  decodeRelayFrame,
  encodeRelayFrame,
  relayLimits,
  type RelayMessage,
} from "../../../protocol/relay/relay.ts";
import { RelayEnvelope } from "../../../protocol/schema/generated/relay.js";

const ZERO = "0x0000000000000000000000000000000000000000";
const addr = fc.uint8Array({ minLength: 20, maxLength: 20 }).map((b) => getAddress(hexlify(b)));
const uint = (bits: number) => fc.bigInt({ min: 0n, max: (1n << BigInt(bits)) - 1n });
const u64 = uint(64);
const hex = (min: number, max: number) => fc.uint8Array({ minLength: min, maxLength: max }).map((b) => hexlify(b));

const message: fc.Arbitrary<RelayMessage> = fc.oneof(
  fc.constant<RelayMessage>({ type: "termsRequest" }),
  fc
    .record({ relayer: addr, fee: uint(96), chainId: u64, market: addr })
    .map((t) => ({ type: "terms", ...t }) as const),
  fc
    .record({
      signer: addr,
      account: fc.bigInt({ min: 1n, max: (1n << 64n) - 1n }),
      data: hex(4, relayLimits.maxDataBytes),
      fee: uint(96),
      relayer: fc.oneof(addr, fc.constant(ZERO)),
      nonce: uint(256),
      deadline: uint(40),
      signature: hex(65, 65),
    })
    .map(({ signature, ...intent }) => ({ type: "intent", intent, signature }) as const),
  fc.record({ txHash: hex(32, 32), block: u64 }).map((r) => ({ type: "relayed", ...r }) as const),
  fc
    .record({
      code: fc.constantFrom(
        ...(Object.values(RelayErrorCode).filter((v) => typeof v === "string") as RelayErrorCode[]),
      ),
      message: fc.string({ maxLength: 512 }),
      contractError: fc.string({ maxLength: 64 }),
    })
    .map((e) => ({ type: "error", ...e }) as const),
);

describe("relay wire (/icon/relay/1.0.0)", () => {
  it("every message survives encode → decode unchanged", () => {
    fc.assert(
      fc.property(message, (m) => {
        expect(decodeRelayFrame(encodeRelayFrame(m))).to.deep.equal(m);
      }),
      { numRuns: 2000 },
    );
  });

  it("any bytes decode to a valid message or are refused as RELAY_BAD_FRAME, nothing else", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: relayLimits.maxFrameBytes + 64 }), (b) => {
        try {
          const m = decodeRelayFrame(b);
          expect(encodeRelayFrame(m)).to.be.instanceOf(Uint8Array);
        } catch (e) {
          expect(e).to.be.instanceOf(RelayError);
          expect((e as RelayError).code).to.equal("RELAY_BAD_FRAME");
        }
      }),
      { numRuns: 5000 },
    );
  });

  const intent = {
    signer: new Uint8Array(20).fill(1),
    account: 7n,
    data: new Uint8Array(36).fill(2),
    fee: new Uint8Array([1, 0]),
    relayer: new Uint8Array(0),
    nonce: new Uint8Array(32).fill(3),
    deadline: 1_900_000_000n,
    signature: new Uint8Array(65).fill(4),
  };
  const refused = (frame: Uint8Array, words: RegExp) => {
    expect(() => decodeRelayFrame(frame))
      .to.throw(RelayError, words)
      .with.property("code", "RELAY_BAD_FRAME");
  };

  it("refuses an intent whose fields are out of range, naming the field", () => {
    const ok = decodeRelayFrame(RelayEnvelope.encode({ intent }));
    expect(ok).to.include({ type: "intent", signature: hexlify(intent.signature) });
    expect(ok.type === "intent" && ok.intent.relayer).to.equal(ZERO);
    expect(ok.type === "intent" && ok.intent.fee).to.equal(256n);
    refused(RelayEnvelope.encode({ intent: { ...intent, signer: new Uint8Array(19) } }), /intent.signer/);
    refused(RelayEnvelope.encode({ intent: { ...intent, relayer: new Uint8Array(21) } }), /intent.relayer/);
    refused(RelayEnvelope.encode({ intent: { ...intent, fee: new Uint8Array(13).fill(1) } }), /intent.fee/);
    refused(RelayEnvelope.encode({ intent: { ...intent, nonce: new Uint8Array(33).fill(1) } }), /intent.nonce/);
    refused(RelayEnvelope.encode({ intent: { ...intent, account: 0n } }), /intent.account/);
    refused(RelayEnvelope.encode({ intent: { ...intent, signature: new Uint8Array(64) } }), /intent.signature/);
    refused(RelayEnvelope.encode({ intent: { ...intent, data: new Uint8Array(3) } }), /intent.data/);
    refused(
      RelayEnvelope.encode({ intent: { ...intent, data: new Uint8Array(relayLimits.maxDataBytes + 1) } }),
      /large|intent.data/,
    );
    refused(RelayEnvelope.encode({ intent: { ...intent, deadline: 1n << 40n } }), /intent.deadline/);
    refused(RelayEnvelope.encode({}), /no message/);
  });
});
