/* rng.h - the one seeded random source of the inputs: splitmix64, so every
 * value is a pure function of (seed, stream, index), the same on any thread
 * count and for any kernel. */
#ifndef RNG_H
#define RNG_H

#include <stdint.h>

/* Independent streams of one seed. */
enum rng_stream { RNG_Q = 0, RNG_K = 1, RNG_V = 2, RNG_POOL = 3 };

static inline uint64_t splitmix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static inline uint64_t rng_key(uint64_t seed, enum rng_stream stream)
{
	return splitmix64(seed * 3 + (uint64_t)stream);
}

/* The index-th value of the stream keyed by key. */
static inline uint64_t rng_at(uint64_t key, uint64_t index)
{
	return splitmix64(key ^ splitmix64(index));
}

/* Sequential draws: advances *state. */
static inline uint64_t rng_next(uint64_t *state)
{
	*state += 0x9e3779b97f4a7c15ull;
	return splitmix64(*state);
}

#endif
