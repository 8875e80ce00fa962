// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {Nonces} from "@openzeppelin/contracts/utils/Nonces.sol";

/// @notice Test stand-in for a token with DAI's permit, which is not ERC-2612's: it approves all or nothing
/// (`allowed`) against a nonce and an expiry, under its own PERMIT_TYPEHASH. It has `DOMAIN_SEPARATOR()`,
/// `nonces()` and ERC-5267 like an ERC-2612 token, so a client must tell it apart and approve instead. 6 decimals
/// (DAI has 18; the decimals are not what this mock is about). Anyone may mint.
contract DaiLikeTokenMock is ERC20, EIP712, Nonces {
    bytes32 public constant PERMIT_TYPEHASH =
        keccak256("Permit(address holder,address spender,uint256 nonce,uint256 expiry,bool allowed)");

    /// @notice The permit's signer is not `holder`, its nonce is not the next, or it has expired.
    error DaiPermitInvalid();

    constructor() ERC20("Dai Stablecoin Like", "DAIL") EIP712("Dai Stablecoin Like", "1") {}

    /// @notice Mints freely (test token).
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    /// @notice DAI's permit: `allowed` approves `spender` for everything, or for nothing.
    function permit(
        address holder,
        address spender,
        uint256 nonce,
        uint256 expiry,
        bool allowed,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external {
        bytes32 digest = _hashTypedDataV4(keccak256(abi.encode(PERMIT_TYPEHASH, holder, spender, nonce, expiry, allowed)));
        if (ECDSA.recover(digest, v, r, s) != holder || (expiry != 0 && block.timestamp > expiry)) {
            revert DaiPermitInvalid();
        }
        _useCheckedNonce(holder, nonce);
        _approve(holder, spender, allowed ? type(uint256).max : 0);
    }

    // solhint-disable-next-line func-name-mixedcase
    function DOMAIN_SEPARATOR() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    function decimals() public pure override returns (uint8) {
        return 6;
    }
}
