/* registry.c - every GPU kernel of this build, in run-kernel --list order.
 * Adding a kernel: export `const struct attn_kernel attn_kernel_NAME` from
 * kernels/NAME.cu and add it here (see README "Adding a kernel"). */
#include "attn.h"

extern const struct attn_kernel attn_kernel_native, attn_kernel_tk, attn_kernel_prefix_stream,
	attn_kernel_paged, attn_kernel_hydragen;

const struct attn_kernel *const attn_kernels[] = {
	&attn_kernel_native,
	&attn_kernel_tk,
	&attn_kernel_prefix_stream,
	&attn_kernel_paged,
	&attn_kernel_hydragen,
	NULL,
};
