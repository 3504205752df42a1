/*
 * Single-producer, single-consumer byte ring in shared memory (memfd).
 *
 * The supervisor creates the ring and writes to it; the watchdog maps the
 * same memfd and reads. Positions are absolute byte offsets that only grow:
 * the write position counts every byte written, the committed read position
 * every byte the consumer has finished with. Both live in the shared header,
 * so a replacement consumer resumes at the last committed position and a
 * crashed consumer loses nothing it had not committed.
 *
 * The writer never overwrites uncommitted bytes: ring_write() writes at most
 * ring_free() bytes, and the caller decides whether to wait or drop.
 */
#ifndef CAKE_RING_H
#define CAKE_RING_H

#include <stddef.h>
#include <stdint.h>

struct ring;

/* Creates a ring of CAPACITY bytes (a power of two) in a new memfd. Returns NULL with errno set. */
struct ring *ring_create(const char *name, size_t capacity);

/* Maps an existing ring from FD, which the caller keeps. Returns NULL with errno set. */
struct ring *ring_attach(int fd);

void ring_free_ring(struct ring *ring);

int ring_fd(const struct ring *ring);
size_t ring_capacity(const struct ring *ring);

uint64_t ring_write_position(const struct ring *ring);
uint64_t ring_read_position(const struct ring *ring);

/* Bytes written and not yet committed. */
size_t ring_used(const struct ring *ring);
/* Bytes that can be written now without overwriting uncommitted data. */
size_t ring_free(const struct ring *ring);

/* Appends up to LENGTH bytes; returns how many were written (at most ring_free()). */
size_t ring_write(struct ring *ring, const void *data, size_t length);

/*
 * Copies up to LENGTH bytes starting at absolute position FROM into DATA.
 * FROM must lie between the committed read position and the write position.
 * Returns the number of bytes copied.
 */
size_t ring_peek(const struct ring *ring, uint64_t from, void *data, size_t length);

/* Marks everything before POSITION as consumed. POSITION never moves back. */
void ring_commit(struct ring *ring, uint64_t position);

/* Counter of bytes the writer dropped because the ring was full. */
uint64_t ring_drops(const struct ring *ring);
void ring_add_drops(struct ring *ring, uint64_t bytes);

#endif
