-- Withdrawal signatures are stored as published and checked (recovered to their validator)
-- only when a release uses them, by the relayer that sends it. So that a forged record under
-- a validator's name (from a lying node) cannot keep that validator's genuine signature out,
-- each distinct signature has its own row.
CREATE TABLE signatures_by_content (
    transfer_id  TEXT   NOT NULL,
    validator    TEXT   NOT NULL,
    nonce        BIGINT NOT NULL,
    signature    TEXT   NOT NULL,
    PRIMARY KEY (transfer_id, validator, signature)
);
INSERT INTO signatures_by_content (transfer_id, validator, nonce, signature)
    SELECT transfer_id, validator, nonce, signature FROM signatures;
DROP TABLE signatures;
ALTER TABLE signatures_by_content RENAME TO signatures;
