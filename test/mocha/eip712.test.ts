import { expect } from "chai";
import {
  HDNodeWallet,
  TypedDataEncoder,
  keccak256,
  concat,
  id,
  toUtf8Bytes,
  verifyTypedData as ethersVerify,
} from "ethers";
import { hashTypedData, verifyTypedData, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { network, deployMarket, listProvider, createApp, makeOffer, openWith, type Market } from "../helpers/market.ts";
import { ACCEPTANCE_TYPES, OFFER_TYPES, marketDomain, type Offer } from "../../protocol/eip712.ts";

const conn = await network.create();
const { loadFixture } = conn.networkHelpers;

const OFFER_TYPE =
  "Offer(address provider,uint64 account,address token,uint96 pricePerSecond,uint32 cpuMillis,uint32 memoryMiB,uint40 start,uint40 end,bytes32 specHash,uint256 nonce,uint256 deadline)";
const ACCEPTANCE_TYPE = "Acceptance(Offer offer)" + OFFER_TYPE;

/** Keys of the default Hardhat accounts (public test mnemonic): #1 is the fixture's provider, #3 its ICON key. */
const MNEMONIC = "test test test test test test test test test test test junk";
const keyOf = (i: number) => HDNodeWallet.fromPhrase(MNEMONIC, undefined, `m/44'/60'/0'/0/${i}`).privateKey as Hex;
const PROVIDER_KEY = keyOf(1);
const ICON_KEY = keyOf(3);

async function ready() {
  const m = await deployMarket(conn);
  await listProvider(m, m.provider);
  const acct = await createApp(m);
  return { m, acct };
}

function viemDomain(m: Market) {
  return {
    name: m.domain.name,
    version: m.domain.version,
    chainId: m.domain.chainId,
    verifyingContract: m.domain.verifyingContract as Hex,
  };
}

/** The offer as viem types it: addresses and hashes as Hex, uint40 as number (viem maps uintN <= 48 to number). */
function viemOffer(o: Offer) {
  return {
    ...o,
    provider: o.provider as Hex,
    token: o.token as Hex,
    specHash: o.specHash as Hex,
    start: Number(o.start),
    end: Number(o.end),
  };
}

/** An offer with every field at an awkward value, to catch encoding differences. */
async function extremeOffer(m: Market): Promise<Offer> {
  return {
    provider: m.provider.address,
    account: 2n ** 64n - 1n,
    token: await m.token.getAddress(),
    pricePerSecond: 2n ** 96n - 1n,
    cpuMillis: 2 ** 32 - 1,
    memoryMiB: 1,
    start: 2n ** 40n - 2n,
    end: 2n ** 40n - 1n,
    specHash: "0x" + "ff".repeat(32),
    nonce: 2n ** 256n - 1n,
    deadline: 0n,
  };
}

describe("EIP-712 types shared with TypeScript", () => {
  it("OFFER_TYPES encode to the contract's OFFER_TYPEHASH", async () => {
    const { m } = await loadFixture(ready);
    const encoded = TypedDataEncoder.from(OFFER_TYPES).encodeType("Offer");
    expect(encoded).to.equal(OFFER_TYPE);
    expect(keccak256(toUtf8Bytes(encoded))).to.equal(await m.market.OFFER_TYPEHASH());
  });

  it("ACCEPTANCE_TYPES encode to the contract's ACCEPTANCE_TYPEHASH with the offer nested", async () => {
    const { m } = await loadFixture(ready);
    const enc = TypedDataEncoder.from(ACCEPTANCE_TYPES);
    expect(enc.primaryType).to.equal("Acceptance");
    expect(enc.encodeType("Acceptance")).to.equal(ACCEPTANCE_TYPE);
    expect(id(enc.encodeType("Acceptance"))).to.equal(await m.market.ACCEPTANCE_TYPEHASH());
  });

  it("uses the documented domain: ICON Market, version 1, this chain, this contract (EIP-5267)", async () => {
    const { m } = await loadFixture(ready);
    const d = await m.market.eip712Domain();
    expect(d.name).to.equal("ICON Market");
    expect(d.version).to.equal("1");
    expect(d.chainId).to.equal(m.chainId);
    expect(d.verifyingContract).to.equal(await m.market.getAddress());
    expect(marketDomain(d.chainId, d.verifyingContract)).to.deep.equal(m.domain);
  });

  for (const kind of ["typical", "extreme"] as const) {
    it(`hashOffer equals ethers' TypedDataEncoder.hash and viem's hashTypedData (${kind} values)`, async () => {
      const { m, acct } = await loadFixture(ready);
      const offer = kind === "typical" ? await makeOffer(m, acct) : await extremeOffer(m);
      const onChain = await m.market.hashOffer(offer);
      expect(onChain).to.equal(TypedDataEncoder.hash(m.domain, OFFER_TYPES, offer));
      const manual = keccak256(
        concat([
          "0x1901",
          TypedDataEncoder.hashDomain(m.domain),
          TypedDataEncoder.hashStruct("Offer", OFFER_TYPES, offer),
        ]),
      );
      expect(onChain).to.equal(manual);
      expect(onChain).to.equal(
        hashTypedData({ domain: viemDomain(m), types: OFFER_TYPES, primaryType: "Offer", message: viemOffer(offer) }),
      );
    });

    it(`hashAcceptance equals ethers' TypedDataEncoder.hash and viem's hashTypedData (${kind} values)`, async () => {
      const { m, acct } = await loadFixture(ready);
      const offer = kind === "typical" ? await makeOffer(m, acct) : await extremeOffer(m);
      const onChain = await m.market.hashAcceptance(offer);
      expect(onChain).to.equal(TypedDataEncoder.hash(m.domain, ACCEPTANCE_TYPES, { offer }));
      expect(onChain).to.equal(
        hashTypedData({
          domain: viemDomain(m),
          types: ACCEPTANCE_TYPES,
          primaryType: "Acceptance",
          message: { offer: viemOffer(offer) },
        }),
      );
      expect(onChain).to.not.equal(await m.market.hashOffer(offer));
    });
  }

  it("a signature made with ethers verifies with viem's verifyTypedData, and not for a changed offer", async () => {
    const { m, acct } = await loadFixture(ready);
    const offer = await makeOffer(m, acct);
    const sig = (await m.provider.signTypedData(m.domain, OFFER_TYPES, offer)) as Hex;
    const args = {
      address: m.provider.address as Hex,
      domain: viemDomain(m),
      types: OFFER_TYPES,
      primaryType: "Offer" as const,
    };
    expect(await verifyTypedData({ ...args, message: viemOffer(offer), signature: sig })).to.equal(true);
    expect(
      await verifyTypedData({
        ...args,
        message: viemOffer({ ...offer, pricePerSecond: offer.pricePerSecond + 1n }),
        signature: sig,
      }),
    ).to.equal(false);
    expect(
      await verifyTypedData({
        ...args,
        domain: { ...viemDomain(m), chainId: 1n },
        message: viemOffer(offer),
        signature: sig,
      }),
    ).to.equal(false);
  });

  it("a signature made with viem verifies with ethers, and the contract accepts viem-signed offers and acceptances", async () => {
    const { m, acct } = await loadFixture(ready);
    const provider = privateKeyToAccount(PROVIDER_KEY);
    const icon = privateKeyToAccount(ICON_KEY);
    expect(provider.address).to.equal(m.provider.address);
    expect(icon.address).to.equal(m.icon.address);
    const offer = await makeOffer(m, acct);
    const providerSig = await provider.signTypedData({
      domain: viemDomain(m),
      types: OFFER_TYPES,
      primaryType: "Offer",
      message: viemOffer(offer),
    });
    const tenantSig = await icon.signTypedData({
      domain: viemDomain(m),
      types: ACCEPTANCE_TYPES,
      primaryType: "Acceptance",
      message: { offer: viemOffer(offer) },
    });
    expect(ethersVerify(m.domain, OFFER_TYPES, offer, providerSig)).to.equal(m.provider.address);
    expect(ethersVerify(m.domain, ACCEPTANCE_TYPES, { offer }, tenantSig)).to.equal(m.icon.address);
    // The same bytes the ethers signer would produce (RFC 6979 signatures are deterministic).
    expect(providerSig).to.equal(await m.provider.signTypedData(m.domain, OFFER_TYPES, offer));
    await expect(openWith(m, offer, providerSig, tenantSig)).to.emit(m.market, "LeaseOpened");
  });
});
