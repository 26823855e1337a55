-- The audit joins executions and deposit votes to the transfer seen at the same nonce; without
-- this index each audit round scanned every transfer per row (seconds at 10,000 transfers).
CREATE INDEX transfers_by_nonce ON transfers (direction, nonce);
