import { expect } from "chai";
import { network } from "hardhat";
import { IconMarketDevModule } from "../../contracts/ignition/modules/IconMarket.ts";

const { ignition, ethers } = await network.create();

describe("deployment", () => {
  it("wires the market to the registry through the access manager", async () => {
    const { token, registry, market, manager } = await ignition.deploy(IconMarketDevModule);
    expect(await market.registry()).to.equal(await registry.getAddress());
    expect(await registry.token()).to.equal(await token.getAddress());
    const [deployer] = await ethers.getSigners();
    expect((await manager.hasRole(1n, await market.getAddress()))[0]).to.equal(true);
    expect(await token.decimals()).to.equal(6n);
    expect(deployer).to.not.equal(undefined);
  });
});
