-- How often this relayer acted on a transfer without it moving on, and when it may act again.
-- A transfer whose action keeps failing (a release its token refuses, a stalled deposit whose
-- token is still unmapped) is parked with a growing pause instead of being retried every
-- round, and parked transfers leave the planner's window so they never hold up the others.
CREATE TABLE tries (
    transfer_id  TEXT   NOT NULL PRIMARY KEY,
    kind         TEXT   NOT NULL,
    count        BIGINT NOT NULL,
    next_at      BIGINT NOT NULL,
    reason       TEXT   NOT NULL
);
CREATE INDEX tries_by_next_at ON tries (next_at);
