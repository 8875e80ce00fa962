// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Vm, VM_ADDRESS} from "./Vm.sol";

/// @notice Shared helpers without forge-std: the cheatcode handle, `bound`, and assertions that revert with
/// a message naming the values (the runner prints the revert reason of a failed test or invariant).
abstract contract CheatBase {
    Vm internal constant vm = Vm(VM_ADDRESS);

    /// @dev Maps `x` uniformly-ish into [lo, hi] (like forge-std's bound, without its logging).
    function bound(uint256 x, uint256 lo, uint256 hi) internal pure returns (uint256) {
        require(lo <= hi, "bound: lo > hi");
        if (x >= lo && x <= hi) return x;
        uint256 size = hi - lo + 1;
        if (size == 0) return x; // full range
        return lo + (x % size);
    }

    function _str(uint256 v) internal pure returns (string memory) {
        if (v == 0) return "0";
        uint256 len;
        for (uint256 t = v; t != 0; t /= 10) ++len;
        bytes memory b = new bytes(len);
        for (; v != 0; v /= 10) b[--len] = bytes1(uint8(48 + (v % 10)));
        return string(b);
    }
}

abstract contract TestBase is CheatBase {
    function assertTrue(bool c, string memory m) internal pure {
        require(c, m);
    }

    function assertFalse(bool c, string memory m) internal pure {
        require(!c, m);
    }

    function assertEq(uint256 a, uint256 b, string memory m) internal pure {
        if (a != b) revert(string.concat(m, ": ", _str(a), " != ", _str(b)));
    }

    function assertEq(address a, address b, string memory m) internal pure {
        if (a != b) revert(string.concat(m, ": address mismatch"));
    }

    function assertEq(bytes32 a, bytes32 b, string memory m) internal pure {
        if (a != b) revert(string.concat(m, ": bytes32 mismatch"));
    }

    function assertLe(uint256 a, uint256 b, string memory m) internal pure {
        if (a > b) revert(string.concat(m, ": ", _str(a), " > ", _str(b)));
    }

    function assertGe(uint256 a, uint256 b, string memory m) internal pure {
        if (a < b) revert(string.concat(m, ": ", _str(a), " < ", _str(b)));
    }
}
