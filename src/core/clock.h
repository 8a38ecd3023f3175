/* Clocks: monotonic for durations and deadlines, wall for timestamps in output. */
#ifndef NB_CORE_CLOCK_H
#define NB_CORE_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t nb_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}
static inline uint64_t nb_mono_ms(void) { return nb_mono_ns() / 1000000ull; }
static inline int64_t nb_wall_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

#endif
