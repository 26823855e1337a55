-- What the destination bridges accepted, and what validators voted, so that every mint, release
-- and queued transfer is compared with the transfer this relayer saw at its source (same
-- portability rules as 0001: TEXT and BIGINT only, natural keys, no foreign keys).

-- A mint (DepositExecuted), a release (Released) or a queued transfer (TransferQueued): the
-- content the destination bridge accepted for a nonce. `audited` turns 1 once the transfer at
-- that nonce is known here (whether or not it matched).
CREATE TABLE executions (
    direction    TEXT   NOT NULL,
    nonce        BIGINT NOT NULL,
    transfer_id  TEXT   NOT NULL,
    queued       BIGINT NOT NULL,
    tx_hash      TEXT   NOT NULL,
    block        BIGINT NOT NULL,
    audited      BIGINT NOT NULL,
    PRIMARY KEY (direction, nonce, transfer_id, queued)
);
CREATE INDEX executions_unaudited ON executions (audited, direction, nonce);

-- Deposit votes listed in DepositsApproved, kept until the deposit at their nonce is known.
CREATE TABLE deposit_votes (
    nonce        BIGINT NOT NULL,
    transfer_id  TEXT   NOT NULL,
    validator    TEXT   NOT NULL,
    tx_hash      TEXT   NOT NULL,
    PRIMARY KEY (transfer_id, validator)
);
CREATE INDEX deposit_votes_by_nonce ON deposit_votes (nonce);

-- Raised alarms: a forgery (the destination accepted content other than the transfer seen at
-- the source, or a nonce never used there) or a vote conflict (a validator voted content other
-- than the deposit seen). `expected_id` is the zero hash when no transfer exists at the nonce.
CREATE TABLE alarms (
    kind         TEXT   NOT NULL,
    direction    TEXT   NOT NULL,
    nonce        BIGINT NOT NULL,
    expected_id  TEXT   NOT NULL,
    seen_id      TEXT   NOT NULL,
    actor        TEXT   NOT NULL,
    tx_hash      TEXT   NOT NULL,
    raised_at    BIGINT NOT NULL,
    cleared_at   BIGINT NOT NULL,
    PRIMARY KEY (kind, direction, nonce, seen_id, actor)
);
