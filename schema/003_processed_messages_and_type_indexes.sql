-- Idempotent recording and the similar-error lookup.
--
-- processed_messages remembers the MSG_RECALL_RECORD messages already
-- counted, so a message that the supervisor sends again to a replacement
-- recall worker is not counted twice. Supervisor message ids restart at 1
-- with every supervisor, so the key also contains the signature and
-- arrived_ns (CLOCK_MONOTONIC nanoseconds of the line). A re-sent message
-- repeats all three, and two real occurrences do not. The counts are the
-- ones returned the first time, so a re-sent message gets the same reply. The recall
-- worker keeps only the newest rows (see store_cleanup in recall/store.c).
CREATE TABLE processed_messages (
	message_id INTEGER NOT NULL,
	error_signature TEXT NOT NULL,
	arrived_ns INTEGER NOT NULL,
	occurrence_count INTEGER NOT NULL CHECK (occurrence_count >= 1),
	intervention_count INTEGER NOT NULL CHECK (intervention_count >= 0),
	processed_at INTEGER NOT NULL,
	PRIMARY KEY (message_id, error_signature, arrived_ns)
);

-- store_find_similar: rows of one error type in the same file, then rows of
-- that type in any file, newest first.
CREATE INDEX idx_type_file_seen ON error_memory (error_type, file_path, last_seen);
CREATE INDEX idx_type_seen ON error_memory (error_type, last_seen);
