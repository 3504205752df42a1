/*
 * State directory and executable lookups; see paths.h.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "paths.h"

#define ADAPTER_PREFIX "cake-adapter-"

int
paths_cake_home(char *out, size_t size)
{
	const char *home = getenv("CAKE_HOME");
	int n;

	if (home != NULL && home[0] != '\0') {
		n = snprintf(out, size, "%s", home);
		return n < 0 || (size_t)n >= size ? -1 : 0;
	}

	home = getenv("HOME");
	if (home == NULL || home[0] == '\0')
		return -1;
	n = snprintf(out, size, "%s/.cake", home);
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

int
paths_mkdir_p(const char *dir, unsigned mode)
{
	char path[PATH_MAX];
	size_t length;

	if (snprintf(path, sizeof path, "%s", dir) >= (int)sizeof path) {
		errno = ENAMETOOLONG;
		return -1;
	}
	length = strlen(path);
	while (length > 1 && path[length - 1] == '/')
		path[--length] = '\0';

	for (char *p = path + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, mode) < 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(path, mode) < 0 && errno != EEXIST)
		return -1;
	return 0;
}

int
paths_join(char *out, size_t size, const char *dir, const char *name)
{
	int n;

	if (name[0] == '/')
		n = snprintf(out, size, "%s", name);
	else
		n = snprintf(out, size, "%s/%s", dir, name);
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

int
paths_exe(char *out, size_t size)
{
	ssize_t n = readlink("/proc/self/exe", out, size - 1);

	if (n < 0)
		return -1;
	if ((size_t)n >= size - 1) {
		errno = ENAMETOOLONG;
		return -1;
	}
	out[n] = '\0';
	return 0;
}

int
paths_exe_dir(char *out, size_t size)
{
	char *slash;

	if (paths_exe(out, size) < 0)
		return -1;
	slash = strrchr(out, '/');
	if (slash == NULL) {
		errno = ENOENT;
		return -1;
	}
	*slash = '\0';
	return 0;
}

/* Writes EXE_DIR/../SUBDIR: the executable sits in bin/ of the install or the build tree. */
static int
paths_sibling_dir(const char *subdir, char *out, size_t size)
{
	char exe_dir[PATH_MAX];
	int n;

	if (paths_exe_dir(exe_dir, sizeof exe_dir) < 0)
		return -1;
	n = snprintf(out, size, "%s/../%s", exe_dir, subdir);
	if (n < 0 || (size_t)n >= size) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

int
paths_libexec_dir(char *out, size_t size)
{
	return paths_sibling_dir(CAKE_LIBEXEC_SUBDIR, out, size);
}

int
paths_data_dir(char *out, size_t size)
{
	return paths_sibling_dir(CAKE_DATA_SUBDIR, out, size);
}

static int
adapter_name_valid(const char *name)
{
	if (name[0] == '\0' || name[0] == '.')
		return 0;
	for (const char *p = name; *p != '\0'; p++) {
		if (*p == '/')
			return 0;
	}
	return 1;
}

static int
executable_in(const char *dir, const char *name, char *out, size_t size)
{
	int n = snprintf(out, size, "%s/" ADAPTER_PREFIX "%s", dir, name);

	if (n < 0 || (size_t)n >= size)
		return 0;
	return access(out, X_OK) == 0;
}

int
paths_find_adapter(const char *name, char *out, size_t size)
{
	char dir[PATH_MAX];
	const char *search;

	if (!adapter_name_valid(name))
		return -1;

	if (paths_libexec_dir(dir, sizeof dir) == 0 && executable_in(dir, name, out, size))
		return 0;

	search = getenv("CAKE_ADAPTER_PATH");
	while (search != NULL && *search != '\0') {
		const char *colon = strchr(search, ':');
		size_t length = colon != NULL ? (size_t)(colon - search) : strlen(search);

		if (length > 0 && length < sizeof dir) {
			memcpy(dir, search, length);
			dir[length] = '\0';
			if (executable_in(dir, name, out, size))
				return 0;
		}
		search = colon != NULL ? colon + 1 : NULL;
	}
	return -1;
}

static int
compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Adds the adapter names found in DIR to NAMES, skipping duplicates. */
static void
collect_adapters(const char *dir, char **names, size_t *count, size_t max)
{
	DIR *d = opendir(dir);
	struct dirent *entry;

	if (d == NULL)
		return;
	while ((entry = readdir(d)) != NULL && *count < max) {
		char path[PATH_MAX];
		const char *name = entry->d_name;
		int duplicate = 0;

		if (strncmp(name, ADAPTER_PREFIX, strlen(ADAPTER_PREFIX)) != 0)
			continue;
		name += strlen(ADAPTER_PREFIX);
		if (!adapter_name_valid(name) || !executable_in(dir, name, path, sizeof path))
			continue;
		for (size_t i = 0; i < *count; i++)
			duplicate |= strcmp(names[i], name) == 0;
		if (!duplicate)
			names[(*count)++] = strdup(name);
	}
	closedir(d);
}

void
paths_list_adapters(char *out, size_t size)
{
	char *names[64];
	size_t count = 0, used = 0;
	char dir[PATH_MAX];
	const char *search;

	if (paths_libexec_dir(dir, sizeof dir) == 0)
		collect_adapters(dir, names, &count, 64);

	search = getenv("CAKE_ADAPTER_PATH");
	while (search != NULL && *search != '\0') {
		const char *colon = strchr(search, ':');
		size_t length = colon != NULL ? (size_t)(colon - search) : strlen(search);

		if (length > 0 && length < sizeof dir) {
			memcpy(dir, search, length);
			dir[length] = '\0';
			collect_adapters(dir, names, &count, 64);
		}
		search = colon != NULL ? colon + 1 : NULL;
	}

	out[0] = '\0';
	qsort(names, count, sizeof names[0], compare_names);
	for (size_t i = 0; i < count; i++) {
		if (names[i] != NULL && used < size) {
			int n = snprintf(out + used, size - used, "%s%s", i > 0 ? ", " : "", names[i]);

			if (n > 0)
				used += (size_t)n;
		}
		free(names[i]);
	}
	if (count == 0)
		snprintf(out, size, "none installed");
}
