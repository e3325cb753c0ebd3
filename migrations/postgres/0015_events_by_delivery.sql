-- The events of a delivery, by the delivery's id: retention and erasure delete a call's
-- deliveries once no event refers to them, which asks for the events of a delivery (and
-- SQLite checks the events' foreign key the same way when a delivery row is deleted).
-- Delivery ids only grow, so new entries go at the index's end.
CREATE INDEX events_delivery ON events (delivery_id);
