/* Shared libraries opened at first use (dlopen by soname, dlsym of a list of entry points), so a run
 * that never talks to PostgreSQL, MySQL, HTTP or serves metrics does not pay for mapping and
 * relocating libpq, libmariadb, libcurl, libmicrohttpd and the ~30 libraries they pull in. */
#ifndef NB_CORE_DYNLIB_H
#define NB_CORE_DYNLIB_H

#include <stdbool.h>
#include <stddef.h>

#include "core/error.h"

/* One entry point: its name and where in the library's table of function pointers it goes. */
struct nb_dynlib_sym {
    const char *name;
    size_t offset;
};

struct nb_dynlib {
    const char *soname;                 /* "libpq.so.5" */
    const char *package;                /* the Debian package that provides it, for the message */
    const struct nb_dynlib_sym *syms;
    size_t n_syms;
    void *table;                        /* a struct of function pointers, filled by the load */
    _Atomic int state;                  /* 0 not tried yet, 1 loaded, -1 failed (not retried) */
    char error[512];
};

#define NB_DYNLIB_INIT(soname_, package_, syms_, table_) \
    { .soname = (soname_), .package = (package_), .syms = (syms_), \
      .n_syms = sizeof(syms_) / sizeof((syms_)[0]), .table = (table_) }

/* True when lib is loaded and every entry point resolved. The first call loads it (thread-safe);
 * later calls cost one atomic load. A library is never closed: its atexit handlers and thread
 * destructors must stay mapped. */
bool nb_dynlib_ready(struct nb_dynlib *lib);

/* Why lib could not be loaded ("cannot load libpq.so.5 (...); install the Debian package libpq5"),
 * or NULL when it is loaded or was never tried. */
const char *nb_dynlib_error(struct nb_dynlib *lib);

/* Loads lib (as nb_dynlib_ready) for a caller about to use it: NB_OK, or NB_ERR_UNSUPPORTED with
 * "<who>: cannot load ...; install the Debian package ..." so the failure names the place. */
nb_status nb_dynlib_require(struct nb_dynlib *lib, const char *who, struct nb_error *err);

/* ---- forwarding files (src/net/curl_lib.c, src/connectors/postgres/pq_lib.c, ...) ------------- *
 * Such a file includes the library's header, lists the entry points nebula calls as
 *   #define LIST(F, V) F(ret, name, (params), (args), value_if_not_loaded) V(name, (params), (args))
 * (F returns a value, V is void) and says NB_DYNLIB_DEFINE("libx.so.N", "libxN", LIST, HAND). That
 * defines, for this file only, the table `nb_dynlib_api`, the loader state `nb_dynlib_this` and one
 * stub per entry point with the library's own name and prototype, so call sites stay unchanged; the
 * compiler checks each stub against the header's declaration. HAND(F, V) lists entry points that get
 * a table slot but whose stub the file writes itself (variadic ones: only the file knows how to read
 * the arguments); NB_DYNLIB_NONE when there are none. The stubs are hidden: the executable must not
 * export them, or the loaded library's calls to its own functions would land in them. */
#define NB_DYNLIB_NONE(F, V)
#define NB_DYNLIB_MEMBER_(ret, name, params, args, fail) ret(*name) params;
#define NB_DYNLIB_MEMBER_V_(name, params, args) void(*name) params;
#define NB_DYNLIB_SYM_(ret, name, params, args, fail) { #name, offsetof(struct nb_dynlib_api, name) },
#define NB_DYNLIB_SYM_V_(name, params, args) { #name, offsetof(struct nb_dynlib_api, name) },
#define NB_DYNLIB_HIDDEN __attribute__((visibility("hidden")))
#define NB_DYNLIB_STUB_(ret, name, params, args, fail)                                     \
    NB_DYNLIB_HIDDEN ret name params                                                       \
    {                                                                                      \
        if (!nb_dynlib_ready(&nb_dynlib_this)) return fail;                                \
        return nb_dynlib_api.name args;                                                    \
    }
#define NB_DYNLIB_STUB_V_(name, params, args)                                              \
    NB_DYNLIB_HIDDEN void name params                                                      \
    {                                                                                      \
        if (nb_dynlib_ready(&nb_dynlib_this)) nb_dynlib_api.name args;                     \
    }
#define NB_DYNLIB_DEFINE(soname, package, LIST, HAND)                                      \
    static struct nb_dynlib_api {                                                          \
        LIST(NB_DYNLIB_MEMBER_, NB_DYNLIB_MEMBER_V_)                                       \
        HAND(NB_DYNLIB_MEMBER_, NB_DYNLIB_MEMBER_V_)                                       \
    } nb_dynlib_api;                                                                       \
    static const struct nb_dynlib_sym nb_dynlib_syms[] = {                                 \
        LIST(NB_DYNLIB_SYM_, NB_DYNLIB_SYM_V_) HAND(NB_DYNLIB_SYM_, NB_DYNLIB_SYM_V_)      \
    };                                                                                     \
    static struct nb_dynlib nb_dynlib_this = NB_DYNLIB_INIT(soname, package, nb_dynlib_syms, &nb_dynlib_api); \
    LIST(NB_DYNLIB_STUB_, NB_DYNLIB_STUB_V_)

#endif
