-- Adaptive per-webhook concurrency (the lane's limit follows the receiver,
-- with max_in_flight as its ceiling), or fixed (exactly max_in_flight).
-- Webhooks still at the old default of 4 meant "the default": they become
-- adaptive under the new default ceiling of 256. Any other value was chosen
-- by an operator, who meant exactly that number: those stay fixed.
ALTER TABLE webhooks ADD COLUMN concurrency TEXT NOT NULL DEFAULT 'adaptive';
UPDATE webhooks SET concurrency = 'fixed' WHERE max_in_flight <> 4;
UPDATE webhooks SET max_in_flight = 256 WHERE max_in_flight = 4;
