// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IIEPRegistry} from "../../../contracts/interfaces/IIEPRegistry.sol";
import {IBudgetTree} from "../../../contracts/interfaces/IBudgetTree.sol";

/// @notice Sample inputs shared by the fixture and the invariant handler.
library Samples {
    /// @notice Relay caps of {policy}: the most one intent pays its relayer, and one account per UTC day.
    uint96 internal constant MAX_RELAY_FEE = 1000;
    uint96 internal constant RELAY_ALLOWANCE_PER_DAY = 10_000;

    /// @notice A valid listing whose peer id is derived from `salt`.
    function listing(uint256 salt) internal pure returns (IIEPRegistry.Listing memory l) {
        string[] memory addrs = new string[](1);
        addrs[0] = "/ip4/203.0.113.7/tcp/4001";
        l = IIEPRegistry.Listing({
            peerId: abi.encodePacked(bytes6(0x002408011220), keccak256(abi.encode(salt))),
            multiaddrs: addrs,
            domain: "edge.example",
            region: "eu-central/fra",
            cpuMillis: 4000,
            memoryMiB: 8192,
            cpuPricePerSecond: 10,
            memoryPricePerSecond: 5
        });
    }

    /// @notice The default test policy with price cap `cap` (0 = none).
    function policy(uint96 cap) internal pure returns (IBudgetTree.Policy memory) {
        return IBudgetTree.Policy({
            weightBps: 5000,
            migrateThresholdBps: 2000,
            replicateThresholdBps: 3000,
            terminateThresholdBps: 500,
            maxPricePerSecond: cap,
            maxRelayFee: MAX_RELAY_FEE,
            relayAllowancePerDay: RELAY_ALLOWANCE_PER_DAY
        });
    }
}
