// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IconMarket} from "../../../contracts/IconMarket.sol";
import {IBudgetTree, AccountId} from "../../../contracts/interfaces/IBudgetTree.sol";
import {IIntentRelay} from "../../../contracts/interfaces/IIntentRelay.sol";
import {CheatBase} from "../utils/TestBase.sol";

/// @notice The invariant handler's relayed actions: an ICON key signs an intent, a yard relays it. Kept apart from
/// {MarketHandler} because the handler's creation code is close to the 49 152-byte initcode limit; the handler
/// calls it and keeps the ghosts. Not a fuzz target (only the handler is).
contract RelayActor is CheatBase {
    IconMarket public immutable market;
    bytes internal _lastRelayCall;
    uint256 internal _nonce;

    constructor(IconMarket market_) {
        market = market_;
    }

    /// @notice The key `key` signs `allocate(parent, child, amount)` with `fee`, paid from `parent` (a fresh nonce);
    /// `yard` relays it. Returns whether the relay succeeded and its revert data otherwise.
    function relayAllocate(uint256 key, uint64 parent, uint64 child, uint256 amount, uint96 fee, address yard)
        external
        returns (bool ok, bytes memory err)
    {
        IIntentRelay.Intent memory i = IIntentRelay.Intent({
            signer: vm.addr(key),
            account: AccountId.wrap(parent),
            data: abi.encodeCall(IBudgetTree.allocate, (AccountId.wrap(parent), AccountId.wrap(child), amount)),
            fee: fee,
            relayer: address(0),
            nonce: uint256(keccak256(abi.encode("intent", ++_nonce))),
            deadline: uint40(block.timestamp + 600)
        });
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, market.hashIntent(i));
        bytes memory call = abi.encodeCall(market.relay, (i, abi.encodePacked(r, s, v)));
        vm.prank(yard);
        (ok, err) = address(market).call(call);
        if (ok) _lastRelayCall = call;
    }

    /// @notice Submits the last successful relay again from `from`; returns whether it ran (it never may).
    function replayLast(address from) external returns (bool ok) {
        if (_lastRelayCall.length == 0) return false;
        vm.prank(from);
        (ok,) = address(market).call(_lastRelayCall);
    }
}
