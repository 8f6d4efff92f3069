/* stream_read.h - a pure streaming-read kernel: the measured read ceiling.
 *
 * run-kernel times it on the same byte count as a config's K/V to report
 * ceil_gbps next to kv_gbps.  Several candidate reads exist
 * (stream_read_plan.h lists them; tools/bench-ceiling.c times them all,
 * docs/kernels/stream_read.md); stream_read_launch() runs the one the
 * dispatch table of stream_read_plan.c names for the size.  Plain C header
 * (no CUDA headers needed).
 */
#ifndef STREAM_READ_H
#define STREAM_READ_H

#include <stddef.h>

#include "stream_read_plan.h"

#ifdef __cplusplus
extern "C" {
#endif

struct CUstream_st; /* = cudaStream_t */

/* Enqueue one read of `bytes` bytes at device pointer `buf` (16-byte
 * aligned; any tail is read bytewise) on `stream`.  A tiny reduction of the
 * data is added to sink[0] (one float, device memory) so the loads cannot be
 * optimized away; its value is meaningless.  Returns a cudaError_t
 * (0 = success).  bytes == 0 launches nothing.  It runs the variant
 * stream_read_dispatch() names for the size, or nc4 where that one cannot
 * run on this device (stream_read_check() says why). */
int stream_read_launch(const void *buf, size_t bytes, float *sink, struct CUstream_st *stream);

/* How a launch ran (filled by stream_read_launch_variant when non-NULL). */
struct stream_read_info {
	unsigned grid;             /* CTAs (0: nothing launched) */
	int threads;               /* threads a CTA */
	int resident;              /* CTAs of the kernel that fit on an SM (occupancy) */
	size_t smem_bytes;         /* dynamic shared memory a CTA */
	unsigned long long piece_bytes; /* contiguous bytes a CTA reads at a time */
};

/* NULL when variant v can run on the current device, else why not (static
 * text: not in this build's device image, too much shared memory, ...). */
const char *stream_read_check(const struct sr_variant *v);

/* The same read by variant v.  fold NULL: as stream_read_launch (sink[0]);
 * else the xor of every 32-bit word of the 16-byte words and of every tail
 * byte (zero-extended) is xor-ed into *fold (device memory) instead, so a
 * test can compare it with the host's (tools/bench-ceiling.c --check).
 * Returns a cudaError_t; cudaErrorNotSupported when stream_read_check()
 * says no. */
int stream_read_launch_variant(const struct sr_variant *v, const void *buf, size_t bytes, float *sink,
			       unsigned *fold, struct CUstream_st *stream, struct stream_read_info *info);

/* The variant stream_read_launch() runs for `bytes` bytes (NULL: the
 * dispatch table has a spec that does not parse). */
const struct sr_variant *stream_read_dispatch(size_t bytes);

#ifdef __cplusplus
}
#endif

#endif
