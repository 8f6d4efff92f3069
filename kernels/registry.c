/* registry.c - every GPU kernel of this build, in run-kernel --list order.
 * Adding a kernel: export `const struct attn_kernel attn_kernel_NAME` from
 * kernels/NAME.cu and add it here (see README "Adding a kernel"). */
#include "attn.h"

extern const struct attn_kernel attn_kernel_native, attn_kernel_tk, attn_kernel_prefix_stream,
	attn_kernel_paged, attn_kernel_hydragen;
/* prefix_stream's variants: each forces one plan choice that changes its
 * code path (kernels/prefix_stream.cu, "the registry") */
extern const struct attn_kernel attn_kernel_prefix_stream_mma, attn_kernel_prefix_stream_cpasync,
	attn_kernel_prefix_stream_kv_early, attn_kernel_prefix_stream_global_merge,
	attn_kernel_prefix_stream_cluster_merge, attn_kernel_prefix_stream_s1, attn_kernel_prefix_stream_s2,
	attn_kernel_prefix_stream_s4, attn_kernel_prefix_stream_s8, attn_kernel_prefix_stream_rows2, attn_kernel_prefix_stream_4wg,
	attn_kernel_prefix_stream_tree_own, attn_kernel_prefix_stream_tree_grid, attn_kernel_prefix_stream_pingpong;

const struct attn_kernel *const attn_kernels[] = {
	&attn_kernel_native,
	&attn_kernel_tk,
	&attn_kernel_prefix_stream,
	&attn_kernel_paged,
	&attn_kernel_hydragen,
	&attn_kernel_prefix_stream_mma,
	&attn_kernel_prefix_stream_cpasync,
	&attn_kernel_prefix_stream_kv_early,
	&attn_kernel_prefix_stream_global_merge,
	&attn_kernel_prefix_stream_cluster_merge,
	&attn_kernel_prefix_stream_s1,
	&attn_kernel_prefix_stream_s2,
	&attn_kernel_prefix_stream_s4,
	&attn_kernel_prefix_stream_s8,
	&attn_kernel_prefix_stream_rows2,
	&attn_kernel_prefix_stream_pingpong,
	&attn_kernel_prefix_stream_4wg,
	&attn_kernel_prefix_stream_tree_own,
	&attn_kernel_prefix_stream_tree_grid,
	NULL,
};
