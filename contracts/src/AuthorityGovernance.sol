// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Address} from "@openzeppelin/contracts/utils/Address.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";

import {IOperational} from "./IOperational.sol";

interface IGovernedBridge {
    function removeValidator(address validator) external;
    function rotateValidator(address old, address replacement) external;
    function cancelTransfer(bytes32 id) external;
}

interface IGuardedOperational {
    function unpause() external;
    function removeGuardian(address guardian) external;
}

/// @title AuthorityGovernance
/// @notice The on-chain multisig of governance members, one per chain. A member proposes a call
/// (its vote counts), members vote (on-chain or by an EIP-712 signature from a cold key), and
/// once the member threshold is reached the call waits out the timelock delay and can be
/// executed by anyone until it expires. It owns the bridge (validator set and threshold), the
/// Operational contract, and itself (members, threshold, delay). Calls only: no delegatecall,
/// no upgrade path.
///
/// Floors a captured quorum cannot lower: the delay never goes below `minDelay` (fixed at
/// deployment); the member threshold is always a strict majority of the members; any member or
/// guardian can cancel a proposal before it runs, except a removal of a canceller (a member
/// here, a guardian on the Operational contract), which only its proposer can cancel; at most
/// one removal of a canceller executes per `delay`; and while the bridge is paused only
/// proposals that unpause or take keys away execute.
///
/// Two stolen keys, a member M and a guardian G. Their best strategy: cancel every proposal
/// they can, each other's removal first. They cannot cancel a removal (of each other or of
/// themselves) that an honest member proposed, so the honest majority removes both, one
/// `delay` apart: their veto ends two delays after the removals reach the threshold, and
/// from then on everything executes. (Were removals cancelable by any key, the two would
/// shield each other and freeze governance for good.)
///
/// A captured quorum facing k honest cancellers (members outside it, and guardians). Its
/// best strategy: propose every canceller's removal at once (nobody else can cancel those),
/// execute them as fast as allowed, and propose what it is after (unpause, new validators) in
/// the block the last honest canceller goes. One removal per delay takes k delays to strip
/// them all; until then any honest key left cancels each of its other proposals and a guardian
/// keeps the bridge paused; so its first uncancelable proposal executes no sooner than
/// (k + 1) × `delay` after the removals were proposed. (Were removals cancelable by nobody and
/// not spaced out, two timelocks would strip every veto.)
contract AuthorityGovernance is EIP712 {
    uint256 public constant MAX_MEMBERS = 32;
    /// @notice No deployment may set a floor (or a delay) shorter than this.
    uint256 public constant MIN_DELAY_FLOOR = 1 minutes;
    /// @notice A proposal must reach the threshold within this time of its creation.
    uint256 public constant VOTING_PERIOD = 14 days;
    /// @notice A queued proposal can be executed for this long after its ETA.
    uint256 public constant GRACE_PERIOD = 14 days;
    uint256 public constant MAX_DELAY = 30 days;

    bytes32 public constant VOTE_TYPEHASH = keccak256("Vote(bytes32 proposalId)");

    enum State {
        Unknown,
        Voting,
        Queued,
        Ready,
        Executed,
        Canceled,
        Expired
    }

    struct Proposal {
        address target;
        address proposer;
        uint64 createdAt;
        uint64 eta; // zero until the threshold is reached
        bool executed;
        bool canceled;
        bytes data;
        address[] voters;
    }

    address[] private _members;
    mapping(address => bool) public isMember;
    uint256 public threshold;
    uint256 public delay;
    /// @notice The shortest timelock delay governance may ever set, fixed at deployment.
    uint256 public immutable minDelay;
    /// @notice The chain's Operational contract: its guardians may cancel proposals, and its
    /// pause holds execution. Bound once by the deployer.
    IOperational public operational;
    /// @dev The deployer, until it binds `operational`.
    address private _binder;
    /// @notice Number of proposals created; the next proposal's nonce.
    uint256 public proposalCount;
    /// @notice When the latest removal of a canceller (member or guardian) executed; 0: never.
    uint256 public lastCancellerRemoval;

    mapping(bytes32 => Proposal) private _proposals;
    mapping(bytes32 => mapping(address => bool)) public hasVoted;
    bytes32[] private _proposalIds;

    event ProposalCreated(bytes32 indexed id, address indexed proposer, address target, bytes data, uint256 nonce);
    event Voted(bytes32 indexed id, address indexed member, uint256 votes);
    event ProposalQueued(bytes32 indexed id, uint256 eta);
    event ProposalExecuted(bytes32 indexed id);
    event ProposalCanceled(bytes32 indexed id);
    event MemberAdded(address indexed member);
    event MemberRemoved(address indexed member);
    event ThresholdChanged(uint256 threshold);
    event DelayChanged(uint256 delay);
    event OperationalBound(address operational);

    error NotMember(address account);
    error OnlySelf();
    error InvalidMember(address member);
    error MemberExists(address member);
    error InvalidThreshold(uint256 threshold, uint256 members);
    error TooManyMembers();
    error DelayTooLong(uint256 delay);
    error DelayTooShort(uint256 delay, uint256 minDelay);
    error UnknownProposal(bytes32 id);
    error AlreadyVoted(bytes32 id, address member);
    error NotVoting(bytes32 id, State state);
    error NotReady(bytes32 id, State state, uint256 eta);
    error ThresholdNotMet(bytes32 id, uint256 votes, uint256 threshold);
    error NotCanceller(address account);
    error CannotCancelOwnRemoval(address account);
    error RemovalNotCancelable(bytes32 id, address account);
    error RemovalTooSoon(bytes32 id, uint256 notBefore);
    error HeldByPause(bytes32 id);
    error NotBinder(address account);
    error InvalidVoteSignature();
    error ZeroTarget();

    modifier onlyMember() {
        if (!isMember[msg.sender]) revert NotMember(msg.sender);
        _;
    }

    modifier onlySelf() {
        if (msg.sender != address(this)) revert OnlySelf();
        _;
    }

    /// @param minDelay_ The delay floor, at least `MIN_DELAY_FLOOR`; `delay_` must not be below it.
    /// @param binder The deployer, who binds the Operational contract once (zero: never bound).
    constructor(address[] memory members_, uint256 threshold_, uint256 delay_, uint256 minDelay_, address binder)
        EIP712("Sidebridge Governance", "1")
    {
        if (minDelay_ < MIN_DELAY_FLOOR) revert DelayTooShort(minDelay_, MIN_DELAY_FLOOR);
        if (minDelay_ > MAX_DELAY) revert DelayTooLong(minDelay_);
        minDelay = minDelay_;
        for (uint256 i; i < members_.length; ++i) {
            _addMember(members_[i]);
        }
        _setThreshold(threshold_);
        _setDelay(delay_);
        _binder = binder;
    }

    /// @notice Binds the chain's Operational contract (the deployer, once).
    function bindOperational(IOperational operational_) external {
        if (msg.sender != _binder || msg.sender == address(0)) revert NotBinder(msg.sender);
        if (address(operational_) == address(0)) revert ZeroTarget();
        _binder = address(0);
        operational = operational_;
        emit OperationalBound(address(operational_));
    }

    // ---------------------------------------------------------------- proposals

    /// @notice Proposes `target.call(data)`. The id binds this chain, this contract and a nonce,
    /// so a proposal cannot be replayed on the other chain. The proposer's vote is counted.
    function propose(address target, bytes calldata data) external onlyMember returns (bytes32 id) {
        if (target == address(0)) revert ZeroTarget();
        uint256 nonce = proposalCount++;
        id = proposalId(nonce, target, data);
        Proposal storage p = _proposals[id];
        p.target = target;
        p.proposer = msg.sender;
        p.createdAt = uint64(block.timestamp);
        p.data = data;
        _proposalIds.push(id);
        emit ProposalCreated(id, msg.sender, target, data, nonce);
        _vote(id, msg.sender);
    }

    /// @notice Votes for proposal `id`.
    function vote(bytes32 id) external onlyMember {
        _vote(id, msg.sender);
    }

    /// @notice Counts a member's vote given as an EIP-712 `Vote(bytes32 proposalId)` signature
    /// under this contract's domain, so a cold key can vote without holding gas.
    function voteBySig(bytes32 id, bytes calldata signature) external {
        (address signer, ECDSA.RecoverError err,) = ECDSA.tryRecover(voteDigest(id), signature);
        if (err != ECDSA.RecoverError.NoError) revert InvalidVoteSignature();
        if (!isMember[signer]) revert NotMember(signer);
        _vote(id, signer);
    }

    /// @notice Executes a queued proposal after its ETA and before it expires. Anyone may call;
    /// the votes of members removed since are not counted. While the bridge is paused only the
    /// proposals `allowedWhilePaused` lists run. A removal of a canceller (`removeMember` here,
    /// `removeGuardian` on the Operational contract) runs at least `delay` after the previous
    /// one, else it reverts with `RemovalTooSoon` and the time it may run (it stays ready): a
    /// captured quorum strips k honest cancellers in no less than k delays, one at a time, and
    /// each remaining one keeps cancelling its other proposals meanwhile (see the contract notes).
    function execute(bytes32 id) external {
        Proposal storage p = _proposals[id];
        State s = state(id);
        if (s != State.Ready) revert NotReady(id, s, p.eta);
        uint256 votes = currentVotes(id);
        if (votes < threshold) revert ThresholdNotMet(id, votes, threshold);
        bytes memory data = p.data;
        if (_bridgePaused() && !allowedWhilePaused(p.target, data)) revert HeldByPause(id);
        if (_removesCanceller(p.target, data)) {
            uint256 last = lastCancellerRemoval;
            if (last != 0 && block.timestamp < last + delay) revert RemovalTooSoon(id, last + delay);
            lastCancellerRemoval = block.timestamp;
        }
        p.executed = true;
        Address.functionCall(p.target, data);
        emit ProposalExecuted(id);
    }

    /// @notice Cancels a proposal that has not been executed: its proposer, any member or any
    /// guardian may (one honest key is enough to stop a captured quorum during the timelock).
    /// Two exceptions. Nobody but the proposer can cancel a proposal that removes or rotates
    /// themselves (`CannotCancelOwnRemoval`). And nobody but the proposer can cancel a removal
    /// of a canceller, a member (`removeMember`) or a guardian (`removeGuardian`):
    /// `RemovalNotCancelable`. So two stolen keys, a member and a guardian, cannot shield each
    /// other from removal, and their best move (cancelling everything else) lasts until the
    /// honest majority has removed both, two delays; against a captured quorum this costs the
    /// honest keys their veto over their own removals, which `execute` spaces one `delay` apart.
    function cancel(bytes32 id) external {
        Proposal storage p = _proposals[id];
        if (p.createdAt == 0) revert UnknownProposal(id);
        if (msg.sender != p.proposer) {
            if (!isMember[msg.sender] && !_isGuardian(msg.sender)) revert NotCanceller(msg.sender);
            bytes memory data = p.data;
            if (_removes(p.target, data, msg.sender)) revert CannotCancelOwnRemoval(msg.sender);
            if (_removesCanceller(p.target, data)) revert RemovalNotCancelable(id, msg.sender);
        }
        State s = state(id);
        if (s == State.Executed || s == State.Canceled || s == State.Expired) revert NotVoting(id, s);
        p.canceled = true;
        emit ProposalCanceled(id);
    }

    // ---------------------------------------------------------------- self-administration

    /// @notice Adds a member and sets the threshold for the larger council in one step (the old
    /// threshold may no longer be a majority of it).
    function addMember(address member, uint256 threshold_) external onlySelf {
        _addMember(member);
        _setThreshold(threshold_);
    }

    /// @notice Removes a member; the threshold stays and must still be reachable.
    function removeMember(address member) external onlySelf {
        _removeMember(member);
        _setThreshold(threshold);
    }

    /// @notice Replaces member `old` by `replacement` (a lost or stolen key), keeping the size
    /// and the threshold.
    function rotateMember(address old, address replacement) external onlySelf {
        _removeMember(old);
        _addMember(replacement);
    }

    /// @notice Sets the member threshold: a strict majority of the members, at most all.
    function setThreshold(uint256 threshold_) external onlySelf {
        _setThreshold(threshold_);
    }

    /// @notice Changes the timelock delay, never below `minDelay`; the change itself waited out
    /// the current delay.
    function setDelay(uint256 delay_) external onlySelf {
        _setDelay(delay_);
    }

    // ---------------------------------------------------------------- views

    function members() external view returns (address[] memory) {
        return _members;
    }

    function proposalIds() external view returns (bytes32[] memory) {
        return _proposalIds;
    }

    /// @notice The id a proposal with this nonce, target and calldata has on this chain.
    function proposalId(uint256 nonce, address target, bytes calldata data) public view returns (bytes32) {
        return keccak256(abi.encode(block.chainid, address(this), nonce, target, keccak256(data)));
    }

    /// @notice The digest a member signs to vote for `id` by signature.
    function voteDigest(bytes32 id) public view returns (bytes32) {
        return _hashTypedDataV4(keccak256(abi.encode(VOTE_TYPEHASH, id)));
    }

    function getProposal(bytes32 id)
        external
        view
        returns (
            address target,
            bytes memory data,
            address proposer,
            uint64 createdAt,
            uint64 eta,
            address[] memory voters,
            State status
        )
    {
        Proposal storage p = _proposals[id];
        return (p.target, p.data, p.proposer, p.createdAt, p.eta, p.voters, state(id));
    }

    /// @notice Whether a proposal calling `target` with `data` may execute while the bridge is
    /// paused. Allowed: unpausing; removing a guardian; removing or rotating a validator or a
    /// member; canceling a queued transfer. A pause answers a stolen or misbehaving key, and
    /// these are exactly the ways to take keys (and their forged transfers) away — none of them
    /// adds a key or moves a setting another way. Everything else waits for the unpause.
    function allowedWhilePaused(address target, bytes memory data) public view returns (bool) {
        if (data.length < 4 || address(operational) == address(0)) return false;
        bytes4 selector = bytes4(data);
        if (target == address(operational)) {
            return
                selector == IGuardedOperational.unpause.selector
                    || selector == IGuardedOperational.removeGuardian.selector;
        }
        if (target == address(this)) {
            return selector == this.removeMember.selector || selector == this.rotateMember.selector;
        }
        if (target == operational.bridge()) {
            return selector == IGovernedBridge.removeValidator.selector
                || selector == IGovernedBridge.rotateValidator.selector
                || selector == IGovernedBridge.cancelTransfer.selector;
        }
        return false;
    }

    /// @notice Votes of members who are members now.
    function currentVotes(bytes32 id) public view returns (uint256 count) {
        address[] storage voters = _proposals[id].voters;
        for (uint256 i; i < voters.length; ++i) {
            if (isMember[voters[i]]) ++count;
        }
    }

    function state(bytes32 id) public view returns (State) {
        Proposal storage p = _proposals[id];
        if (p.createdAt == 0) return State.Unknown;
        if (p.executed) return State.Executed;
        if (p.canceled) return State.Canceled;
        if (p.eta == 0) {
            return block.timestamp > p.createdAt + VOTING_PERIOD ? State.Expired : State.Voting;
        }
        if (block.timestamp > p.eta + GRACE_PERIOD) return State.Expired;
        return block.timestamp >= p.eta ? State.Ready : State.Queued;
    }

    // ---------------------------------------------------------------- internals

    function _vote(bytes32 id, address member) private {
        Proposal storage p = _proposals[id];
        State s = state(id);
        if (s == State.Unknown) revert UnknownProposal(id);
        if (s != State.Voting && s != State.Queued && s != State.Ready) revert NotVoting(id, s);
        if (hasVoted[id][member]) revert AlreadyVoted(id, member);
        hasVoted[id][member] = true;
        p.voters.push(member);
        uint256 votes = currentVotes(id);
        emit Voted(id, member, votes);
        if (p.eta == 0 && votes >= threshold) {
            p.eta = uint64(block.timestamp + delay);
            emit ProposalQueued(id, p.eta);
        }
    }

    function _isGuardian(address account) private view returns (bool) {
        return address(operational) != address(0) && operational.isGuardian(account);
    }

    function _bridgePaused() private view returns (bool) {
        return address(operational) != address(0) && operational.paused();
    }

    /// @dev Whether calling `target` with `data` takes a canceller away for good: removes a
    /// member (here) or a guardian (on the Operational contract). A rotation replaces its key
    /// and stays cancelable by everyone else.
    function _removesCanceller(address target, bytes memory data) private view returns (bool) {
        if (data.length < 4) return false;
        bytes4 selector = bytes4(data);
        if (target == address(this)) return selector == this.removeMember.selector;
        return target == address(operational) && selector == IGuardedOperational.removeGuardian.selector;
    }

    /// @dev Whether calling `target` with `data` removes or rotates away `account` as a member
    /// (here) or as a guardian (on the Operational contract).
    function _removes(address target, bytes memory data, address account) private view returns (bool) {
        if (data.length < 36) return false;
        bytes4 selector = bytes4(data);
        address subject;
        assembly ("memory-safe") {
            subject := and(mload(add(data, 36)), 0xffffffffffffffffffffffffffffffffffffffff)
        }
        if (subject != account) return false;
        if (target == address(this)) {
            return selector == this.removeMember.selector || selector == this.rotateMember.selector;
        }
        return target == address(operational) && selector == IGuardedOperational.removeGuardian.selector;
    }

    function _removeMember(address member) private {
        if (!isMember[member]) revert InvalidMember(member);
        isMember[member] = false;
        uint256 n = _members.length;
        for (uint256 i; i < n; ++i) {
            if (_members[i] == member) {
                _members[i] = _members[n - 1];
                _members.pop();
                break;
            }
        }
        emit MemberRemoved(member);
    }

    function _addMember(address member) private {
        if (member == address(0) || member == address(this)) revert InvalidMember(member);
        if (isMember[member]) revert MemberExists(member);
        if (_members.length + 1 > MAX_MEMBERS) revert TooManyMembers();
        isMember[member] = true;
        _members.push(member);
        emit MemberAdded(member);
    }

    /// @dev A strict majority of the members (two conflicting camps can never both reach it)
    /// and reachable.
    function _setThreshold(uint256 threshold_) private {
        uint256 n = _members.length;
        if (threshold_ == 0 || threshold_ > n || threshold_ * 2 <= n) revert InvalidThreshold(threshold_, n);
        if (threshold_ != threshold) {
            threshold = threshold_;
            emit ThresholdChanged(threshold_);
        }
    }

    function _setDelay(uint256 delay_) private {
        if (delay_ < minDelay) revert DelayTooShort(delay_, minDelay);
        if (delay_ > MAX_DELAY) revert DelayTooLong(delay_);
        delay = delay_;
        emit DelayChanged(delay_);
    }
}
