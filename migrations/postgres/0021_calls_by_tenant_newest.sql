-- A tenant's calls in the order of the call list (newest first), so that a reader of a few
-- tenants pages through their calls from this index instead of walking every call
-- (store/calls.rs, `list`). It replaces the index by tenant alone, so ingest keeps one index
-- entry per call.
DROP INDEX calls_tenant;
CREATE INDEX calls_tenant ON calls (tenant_id, seq);
