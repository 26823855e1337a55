-- A transfer names both bridges, not only both chains: the message validators sign is
-- Transfer{srcChainId, srcBridge, dstChainId, dstBridge, ...}, so a second bridge on a chain (a
-- redeploy, another route of the main-chain hub) never shares ids or nonces with the first.
-- Rows written before this column existed belong to bridges of the previous message (which did
-- not name bridges); they read the zero address, and their ids are not the new message's.
ALTER TABLE transfers ADD COLUMN src_bridge TEXT NOT NULL DEFAULT '0x0000000000000000000000000000000000000000';
ALTER TABLE transfers ADD COLUMN dst_bridge TEXT NOT NULL DEFAULT '0x0000000000000000000000000000000000000000';
