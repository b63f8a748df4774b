/*
** tests/testrng.h: the tests' seeded random numbers, xorshift64*: the same
** sequence on every machine, so a failing case can be run again. Define
** TEST_SEED before including (or set rng in each test); pick(lo, hi) is
** uniform over [lo, hi], u01() over [0, 1), uni() over [-1, 1).
*/
#ifndef TPU_TESTRNG_H
#define TPU_TESTRNG_H
#include <stdint.h>

static uint64_t rng = TEST_SEED;
static inline uint64_t next_u64(void) { rng ^= rng >> 12; rng ^= rng << 25; rng ^= rng >> 27; return rng * 0x2545F4914F6CDD1Dull; }
static inline int64_t pick(int64_t lo, int64_t hi) { return lo + (int64_t)(next_u64() % (uint64_t)(hi - lo + 1)); }
static inline double u01(void) { return (double)(next_u64() >> 11) / 9007199254740992.0; }
static inline float uni(void) { return (float)(u01() * 2.0 - 1.0); }
#endif
