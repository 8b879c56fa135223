// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @title ShareAnchor: protolearn share balances, provable on Ethereum.
/// @notice Holds the protolearn validator set (Ethereum signer addresses and
/// voting powers, and the total bonded power of the chain they are part of)
/// and the latest checkpoint signed by more than 2/3 of that total: validators
/// without a registered key count as not signing, so no minority of the
/// chain's power can sign a checkpoint, and a set whose keyed validators hold
/// no more than 2/3 of the total is refused. A checkpoint commits, for every model, the keccak256 Merkle root
/// of its (holder, balance) pairs; verifyShares checks a holder's balance
/// against it. The encodings are those of the Go package x/anchor/merkle
/// (leaves, models tree, sorted-pair inner nodes) and x/anchor (checkpoint
/// and validator-set hashes); both sides are tested against each other.
contract ShareAnchor {
    /// keccak256 of the protolearn chain id (e.g. "protolearn-local-1"): the
    /// id of the chain's first genesis, kept across restarts under a new id.
    bytes32 public immutable chainIdHash;

    address[] public signers;
    uint64[] public powers;
    /// The chain's total bonded power when the set was taken (the set's own
    /// powers add up to more than 2/3 of it).
    uint256 public totalPower;
    /// Hash of the current validator set (valsetHash).
    bytes32 public currentValset;

    /// The latest checkpoint: its anchor height (the chain's block height plus
    /// an offset that each zero-height restart raises, so it only grows) and
    /// models root.
    uint64 public lastHeight;
    bytes32 public modelsRoot;

    event ValsetUpdated(bytes32 indexed valset, uint256 totalPower, uint256 size);
    event CheckpointSubmitted(uint64 indexed height, bytes32 modelsRoot, bytes32 valset);

    error BadValset(string why);
    error StaleCheckpoint(uint64 height, uint64 lastHeight);
    error ValsetMismatch(bytes32 given, bytes32 committed);
    error BadSignature(uint256 index);
    error SignersNotAscending(uint256 index);
    error NotEnoughPower(uint256 signed, uint256 total);

    /// secp256k1n / 2: signatures with a larger s are malleable copies.
    uint256 private constant HALF_N = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0;

    constructor(string memory chainId, address[] memory initialSigners, uint64[] memory initialPowers, uint64 initialTotal) {
        chainIdHash = keccak256(bytes(chainId));
        _setValset(initialSigners, initialPowers, initialTotal);
    }

    /// The hash of a validator set: keccak256(0x03 ‖ n ‖ (signer ‖ power)… ‖
    /// total), signers strictly ascending.
    function valsetHash(address[] memory s, uint64[] memory p, uint64 total) public pure returns (bytes32) {
        bytes memory enc = abi.encodePacked(bytes1(0x03), uint32(s.length));
        for (uint256 i = 0; i < s.length; i++) {
            enc = abi.encodePacked(enc, s[i], p[i]);
        }
        return keccak256(abi.encodePacked(enc, total));
    }

    /// The hash validators sign: keccak256(0x04 ‖ chainIdHash ‖ Ethereum chain
    /// id ‖ this contract's address ‖ height ‖ modelsRoot ‖ the hash of the
    /// validator set that signs the next one). The chain signs for the one
    /// deployment its governance named (x/anchor params `deployment`), so a
    /// checkpoint counts on this contract only, on this Ethereum chain only.
    function checkpointHash(uint64 height, bytes32 root, bytes32 nextValset) public view returns (bytes32) {
        return keccak256(abi.encodePacked(bytes1(0x04), chainIdHash, block.chainid, address(this), height, root, nextValset));
    }

    /// A validator's signature of a checkpoint: its position in the current
    /// set and the secp256k1 signature (v, r, s) of checkpointHash.
    struct Sig {
        uint256 index;
        uint8 v;
        bytes32 r;
        bytes32 s;
    }

    /// Accepts a checkpoint signed by more than 2/3 of the chain's total
    /// bonded power (the current set's totalPower); sigs are ordered by
    /// strictly ascending index, so none counts twice. The checkpoint may hand
    /// over to a new validator set (nextSigners/nextPowers/nextTotal, whose
    /// hash it commits).
    function submitCheckpoint(
        uint64 height,
        bytes32 root,
        address[] calldata nextSigners,
        uint64[] calldata nextPowers,
        uint64 nextTotal,
        Sig[] calldata sigs
    ) external {
        if (height <= lastHeight) revert StaleCheckpoint(height, lastHeight);
        bytes32 nextValset = valsetHash(nextSigners, nextPowers, nextTotal);
        uint256 signed = _signedPower(checkpointHash(height, root, nextValset), sigs);
        if (3 * signed <= 2 * totalPower) revert NotEnoughPower(signed, totalPower);
        lastHeight = height;
        modelsRoot = root;
        if (nextValset != currentValset) _setValset(nextSigners, nextPowers, nextTotal);
        emit CheckpointSubmitted(height, root, nextValset);
    }

    /// The current set's power behind digest's signatures.
    function _signedPower(bytes32 digest, Sig[] calldata sigs) private view returns (uint256 signed) {
        for (uint256 k = 0; k < sigs.length; k++) {
            Sig calldata g = sigs[k];
            if (k > 0 && g.index <= sigs[k - 1].index) revert SignersNotAscending(k);
            if (g.index >= signers.length || uint256(g.s) > HALF_N) revert BadSignature(k);
            address got = ecrecover(digest, g.v, g.r, g.s);
            if (got == address(0) || got != signers[g.index]) revert BadSignature(k);
            signed += powers[g.index];
        }
    }

    /// Whether holder (its protolearn address bytes) holds balance of
    /// share/modelId at the latest checkpoint: holderProof leads from the
    /// holder's leaf to modelRoot, modelProof from the model's leaf to the
    /// checkpoint's models root.
    function verifyShares(
        uint64 modelId,
        bytes calldata holder,
        uint256 balance,
        bytes32[] calldata holderProof,
        bytes32 modelRoot,
        bytes32[] calldata modelProof
    ) external view returns (bool) {
        if (holder.length == 0 || holder.length > 255) return false;
        return _walk(leaf(modelId, holder, balance), holderProof) == modelRoot
            && _walk(modelLeaf(modelId, modelRoot), modelProof) == modelsRoot;
    }

    function leaf(uint64 modelId, bytes calldata holder, uint256 balance) public pure returns (bytes32) {
        return keccak256(abi.encodePacked(bytes1(0x00), modelId, uint8(holder.length), holder, balance));
    }

    function modelLeaf(uint64 modelId, bytes32 root) public pure returns (bytes32) {
        return keccak256(abi.encodePacked(bytes1(0x02), modelId, root));
    }

    function node(bytes32 a, bytes32 b) public pure returns (bytes32) {
        return a < b ? keccak256(abi.encodePacked(bytes1(0x01), a, b)) : keccak256(abi.encodePacked(bytes1(0x01), b, a));
    }

    function _walk(bytes32 h, bytes32[] calldata proof) private pure returns (bytes32) {
        for (uint256 i = 0; i < proof.length; i++) {
            h = node(h, proof[i]);
        }
        return h;
    }

    function _setValset(address[] memory s, uint64[] memory p, uint64 total) private {
        if (s.length == 0 || s.length != p.length) revert BadValset("signers and powers must be non-empty and of equal length");
        uint256 keyed = 0;
        for (uint256 i = 0; i < s.length; i++) {
            if (s[i] == address(0)) revert BadValset("zero signer");
            if (i > 0 && s[i] <= s[i - 1]) revert BadValset("signers must be strictly ascending");
            if (p[i] == 0) revert BadValset("zero power");
            keyed += p[i];
        }
        if (keyed > total) revert BadValset("the signers' powers add up to more than the total");
        if (3 * keyed <= 2 * uint256(total)) revert BadValset("the signers hold no more than 2/3 of the total power");
        delete signers;
        delete powers;
        for (uint256 i = 0; i < s.length; i++) {
            signers.push(s[i]);
            powers.push(p[i]);
        }
        totalPower = total;
        currentValset = valsetHash(s, p, total);
        emit ValsetUpdated(currentValset, total, s.length);
    }
}
