/* stream_read.h - a pure streaming-read kernel: the measured read ceiling.
 *
 * run-kernel times it on the same byte count as a config's K/V to report
 * ceil_gbps next to kv_gbps.  Plain C header (no CUDA headers needed).
 */
#ifndef STREAM_READ_H
#define STREAM_READ_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

struct CUstream_st; /* = cudaStream_t */

/* Enqueue one read of `bytes` bytes at device pointer `buf` (16-byte aligned
 * for the fast path; any tail is read bytewise) on `stream`.  A tiny
 * reduction of the data is added to sink[0] (one float, device memory) so the
 * loads cannot be optimized away; its value is meaningless.  Returns a
 * cudaError_t (0 = success).  bytes == 0 launches nothing. */
int stream_read_launch(const void *buf, size_t bytes, float *sink, struct CUstream_st *stream);

#ifdef __cplusplus
}
#endif

#endif
