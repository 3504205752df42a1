-- The error memory and the pattern violation log of recall.db.
--
-- Every time column (first_seen, last_seen, last_intervention, expires_at,
-- timestamp) is INTEGER Unix seconds (UTC), so a TTL check is an integer
-- comparison such as expires_at <= CAST(strftime('%s', 'now') AS INTEGER).
--
-- `cake db verify` expects exactly these columns; a new column needs a new
-- migration and an update of the column lists in recall/store.c.

-- One row per error signature (see common/signature.h). A row whose
-- expires_at has passed counts as new when its signature is seen again.
CREATE TABLE error_memory (
	id INTEGER PRIMARY KEY,
	error_signature TEXT NOT NULL UNIQUE
	    CHECK (length(error_signature) = 64 AND error_signature NOT GLOB '*[^0-9a-f]*'),
	error_type TEXT NOT NULL,
	file_path TEXT CHECK (file_path IS NULL OR file_path <> ''),
	first_seen INTEGER NOT NULL,
	last_seen INTEGER NOT NULL CHECK (last_seen >= first_seen),
	occurrence_count INTEGER NOT NULL DEFAULT 1 CHECK (occurrence_count >= 1),
	intervention_count INTEGER NOT NULL DEFAULT 0 CHECK (intervention_count >= 0),
	success_count INTEGER NOT NULL DEFAULT 0
	    CHECK (success_count >= 0 AND success_count <= intervention_count),
	last_intervention INTEGER,
	expires_at INTEGER NOT NULL CHECK (expires_at > last_seen),
	severity TEXT CHECK (severity IN ('LOW', 'MEDIUM', 'HIGH', 'CRITICAL')),
	line_number INTEGER CHECK (line_number IS NULL OR line_number > 0),
	signature_version INTEGER NOT NULL CHECK (signature_version >= 1)
);

-- One row per blocked or audited pattern, such as a blocked command.
-- prevented is 1 when CAKE stopped the action and 0 when it only logged it.
CREATE TABLE pattern_violations (
	id INTEGER PRIMARY KEY,
	pattern_type TEXT NOT NULL CHECK (pattern_type <> ''),
	details TEXT,
	timestamp INTEGER NOT NULL,
	prevented INTEGER NOT NULL DEFAULT 0 CHECK (prevented IN (0, 1))
);
