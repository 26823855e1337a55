-- The hash of the source block that held a transfer's Locked/Burned event, as the watcher saw
-- it. Before a validator votes for a deposit or signs a withdrawal, the planner asks the source
-- node for the block at that height now and acts only when it still has this hash and is
-- `confirmations` deep. Rows written before this column existed read '' (unknown): they are
-- checked for depth only.
ALTER TABLE transfers ADD COLUMN source_hash TEXT NOT NULL DEFAULT '';
