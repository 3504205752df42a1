/*
 * Shared-memory byte ring; see ring.h.
 *
 * Layout of the memfd: one page holding struct ring_shared, then CAPACITY
 * data bytes. The producer only stores write_position and the consumer only
 * stores read_position, each with release ordering after its data access,
 * so no lock is needed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ring.h"

#define RING_MAGIC 0x43414b4552494e47ULL	/* "CAKERING" */
#define RING_HEADER_SIZE 4096

struct ring_shared {
	uint64_t magic;
	uint64_t capacity;
	_Atomic uint64_t write_position;
	_Atomic uint64_t read_position;
	_Atomic uint64_t drops;
};

struct ring {
	int fd;
	int owns_fd;
	size_t capacity;
	size_t map_size;
	struct ring_shared *shared;
	unsigned char *data;
};

static struct ring *
ring_map(int fd, size_t capacity, int owns_fd)
{
	struct ring *ring;
	void *map;

	ring = calloc(1, sizeof *ring);
	if (ring == NULL)
		return NULL;

	ring->map_size = RING_HEADER_SIZE + capacity;
	map = mmap(NULL, ring->map_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED) {
		free(ring);
		return NULL;
	}

	ring->fd = fd;
	ring->owns_fd = owns_fd;
	ring->capacity = capacity;
	ring->shared = map;
	ring->data = (unsigned char *)map + RING_HEADER_SIZE;
	return ring;
}

struct ring *
ring_create(const char *name, size_t capacity)
{
	struct ring *ring;
	int fd;

	if (capacity == 0 || (capacity & (capacity - 1)) != 0) {
		errno = EINVAL;
		return NULL;
	}

	fd = memfd_create(name, MFD_CLOEXEC);
	if (fd < 0)
		return NULL;
	if (ftruncate(fd, (off_t)(RING_HEADER_SIZE + capacity)) < 0)
		goto fail;

	ring = ring_map(fd, capacity, 1);
	if (ring == NULL)
		goto fail;

	ring->shared->magic = RING_MAGIC;
	ring->shared->capacity = capacity;
	atomic_store(&ring->shared->write_position, 0);
	atomic_store(&ring->shared->read_position, 0);
	atomic_store(&ring->shared->drops, 0);
	return ring;

fail:
	{
		int saved_errno = errno;

		close(fd);
		errno = saved_errno;
	}
	return NULL;
}

struct ring *
ring_attach(int fd)
{
	struct ring_shared header;
	struct stat st;

	if (fstat(fd, &st) < 0)
		return NULL;
	if (st.st_size < RING_HEADER_SIZE || pread(fd, &header, sizeof header, 0) != sizeof header) {
		errno = EINVAL;
		return NULL;
	}
	if (header.magic != RING_MAGIC ||
	    (off_t)(RING_HEADER_SIZE + header.capacity) != st.st_size) {
		errno = EINVAL;
		return NULL;
	}

	return ring_map(fd, header.capacity, 0);
}

void
ring_free_ring(struct ring *ring)
{
	if (ring == NULL)
		return;
	munmap(ring->shared, ring->map_size);
	if (ring->owns_fd)
		close(ring->fd);
	free(ring);
}

int
ring_fd(const struct ring *ring)
{
	return ring->fd;
}

size_t
ring_capacity(const struct ring *ring)
{
	return ring->capacity;
}

uint64_t
ring_write_position(const struct ring *ring)
{
	return atomic_load_explicit(&ring->shared->write_position, memory_order_acquire);
}

uint64_t
ring_read_position(const struct ring *ring)
{
	return atomic_load_explicit(&ring->shared->read_position, memory_order_acquire);
}

size_t
ring_used(const struct ring *ring)
{
	return (size_t)(ring_write_position(ring) - ring_read_position(ring));
}

size_t
ring_free(const struct ring *ring)
{
	return ring->capacity - ring_used(ring);
}

size_t
ring_write(struct ring *ring, const void *data, size_t length)
{
	uint64_t position = ring_write_position(ring);
	size_t offset, first;

	if (length > ring_free(ring))
		length = ring_free(ring);
	if (length == 0)
		return 0;

	offset = (size_t)(position & (ring->capacity - 1));
	first = ring->capacity - offset;
	if (first > length)
		first = length;
	memcpy(ring->data + offset, data, first);
	memcpy(ring->data, (const unsigned char *)data + first, length - first);

	atomic_store_explicit(&ring->shared->write_position, position + length,
	    memory_order_release);
	return length;
}

size_t
ring_peek(const struct ring *ring, uint64_t from, void *data, size_t length)
{
	uint64_t end = ring_write_position(ring);
	uint64_t start = ring_read_position(ring);
	size_t available, offset, first;

	if (from < start || from > end)
		return 0;
	available = (size_t)(end - from);
	if (length > available)
		length = available;
	if (length == 0)
		return 0;

	offset = (size_t)(from & (ring->capacity - 1));
	first = ring->capacity - offset;
	if (first > length)
		first = length;
	memcpy(data, ring->data + offset, first);
	memcpy((unsigned char *)data + first, ring->data, length - first);
	return length;
}

void
ring_commit(struct ring *ring, uint64_t position)
{
	uint64_t current = ring_read_position(ring);

	if (position <= current || position > ring_write_position(ring))
		return;
	atomic_store_explicit(&ring->shared->read_position, position, memory_order_release);
}

uint64_t
ring_drops(const struct ring *ring)
{
	return atomic_load(&ring->shared->drops);
}

void
ring_add_drops(struct ring *ring, uint64_t bytes)
{
	atomic_fetch_add(&ring->shared->drops, bytes);
}
