/* The libcurl entry points nebula uses (all from net/http.c), loaded from libcurl.so.4 on first use
 * (core/dynlib.h), so runs without HTTP never map libcurl and its ~25 dependencies. If it cannot be
 * loaded, curl_global_init (http.c's first call) fails and nb_curl_load_error says why. */
#define CURL_DISABLE_TYPECHECK   /* the type-checking macros would wrap our stubs' own names */
#include <curl/curl.h>
#include <stdarg.h>

#include "core/dynlib.h"
#include "net/http.h"

#define CURL_FUNCS(F, V)                                                                              \
    F(CURLcode, curl_global_init, (long flags), (flags), CURLE_FAILED_INIT)                           \
    F(CURLSH *, curl_share_init, (void), (), NULL)                                                    \
    F(CURLSHcode, curl_share_cleanup, (CURLSH *share), (share), CURLSHE_INVALID)                      \
    F(CURL *, curl_easy_init, (void), (), NULL)                                                       \
    V(curl_easy_reset, (CURL *curl), (curl))                                                          \
    V(curl_easy_cleanup, (CURL *curl), (curl))                                                        \
    F(CURLcode, curl_easy_perform, (CURL *curl), (curl), CURLE_FAILED_INIT)                           \
    F(struct curl_slist *, curl_slist_append, (struct curl_slist *list, const char *data), (list, data), NULL) \
    V(curl_slist_free_all, (struct curl_slist *list), (list))                                         \
    F(const char *, curl_easy_strerror, (CURLcode code), (code), "libcurl is not loaded")

/* Variadic: the stubs below read the one argument as the type libcurl reads it and pass it on. */
#define CURL_VARIADIC(F, V)                                                                           \
    F(CURLcode, curl_easy_setopt, (CURL *curl, CURLoption option, ...), , )                           \
    F(CURLcode, curl_easy_getinfo, (CURL *curl, CURLINFO info, ...), , )                              \
    F(CURLSHcode, curl_share_setopt, (CURLSH *share, CURLSHoption option, ...), , )

NB_DYNLIB_DEFINE("libcurl.so.4", "libcurl4", CURL_FUNCS, CURL_VARIADIC)

const char *nb_curl_load_error(void) { return nb_dynlib_error(&nb_dynlib_this); }

/* The option number says the argument's type (curl.h, CURLOPTTYPE_*): each type owns a range of
 * 10000 numbers. */
NB_DYNLIB_HIDDEN CURLcode curl_easy_setopt(CURL *curl, CURLoption option, ...)
{
    if (!nb_dynlib_ready(&nb_dynlib_this)) return CURLE_FAILED_INIT;
    va_list ap;
    va_start(ap, option);
    CURLcode rc;
    int type = (int)option / 10000 * 10000;
    switch (type) {
    case CURLOPTTYPE_LONG:   /* also CURLOPTTYPE_VALUES */
        rc = nb_dynlib_api.curl_easy_setopt(curl, option, va_arg(ap, long));
        break;
    case CURLOPTTYPE_OBJECTPOINT:   /* also STRINGPOINT, SLISTPOINT, CBPOINT */
        rc = nb_dynlib_api.curl_easy_setopt(curl, option, va_arg(ap, void *));
        break;
    case CURLOPTTYPE_FUNCTIONPOINT:
        rc = nb_dynlib_api.curl_easy_setopt(curl, option, va_arg(ap, void (*)(void)));
        break;
    case CURLOPTTYPE_OFF_T:
        rc = nb_dynlib_api.curl_easy_setopt(curl, option, va_arg(ap, curl_off_t));
        break;
    case CURLOPTTYPE_BLOB:
        rc = nb_dynlib_api.curl_easy_setopt(curl, option, va_arg(ap, struct curl_blob *));
        break;
    default:
        rc = CURLE_UNKNOWN_OPTION;
        break;
    }
    va_end(ap);
    return rc;
}

/* Every CURLINFO_* takes a pointer; its mask (CURLINFO_TYPEMASK) only says to what. */
NB_DYNLIB_HIDDEN CURLcode curl_easy_getinfo(CURL *curl, CURLINFO info, ...)
{
    if (!nb_dynlib_ready(&nb_dynlib_this)) return CURLE_FAILED_INIT;
    va_list ap;
    va_start(ap, info);
    CURLcode rc;
    switch ((int)info & CURLINFO_TYPEMASK) {
    case CURLINFO_STRING:
    case CURLINFO_LONG:
    case CURLINFO_DOUBLE:
    case CURLINFO_SLIST:   /* also CURLINFO_PTR */
    case CURLINFO_SOCKET:
    case CURLINFO_OFF_T:
        rc = nb_dynlib_api.curl_easy_getinfo(curl, info, va_arg(ap, void *));
        break;
    default:
        rc = CURLE_UNKNOWN_OPTION;
        break;
    }
    va_end(ap);
    return rc;
}

/* As libcurl's share.c reads them: SHARE/UNSHARE an int (curl_lock_data), LOCKFUNC/UNLOCKFUNC a
 * function, USERDATA a pointer. */
NB_DYNLIB_HIDDEN CURLSHcode curl_share_setopt(CURLSH *share, CURLSHoption option, ...)
{
    if (!nb_dynlib_ready(&nb_dynlib_this)) return CURLSHE_NOT_BUILT_IN;
    va_list ap;
    va_start(ap, option);
    CURLSHcode rc;
    switch (option) {
    case CURLSHOPT_SHARE:
    case CURLSHOPT_UNSHARE:
        rc = nb_dynlib_api.curl_share_setopt(share, option, va_arg(ap, int));
        break;
    case CURLSHOPT_LOCKFUNC:
    case CURLSHOPT_UNLOCKFUNC:
        rc = nb_dynlib_api.curl_share_setopt(share, option, va_arg(ap, void (*)(void)));
        break;
    case CURLSHOPT_USERDATA:
        rc = nb_dynlib_api.curl_share_setopt(share, option, va_arg(ap, void *));
        break;
    default:
        rc = CURLSHE_BAD_OPTION;
        break;
    }
    va_end(ap);
    return rc;
}
