// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Operational} from "../src/Operational.sol";
import {SideBridge} from "../src/SideBridge.sol";
import {Transfer} from "../src/Transfer.sol";
import {WrappedToken} from "../src/WrappedToken.sol";

import {SymTest} from "./SymTest.sol";

/// @notice (c) A validator's deposit vote counts only for the content it voted for.
contract VoteBindingCheck is SymTest {
    uint256 internal constant MAIN_CHAIN_ID = 0xA1;
    address internal constant MAIN_BRIDGE = address(0xB41D6E);
    address internal constant MAIN_TOKEN = address(0x70CE);
    address internal constant BOB = address(0xB0B);
    address internal constant CAROL = address(0xCA401);
    /// @dev The nonce both contents share. The contents differ by symbolic senders and a
    /// symbolic choice of recipient and amount: every field reaches the digest the votes are
    /// keyed by, while the mint's arithmetic stays concrete (symbolic amounts and nonce cost
    /// half as much again in time, for nothing the binding depends on).
    uint64 internal constant NONCE = 300;

    SideBridge internal side;
    WrappedToken internal wrapped;

    function setUp() public {
        Operational op = new Operational(address(this), address(0), address(0xFEE));
        side = new SideBridge(address(this), address(0), op, MAIN_CHAIN_ID, MAIN_BRIDGE, false, _validators(), 2);
        op.setBridge(address(side));
        wrapped = new WrappedToken("Wrapped", "W", 18, address(side), MAIN_TOKEN);
        op.mapToken(address(wrapped), MAIN_TOKEN);
        // inbound wide open, so every deposit that reaches the threshold mints at once
        side.setInboundLimits(MAIN_TOKEN, type(uint112).max, 1 days, type(uint112).max, 1 days);
    }

    /// Two different contents A and B for one deposit nonce; each of the three validators votes
    /// once, in turn, for A or for B. Then each content's recorded votes are at most the
    /// validators that voted for exactly it, a content is minted only with a threshold (2) of
    /// its own voters, and the nonce is minted once, for its amount.
    function check_voteCountsOnlyForItsContent(address senderA, address senderB, bool sameRecipient, bool sameAmount)
        public
    {
        (Transfer memory a, Transfer memory b) = _contents(senderA, senderB, sameRecipient, sameAmount);
        (uint256 votedA, uint256 votedB) = _vote(a, b, 0, 0, 0, 2, "1");
        (votedA, votedB) = _vote(a, b, votedA, votedB, 1, 2, "2");
        (votedA, votedB) = _vote(a, b, votedA, votedB, 2, 2, "3");
        _assertBinding(a, b, votedA, votedB);
    }

    /// The same, but the first two votes are each for A, for B or for both in one batch, and
    /// the first validator votes again (A or B) after the second: a repeated vote is one vote,
    /// and a vote for A stays A's.
    function check_repeatedVoteCountsOnce(address senderA, address senderB, bool sameRecipient, bool sameAmount)
        public
    {
        (Transfer memory a, Transfer memory b) = _contents(senderA, senderB, sameRecipient, sameAmount);
        (uint256 votedA, uint256 votedB) = _vote(a, b, 0, 0, 0, 3, "1");
        (votedA, votedB) = _vote(a, b, votedA, votedB, 1, 3, "2");
        (votedA, votedB) = _vote(a, b, votedA, votedB, 0, 2, "3"); // both at once: vote 1 has it
        _assertBinding(a, b, votedA, votedB);
    }

    /// @dev Two different contents for `NONCE`.
    function _contents(address senderA, address senderB, bool sameRecipient, bool sameAmount)
        internal
        view
        returns (Transfer memory a, Transfer memory b)
    {
        if (sameRecipient && sameAmount) vm.assume(senderA != senderB);
        a = _deposit(senderA, BOB, 5e18);
        b = _deposit(senderB, sameRecipient ? BOB : CAROL, sameAmount ? 5e18 : 7e18);
    }

    function _assertBinding(Transfer memory a, Transfer memory b, uint256 votedA, uint256 votedB) internal view {
        (uint256 votesA, bool mintedA) = side.depositVotes(side.hashTransfer(a));
        (uint256 votesB, bool mintedB) = side.depositVotes(side.hashTransfer(b));
        assert(votesA <= _count(votedA));
        assert(votesB <= _count(votedB));
        assert(!mintedA || _count(votedA) >= 2);
        assert(!mintedB || _count(votedB) >= 2);
        assert(!(mintedA && mintedB));
        assert(wrapped.totalSupply() == (mintedA ? a.amount : 0) + (mintedB ? b.amount : 0));
    }

    /// @dev Validator `who` votes for A, B or (when `choices` is 3) both, symbolically; returns
    /// who voted for what so far.
    function _vote(
        Transfer memory a,
        Transfer memory b,
        uint256 votedA,
        uint256 votedB,
        uint256 who,
        uint256 choices,
        string memory name
    ) internal returns (uint256, uint256) {
        uint256 what = svm.createUint(2, string.concat("contents", name));
        vm.assume(what < choices); // 0: A, 1: B, 2: both
        Transfer[] memory batch = new Transfer[](what == 2 ? 2 : 1);
        batch[0] = what == 1 ? b : a;
        if (what == 2) batch[1] = b;
        vm.prank(_validators()[who]);
        try side.approveDeposits(batch) {
            if (what != 1) votedA |= 1 << who;
            if (what != 0) votedB |= 1 << who;
        } catch {}
        return (votedA, votedB);
    }

    function _deposit(address sender, address recipient, uint256 amount) internal view returns (Transfer memory) {
        return Transfer({
            srcChainId: MAIN_CHAIN_ID,
            srcBridge: MAIN_BRIDGE,
            dstChainId: block.chainid,
            dstBridge: address(side),
            nonce: NONCE,
            token: MAIN_TOKEN,
            sender: sender,
            recipient: recipient,
            amount: amount
        });
    }

    function _count(uint256 mask) internal pure returns (uint256 n) {
        n = (mask & 1) + ((mask >> 1) & 1) + ((mask >> 2) & 1);
    }
}
