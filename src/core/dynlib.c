/* Opening a shared library at first use (see dynlib.h): dlopen by soname, resolve every entry point
 * up front so a missing one is reported once, at load, naming the library, the symbol and the
 * Debian package to install, instead of failing later in the middle of a run. */
#include "core/dynlib.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

/* The table slots are function pointers filled from dlsym's void *: POSIX makes them the same size. */
_Static_assert(sizeof(void *) == sizeof(void (*)(void)), "function and data pointers differ in size");

/* One lock for every library: loads are rare (once per library per process) and short. */
static pthread_mutex_t load_mu = PTHREAD_MUTEX_INITIALIZER;

static void load(struct nb_dynlib *lib)
{
    /* RTLD_NOW: unresolved references inside the library fail here, not at some later call.
     * RTLD_LOCAL: its symbols do not become visible to libraries loaded after it. */
    void *h = dlopen(lib->soname, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *why = dlerror();
        snprintf(lib->error, sizeof lib->error, "cannot load %s (%s); install the Debian package %s", lib->soname,
                 why ? why : "unknown reason", lib->package);
        atomic_store_explicit(&lib->state, -1, memory_order_release);
        return;
    }
    for (size_t i = 0; i < lib->n_syms; i++) {
        dlerror();
        void *p = dlsym(h, lib->syms[i].name);
        if (!p) {
            const char *why = dlerror();
            snprintf(lib->error, sizeof lib->error,
                     "cannot load %s: it has no entry point %s (%s); install a current version of the Debian package %s",
                     lib->soname, lib->syms[i].name, why ? why : "symbol is NULL", lib->package);
            /* Not closed: a half-usable handle is harmless, and dlclose of a library whose
             * constructors ran is not always safe. */
            atomic_store_explicit(&lib->state, -1, memory_order_release);
            return;
        }
        /* Copying the bytes into the function-pointer slot avoids an object-to-function pointer
         * cast, which ISO C leaves undefined (POSIX defines dlsym's result to work either way). */
        memcpy((char *)lib->table + lib->syms[i].offset, &p, sizeof p);
    }
    atomic_store_explicit(&lib->state, 1, memory_order_release);
}

bool nb_dynlib_ready(struct nb_dynlib *lib)
{
    int s = atomic_load_explicit(&lib->state, memory_order_acquire);
    if (s == 0) {
        pthread_mutex_lock(&load_mu);
        if (atomic_load_explicit(&lib->state, memory_order_relaxed) == 0) load(lib);
        pthread_mutex_unlock(&load_mu);
        s = atomic_load_explicit(&lib->state, memory_order_acquire);
    }
    return s == 1;
}

const char *nb_dynlib_error(struct nb_dynlib *lib)
{
    return atomic_load_explicit(&lib->state, memory_order_acquire) == -1 ? lib->error : NULL;
}

nb_status nb_dynlib_require(struct nb_dynlib *lib, const char *who, struct nb_error *err)
{
    if (nb_dynlib_ready(lib)) return NB_OK;
    return nb_error_set(err, NB_ERR_UNSUPPORTED, "%s: %s", who, lib->error);
}
