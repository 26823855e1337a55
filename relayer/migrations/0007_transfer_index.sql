-- The public transfer index (`relayer index`) reads the same tables the relayer writes, and
-- asks them by source time, transaction, address and token. Same portability rules as 0001:
-- TEXT and BIGINT only, natural keys, no foreign keys.
--
-- `source_time` is the Unix time of the source block: the index's order, which must come out
-- the same when the index is rebuilt from the chains (`created_at` is when a row was stored).
-- Rows written before this column existed read 0 and sort last.
ALTER TABLE transfers ADD COLUMN source_time BIGINT NOT NULL DEFAULT 0;
CREATE INDEX transfers_by_source_time ON transfers (source_time, id);
CREATE INDEX transfers_by_source_tx ON transfers (source_tx);
CREATE INDEX transfers_by_sender ON transfers (sender);
CREATE INDEX transfers_by_recipient ON transfers (recipient);
CREATE INDEX transfers_by_token ON transfers (token);
-- The destination leg: a mint or release is an execution row (queued = 0) with its
-- transaction and block; found by transfer and by transaction.
CREATE INDEX executions_by_transfer ON executions (transfer_id);
CREATE INDEX executions_by_tx ON executions (tx_hash);
