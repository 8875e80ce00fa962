// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {Nonces} from "@openzeppelin/contracts/utils/Nonces.sol";

/// @notice Test stand-in for USDC: 6 decimals, name "USD Coin", ERC-2612 permit under EIP-712 version "2" (not
/// the "1" that OpenZeppelin's ERC20Permit fixes), `version()` and `DOMAIN_SEPARATOR()` as Circle's FiatToken has
/// them. Deployed with `erc5267 = false` it answers `eip712Domain()` with a revert, as FiatToken (which predates
/// ERC-5267) does: a client must then find the domain another way or fall back to approve. Anyone may mint.
contract UsdcLikeTokenMock is ERC20, IERC20Permit, EIP712, Nonces {
    bytes32 private constant PERMIT_TYPEHASH =
        keccak256("Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)");

    bool public immutable erc5267;

    /// @notice The permit's deadline has passed.
    error PermitExpired(uint256 deadline);
    /// @notice The permit was signed by `signer`, not by `owner`.
    error PermitInvalidSigner(address signer, address owner);
    /// @notice This token was deployed without ERC-5267 (like FiatToken).
    error NoErc5267();

    constructor(bool erc5267_) ERC20("USD Coin", "USDC") EIP712("USD Coin", "2") {
        erc5267 = erc5267_;
    }

    /// @notice Mints freely (test token).
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    /// @notice The EIP-712 version, as FiatToken exposes it.
    function version() external pure returns (string memory) {
        return "2";
    }

    /// @inheritdoc IERC20Permit
    function permit(address owner, address spender, uint256 value, uint256 deadline, uint8 v, bytes32 r, bytes32 s)
        external
    {
        if (block.timestamp > deadline) revert PermitExpired(deadline);
        bytes32 digest = _hashTypedDataV4(
            keccak256(abi.encode(PERMIT_TYPEHASH, owner, spender, value, _useNonce(owner), deadline))
        );
        address signer = ECDSA.recover(digest, v, r, s);
        if (signer != owner) revert PermitInvalidSigner(signer, owner);
        _approve(owner, spender, value);
    }

    /// @inheritdoc IERC20Permit
    function nonces(address owner) public view override(IERC20Permit, Nonces) returns (uint256) {
        return super.nonces(owner);
    }

    /// @inheritdoc IERC20Permit
    // solhint-disable-next-line func-name-mixedcase
    function DOMAIN_SEPARATOR() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    /// @inheritdoc EIP712
    function eip712Domain()
        public
        view
        override
        returns (bytes1, string memory, string memory, uint256, address, bytes32, uint256[] memory)
    {
        if (!erc5267) revert NoErc5267();
        return super.eip712Domain();
    }

    function decimals() public pure override returns (uint8) {
        return 6;
    }
}
