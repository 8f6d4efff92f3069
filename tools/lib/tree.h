/* tree.h - the chunk tables of one config (kernels/attn.h, struct attn_tree):
 * which pool chunk holds each chunk of each sequence, and the prefix tree
 * that says which sequences share it.
 *
 * Chunks are numbered logically level by level - the common prefix, then
 * each group's chunks, then each sequence's suffix - and placed in the pool
 * by a seeded shuffle of those numbers, so no level is contiguous and a
 * kernel that ignores the tables reads the wrong keys. */
#ifndef TREE_H
#define TREE_H

#include <stddef.h>
#include <stdint.h>

#include "../../kernels/attn.h"

struct tree_tables {
	struct attn_tree t;        /* host pointers into the arrays below */
	int *chunk_table, *seq_len, *node_chunks;
	struct attn_node *nodes;
	long n_pool;               /* attn_pool_chunks() */
	size_t table_ints;         /* n_seqs * attn_seq_chunks() */
};

/* Host bytes the tables of s take (for the fits-in-memory check). */
double tree_bytes(const struct attn_shape *s);
/* Builds the tables; 0, or -1 when they do not fit (nothing allocated). */
int tree_build(struct tree_tables *tt, const struct attn_shape *s, uint64_t seed);
void tree_free(struct tree_tables *tt);

/* The node of level `level` that holds sequence `seq`, or NULL when that
 * level is empty for this shape. */
const struct attn_node *tree_node_of(const struct attn_tree *t, int level, int seq);

#endif
