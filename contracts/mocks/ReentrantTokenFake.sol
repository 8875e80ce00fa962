// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @notice Fault injection (a fake on purpose): an ERC-20 that, once armed, calls back into a target
/// during `transfer`/`transferFrom`, the way a malicious or hook-bearing token could. A real token cannot
/// produce this on demand. It records whether the re-entrant call succeeded.
contract ReentrantTokenFake is ERC20 {
    address public callee;
    bytes public payload;
    bool public reentered;
    bool public reentrySucceeded;
    bytes public reentryError;

    constructor() ERC20("Reentrant", "RE") {}

    /// @notice Mints freely (test token).
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    /// @notice Arms the callback: on the next transfer, call `target` with `payload`.
    function arm(address target_, bytes calldata payload_) external {
        callee = target_;
        payload = payload_;
        reentered = false;
    }

    function _update(address from, address to, uint256 value) internal override {
        super._update(from, to, value);
        if (callee != address(0) && !reentered && from != address(0)) {
            reentered = true;
            (bool ok, bytes memory ret) = callee.call(payload);
            reentrySucceeded = ok;
            reentryError = ret;
        }
    }
}
