import { expect } from "chai";
import { network, deployMarket, listProvider, createApp, makeOffer, openLease } from "../helpers/market.ts";

const conn = await network.create();

describe("fixture", () => {
  it("opens a lease end to end", async () => {
    const m = await deployMarket(conn);
    await listProvider(m, m.provider);
    const acct = await createApp(m);
    const offer = await makeOffer(m, acct);
    const id = await openLease(m, offer);
    expect(id).to.equal(1n);
    expect(await m.market.state(id)).to.equal(1n);
  });
});
