-- The relayer's whole memory. This file runs unchanged on SQLite and PostgreSQL, so it keeps to
-- what both understand the same way: TEXT and BIGINT columns only (U256 and u128 amounts as
-- decimal TEXT, hashes and addresses as lowercase 0x-hex TEXT, enums as their text names),
-- natural primary keys (no autoincrement, no sequences) and no foreign keys (a completion or a
-- cost may be recorded before or without the transfer it names).

-- Last fully processed block per chain: the watcher resumes after it.
CREATE TABLE cursors (
    chain       TEXT   NOT NULL PRIMARY KEY,
    block       BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);

-- Hashes of processed blocks, to notice a reorg deeper than the confirmations.
CREATE TABLE seen_blocks (
    chain   TEXT   NOT NULL,
    number  BIGINT NOT NULL,
    hash    TEXT   NOT NULL,
    PRIMARY KEY (chain, number)
);

CREATE TABLE transfers (
    id            TEXT   NOT NULL PRIMARY KEY,
    direction     TEXT   NOT NULL,
    src_chain_id  TEXT   NOT NULL,
    dst_chain_id  TEXT   NOT NULL,
    nonce         BIGINT NOT NULL,
    token         TEXT   NOT NULL,
    sender        TEXT   NOT NULL,
    recipient     TEXT   NOT NULL,
    amount        TEXT   NOT NULL,
    fee           TEXT   NOT NULL,
    source_block  BIGINT NOT NULL,
    source_tx     TEXT   NOT NULL,
    state         TEXT   NOT NULL,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
CREATE INDEX transfers_by_state ON transfers (direction, state, nonce);
CREATE INDEX transfers_by_age ON transfers (created_at);

-- Ids seen minted or released at the destination. The two watchers run independently, so a
-- completion can be stored before its source event; a transfer inserted later consults this.
CREATE TABLE completions (
    transfer_id  TEXT   NOT NULL PRIMARY KEY,
    recorded_at  BIGINT NOT NULL
);

-- Withdrawal signatures published on the side chain (SignatureSubmitted).
CREATE TABLE signatures (
    transfer_id  TEXT   NOT NULL,
    validator    TEXT   NOT NULL,
    nonce        BIGINT NOT NULL,
    signature    TEXT   NOT NULL,
    PRIMARY KEY (transfer_id, validator)
);

-- Every transaction this relayer signed, written before it is broadcast.
CREATE TABLE attempts (
    tx_hash                   TEXT   NOT NULL PRIMARY KEY,
    chain                     TEXT   NOT NULL,
    account                   TEXT   NOT NULL,
    account_nonce             BIGINT NOT NULL,
    kind                      TEXT   NOT NULL,
    max_fee_per_gas           TEXT   NOT NULL,
    max_priority_fee_per_gas  TEXT   NOT NULL,
    sent_at                   BIGINT NOT NULL,
    status                    TEXT   NOT NULL
);
CREATE INDEX attempts_by_status ON attempts (chain, status, account_nonce);

-- The transfers an attempt serves, in the order of the call.
CREATE TABLE attempt_transfers (
    tx_hash      TEXT   NOT NULL,
    ordinal      BIGINT NOT NULL,
    transfer_id  TEXT   NOT NULL,
    PRIMARY KEY (tx_hash, ordinal)
);
CREATE INDEX attempt_transfers_by_transfer ON attempt_transfers (transfer_id);

-- Gas paid, charged to the transfers a transaction served (zero id: served none).
CREATE TABLE costs (
    tx_hash      TEXT   NOT NULL,
    transfer_id  TEXT   NOT NULL,
    ordinal      BIGINT NOT NULL,
    chain        TEXT   NOT NULL,
    kind         TEXT   NOT NULL,
    token        TEXT   NOT NULL,
    cost_wei     TEXT   NOT NULL,
    block        BIGINT NOT NULL,
    block_time   BIGINT NOT NULL,
    PRIMARY KEY (tx_hash, transfer_id)
);

-- Fees the bridge took from holders at the source, in the token's smallest units.
CREATE TABLE fees (
    transfer_id  TEXT   NOT NULL,
    chain        TEXT   NOT NULL,
    token        TEXT   NOT NULL,
    amount       TEXT   NOT NULL,
    block_time   BIGINT NOT NULL,
    PRIMARY KEY (transfer_id, chain)
);
