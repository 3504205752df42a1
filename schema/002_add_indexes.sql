-- Lookups by signature and expiry sweeps.
--
-- idx_signature covers the same column as the index SQLite builds for the
-- UNIQUE constraint on error_signature. It is kept under this name because
-- `cake db verify` checks for it.
CREATE INDEX idx_signature ON error_memory (error_signature);
CREATE INDEX idx_expires ON error_memory (expires_at);
