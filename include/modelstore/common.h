/*
 * libmodelstore — common definitions: export macro, versions, error codes,
 * per-thread error messages, the allocator hook and progress callbacks.
 *
 * Conventions used by every header of the library:
 *   - Handles are opaque (`ms_artifact`, `ms_report`) and released by their
 *     own `*_free` function, which accepts NULL.
 *   - Functions return `int`: MS_OK (0) on success, a negative MS_E* code on
 *     failure. The message of the last failure on the calling thread is
 *     returned by ms_error_last().
 *   - Options structs start with an `unsigned int version` field. Initialise
 *     them with the matching *_OPTIONS_INIT macro or *_options_init()
 *     function; fields are only ever appended, so a program compiled against
 *     an older header keeps working with a newer library.
 *   - Memory that the library returns to the caller (JSON strings) is
 *     released with ms_free().
 */
#ifndef MODELSTORE_COMMON_H
#define MODELSTORE_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32) && defined(MS_BUILDING_LIBRARY)
#  define MS_EXTERN __declspec(dllexport)
#elif defined(__GNUC__) && defined(MS_BUILDING_LIBRARY)
#  define MS_EXTERN __attribute__((visibility("default")))
#else
#  define MS_EXTERN
#endif

/* ---- Versions --------------------------------------------------------- */

#define MS_VERSION_MAJOR 0
#define MS_VERSION_MINOR 1
#define MS_VERSION_PATCH 0
#define MS_VERSION_STRING "0.1.0"
/* One number that grows with every release: major*10000 + minor*100 + patch. */
#define MS_VERSION_NUMBER (MS_VERSION_MAJOR * 10000 + MS_VERSION_MINOR * 100 + MS_VERSION_PATCH)

/* The version of the library actually loaded, as MS_VERSION_NUMBER. Bindings
 * compare it with the version they were written for. */
MS_EXTERN int ms_version(void);
/* The same as text, e.g. "0.1.0". */
MS_EXTERN const char *ms_version_string(void);

/* ---- Errors ----------------------------------------------------------- */

typedef enum ms_error_code {
	MS_OK = 0,
	MS_ERROR = -1,        /* unclassified failure */
	MS_ENOMEM = -2,       /* allocation failed or a memory cap was reached */
	MS_EINVAL = -3,       /* invalid argument passed by the caller */
	MS_EIO = -4,          /* the operating system refused a read or open */
	MS_EFORMAT = -5,      /* the bytes are malformed or of no known format */
	MS_ELIMIT = -6,       /* a configured limit (size, count, depth) was exceeded */
	MS_ECANCELLED = -7,   /* a progress callback asked to stop */
	MS_EUNSUPPORTED = -8, /* valid input using a feature the library lacks */
	MS_EMISUSE = -9,      /* call made in the wrong state (e.g. late config) */
	MS_ENOTFOUND = -10,   /* a named item does not exist */
	MS_EVERSION = -11,    /* an options struct has a version this library lacks */
	MS_ECHANGED = -12     /* the file changed (shrank) while it was being read */
} ms_error_code;

/* The message of the last error raised on the calling thread, or "" when
 * none. The pointer stays valid until the next failing call on this thread. */
MS_EXTERN const char *ms_error_last(void);
/* The code of the last error on the calling thread (MS_OK when none). */
MS_EXTERN int ms_error_last_code(void);
/* Forget the last error of the calling thread. */
MS_EXTERN void ms_error_clear(void);
/* A static description of an error code, e.g. "malformed input". */
MS_EXTERN const char *ms_strerror(int code);

/* ---- Memory ----------------------------------------------------------- */

/* Releases memory handed out by the library (JSON text). NULL is ignored. */
MS_EXTERN void ms_free(void *ptr);

/* A replacement for malloc/realloc/free. Install it with ms_config_allocator()
 * once, before any other call into the library (as SQLite's
 * sqlite3_config(SQLITE_CONFIG_MALLOC)); later calls fail with MS_EMISUSE. */
typedef struct ms_allocator {
	unsigned int version; /* MS_ALLOCATOR_VERSION */
	void *(*malloc_fn)(size_t size, void *user);
	void *(*realloc_fn)(void *ptr, size_t size, void *user);
	void (*free_fn)(void *ptr, void *user);
	void *user;
} ms_allocator;

#define MS_ALLOCATOR_VERSION 1
#define MS_ALLOCATOR_INIT { MS_ALLOCATOR_VERSION, NULL, NULL, NULL, NULL }

MS_EXTERN int ms_config_allocator(const ms_allocator *allocator);

/* ---- Progress --------------------------------------------------------- */

/* Called from long operations (hashing, validating, packing) with the bytes
 * done so far and the total expected (0 when unknown). Return 0 to go on,
 * any other value to stop: the operation then fails with MS_ECANCELLED. */
typedef int (*ms_progress_fn)(uint64_t done, uint64_t total, void *user);

#ifdef __cplusplus
}
#endif
#endif
