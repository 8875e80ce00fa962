import { createRequire } from "node:module";
import path from "node:path";
import hardhatToolboxMochaEthers from "@nomicfoundation/hardhat-toolbox-mocha-ethers";
import { configVariable, defineConfig } from "hardhat/config";
import { chainTypeOf, declaredNetworks, rpcUrlVariable } from "./scripts/lib/networks.ts";

const require = createRequire(import.meta.url);

/** solc cannot be downloaded on our machines; the npm `solc` package ships the compiler as soljson.js. */
const SOLC_VERSION = "0.8.30";
const soljson = require.resolve("solc/soljson.js");

/**
 * A coverage run compiles instrumented contracts. test/lanes.ts runs it beside suites that deploy from artifacts/ and
 * rebuild it when it changed: ICON_COVERAGE_BUILD (a folder) gives that build artifacts and cache of its own, so the
 * others keep deploying the plain contracts and never replace the instrumented ones under the coverage run.
 */
const coverageBuild = process.env.ICON_COVERAGE_BUILD;
const buildPaths = coverageBuild
  ? { artifacts: path.join(coverageBuild, "artifacts"), cache: path.join(coverageBuild, "cache") }
  : {};

export default defineConfig({
  plugins: [hardhatToolboxMochaEthers],
  solidity: {
    // Deployed straight from OpenZeppelin (Ignition needs their artifacts).
    npmFilesToBuild: [
      "@openzeppelin/contracts/access/manager/AccessManager.sol",
      "@openzeppelin/contracts/token/ERC20/IERC20.sol",
    ],
    // Optimizer runs 800: the largest round value that keeps IconMarket under the 24 576-byte limit with a margin
    // (23 016 bytes with the intent relay; 900 runs gives 24 007, 1 000 runs 24 120). BENCHMARKS.md has the gas.
    profiles: {
      default: {
        version: SOLC_VERSION,
        path: soljson,
        settings: { optimizer: { enabled: true, runs: 800 }, evmVersion: "cancun" },
      },
      production: {
        version: SOLC_VERSION,
        path: soljson,
        settings: { optimizer: { enabled: true, runs: 800 }, evmVersion: "cancun" },
      },
    },
  },
  paths: {
    ...buildPaths,
    sources: "contracts",
    tests: { mocha: "test/mocha", solidity: "test/solidity" },
    ignition: "contracts/ignition",
  },
  test: {
    solidity: {
      fuzz: { runs: 512 },
      invariant: { runs: 256, depth: 50, failOnRevert: false },
    },
  },
  networks: {
    /**
     * `icon deploy --network <name>`: one network per ICON_RPC_URL_<NAME> in the environment (or name in
     * ICON_NETWORKS, its URL then in Hardhat's keystore), e.g. ICON_RPC_URL_BASE → `base`. The URL stays a
     * configuration variable (never printed); `icon deploy` replaces the accounts with the key of its --keystore.
     */
    ...Object.fromEntries(
      declaredNetworks().map((name) => [
        name,
        {
          type: "http" as const,
          chainType: chainTypeOf(name),
          url: configVariable(rpcUrlVariable(name)),
          accounts: [configVariable("ICON_DEPLOYER_KEY")],
        },
      ]),
    ),
    /** Any EVM JSON-RPC endpoint: ICON_RPC_URL and a deployer key from the Hardhat keystore or env. */
    target: {
      type: "http",
      chainType: "l1",
      url: configVariable("ICON_RPC_URL"),
      accounts: [configVariable("ICON_DEPLOYER_KEY")],
    },
  },
});
