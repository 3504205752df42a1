/*
 * Where CAKE keeps its state and finds its parts.
 *
 * CAKE_HOME (default ~/.cake) holds recall.db, logs/, the control socket
 * cake.sock and the instance lock cake.lock. Adapters are executables named
 * cake-adapter-NAME, looked up in the install's libexec/cake directory, then
 * in each directory of CAKE_ADAPTER_PATH (colon-separated).
 */
#ifndef CAKE_PATHS_H
#define CAKE_PATHS_H

#include <stddef.h>

/* Writes CAKE_HOME to OUT. Returns 0, or -1 when neither CAKE_HOME nor HOME is set. */
int paths_cake_home(char *out, size_t size);

/* Creates DIR (and missing parents) with MODE. Returns 0, or -1 with errno set. */
int paths_mkdir_p(const char *dir, unsigned mode);

/* Joins DIR and NAME into OUT. Returns 0, or -1 when the result does not fit. */
int paths_join(char *out, size_t size, const char *dir, const char *name);

/* Directory of the running executable. Returns 0, or -1 with errno set. */
int paths_exe_dir(char *out, size_t size);

/* Path of the running executable. Returns 0, or -1 with errno set. */
int paths_exe(char *out, size_t size);

/* The install's libexec/cake and share/cake directories, relative to the executable. */
int paths_libexec_dir(char *out, size_t size);
int paths_data_dir(char *out, size_t size);

/*
 * Finds the executable of adapter NAME. Returns 0 with its path in OUT, or
 * -1 when none exists (NAME containing '/' is never looked up).
 */
int paths_find_adapter(const char *name, char *out, size_t size);

/*
 * Lists the adapters found, comma-separated and sorted ("claude-code, exec"),
 * into OUT, for error messages.
 */
void paths_list_adapters(char *out, size_t size);

#endif
