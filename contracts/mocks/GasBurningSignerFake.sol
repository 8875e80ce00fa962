// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IERC1271} from "@openzeppelin/contracts/interfaces/IERC1271.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";

/// @notice Test helper: a smart-contract signer (ERC-1271) that accepts its owner key's signatures but burns `burn`
/// gas in every check first — a stranger's contract that would make a relayer pay for its signature check.
contract GasBurningSignerFake is IERC1271 {
    address public immutable owner;
    uint256 public immutable burn;

    constructor(address owner_, uint256 burn_) {
        owner = owner_;
        burn = burn_;
    }

    /// @inheritdoc IERC1271
    function isValidSignature(bytes32 hash, bytes calldata signature) external view returns (bytes4) {
        uint256 start = gasleft();
        // Spins until `burn` gas is gone (a view: no state to write, only time to waste).
        while (start - gasleft() < burn) {}
        (address signer, ECDSA.RecoverError err, ) = ECDSA.tryRecover(hash, signature);
        return err == ECDSA.RecoverError.NoError && signer == owner ? this.isValidSignature.selector : bytes4(0);
    }
}
