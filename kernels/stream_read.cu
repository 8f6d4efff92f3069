/* stream_read.cu - streaming-read ceiling kernel (see stream_read.h).
 *
 * 16-byte non-coherent loads that do not allocate in L1
 * (ld.global.nc.L1::no_allocate.v4), 256 threads a CTA, 4 independent loads
 * in flight per thread per iteration, a grid-stride loop over a grid of at
 * most 8 CTAs per SM (2048 threads/SM -> 128 KiB in flight per SM); small
 * buffers get one CTA per 16 KiB, so a tiny read shows the launch + DRAM
 * latency floor.  Each CTA xor-reduces what it read and adds one float to
 * sink[0].
 */
#include <cuda_runtime.h>
#include <stdint.h>

#include "ptx.h"
#include "stream_read.h"

#define SR_THREADS 256
#define SR_UNROLL 4

__global__ void __launch_bounds__(SR_THREADS) stream_read_kernel(const uint4 *buf, size_t n16,
								  const unsigned char *tail, int ntail, float *sink)
{
	const size_t stride = (size_t)gridDim.x * SR_THREADS;
	size_t i = (size_t)blockIdx.x * SR_THREADS + threadIdx.x;
	uint32_t acc = 0;
	for (; i + (SR_UNROLL - 1) * stride < n16; i += SR_UNROLL * stride) {
		uint4 v[SR_UNROLL];
#pragma unroll
		for (int u = 0; u < SR_UNROLL; ++u)
			v[u] = ld_nc_na_v4(buf + i + u * stride);
#pragma unroll
		for (int u = 0; u < SR_UNROLL; ++u)
			acc ^= v[u].x ^ v[u].y ^ v[u].z ^ v[u].w;
	}
	for (; i < n16; i += stride) {
		const uint4 v = ld_nc_na_v4(buf + i);
		acc ^= v.x ^ v.y ^ v.z ^ v.w;
	}
	if (blockIdx.x == 0 && (int)threadIdx.x < ntail)
		acc ^= tail[threadIdx.x];
#pragma unroll
	for (int o = 16; o > 0; o >>= 1)
		acc ^= __shfl_xor_sync(0xffffffffu, acc, o);
	__shared__ uint32_t red[SR_THREADS / 32];
	if ((threadIdx.x & 31) == 0)
		red[threadIdx.x >> 5] = acc;
	__syncthreads();
	if (threadIdx.x == 0) {
		uint32_t r = 0;
		for (int w = 0; w < SR_THREADS / 32; ++w)
			r ^= red[w];
		atomicAdd(sink, (float)(r & 0xffu));
	}
}

extern "C" int stream_read_launch(const void *buf, size_t bytes, float *sink, struct CUstream_st *stream)
{
	if (bytes == 0)
		return 0;
	if (((uintptr_t)buf & 15) != 0 || !sink)
		return (int)cudaErrorInvalidValue;
	static int sms_cache[16];
	int dev = 0, sms = 0;
	cudaError_t e = cudaGetDevice(&dev);
	if (e != cudaSuccess)
		return (int)e;
	sms = dev < 16 ? sms_cache[dev] : 0;
	if (sms == 0) {
		e = cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev);
		if (e != cudaSuccess)
			return (int)e;
		if (dev < 16)
			sms_cache[dev] = sms;
	}
	const size_t n16 = bytes / 16;
	const int ntail = (int)(bytes - n16 * 16);
	const size_t per_cta = (size_t)SR_THREADS * SR_UNROLL; /* 16-byte words per CTA per iteration */
	size_t grid = (n16 + per_cta - 1) / per_cta;
	const size_t gmax = (size_t)sms * (2048 / SR_THREADS);
	if (grid > gmax)
		grid = gmax;
	if (grid < 1)
		grid = 1;
	stream_read_kernel<<<(unsigned)grid, SR_THREADS, 0, (cudaStream_t)stream>>>(
		(const uint4 *)buf, n16, (const unsigned char *)buf + n16 * 16, ntail, sink);
	return (int)cudaGetLastError();
}
