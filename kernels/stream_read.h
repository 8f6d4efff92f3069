/* stream_read.h - the measured ceiling: a pure streaming read of `bytes`
 * bytes at buf (16-byte aligned), reduced into sink so the loads are not
 * optimized away.  run-kernel times it on the same byte count as each config
 * (ceil_gbps).  Returns a cudaError_t (0 = success). */
#ifndef STREAM_READ_H
#define STREAM_READ_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

struct CUstream_st;
int stream_read_launch(const void *buf, size_t bytes, float *sink, struct CUstream_st *stream);

#ifdef __cplusplus
}
#endif

#endif
