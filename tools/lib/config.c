/* config.c - see config.h */
#include "config.h"
#include "../../kernels/attn.h"

#include <stdio.h>

const struct config_col config_cols[CONFIG_NINT] = {
	{ "n_seqs", offsetof(struct attn_shape, n_seqs), 32, 1, 65536 },
	{ "n_heads", offsetof(struct attn_shape, n_heads), CONFIG_REQUIRED, 1, 65536 },
	{ "n_kv_heads", offsetof(struct attn_shape, n_kv_heads), CONFIG_DEFAULT_N_HEADS, 1, 65536 },
	{ "n_chunks", offsetof(struct attn_shape, n_chunks), CONFIG_REQUIRED, 1, 1 << 20 },
	{ "n_groups", offsetof(struct attn_shape, n_groups), 1, 1, 65536 },
	{ "group_chunks", offsetof(struct attn_shape, group_chunks), 0, 0, 1 << 20 },
	{ "suffix_len", offsetof(struct attn_shape, suffix_len), 0, 0, 1 << 26 },
	{ "chunk_size", offsetof(struct attn_shape, chunk_size), 64, 1, 65536 },
	{ "d_head", offsetof(struct attn_shape, d_head), 128, 1, 4096 },
};

const char *config_default_text(int i, const char *n_heads, char *buf)
{
	if (config_cols[i].def == CONFIG_DEFAULT_N_HEADS)
		return n_heads;
	if (config_cols[i].def == CONFIG_REQUIRED)
		return NULL;
	snprintf(buf, 32, "%ld", config_cols[i].def);
	return buf;
}
