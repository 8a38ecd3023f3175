/* Test helper for the dlopen'd libraries (core/dynlib.h): run this test binary again in a child
 * whose LD_LIBRARY_PATH starts with a directory holding an empty file named `soname`, so loading
 * that library fails, with arguments `flag DIR`; the child runs its own checks and exits 0 when
 * they pass. Include after <cmocka.h>. */
#ifndef NB_TEST_BROKEN_LIB_H
#define NB_TEST_BROKEN_LIB_H

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static inline void run_child_with_broken_lib(const char *soname, const char *argv0, const char *flag)
{
    char dir[] = "/tmp/nb-broken-lib-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char so[sizeof dir + 64];
    snprintf(so, sizeof so, "%s/%s", dir, soname);
    int fd = open(so, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    close(fd);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        setenv("LD_LIBRARY_PATH", dir, 1);
        execl("/proc/self/exe", argv0, flag, dir, (char *)NULL);
        _exit(99);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    unlink(so);
    rmdir(dir);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

#endif
