-- The signed transaction itself, so that an attempt found pending after a restart can be
-- broadcast again (the node may have dropped it) and replaced with a higher fee. Hex, 0x-
-- prefixed; empty for attempts recorded before this column existed.
ALTER TABLE attempts ADD COLUMN raw_tx TEXT NOT NULL DEFAULT '';
