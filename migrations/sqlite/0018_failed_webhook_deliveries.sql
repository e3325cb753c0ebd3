-- The outbound webhook deliveries that failed for good, newest first, for the console's Ops
-- page (those being retried are found by webhook_deliveries_due).
CREATE INDEX webhook_deliveries_failed ON webhook_deliveries (created_at) WHERE status = 'failed';
