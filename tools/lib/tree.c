/* tree.c - see tree.h */
#include "tree.h"
#include "rng.h"

#include <stdlib.h>
#include <string.h>

double tree_bytes(const struct attn_shape *s)
{
	double nodes = 1.0 + s->n_groups + s->n_seqs;
	return 4.0 * ((double)s->n_seqs * attn_seq_chunks(s) + s->n_seqs + attn_pool_chunks(s)) +
	       nodes * sizeof(struct attn_node);
}

void tree_free(struct tree_tables *tt)
{
	free(tt->chunk_table);
	free(tt->seq_len);
	free(tt->node_chunks);
	free(tt->nodes);
	memset(tt, 0, sizeof *tt);
}

static void add_node(struct tree_tables *tt, int level, int seq_begin, int n_seqs,
		     long chunk_begin, int n_chunks, int n_tokens)
{
	tt->nodes[tt->t.n_nodes++] = (struct attn_node){ seq_begin, n_seqs, (int)chunk_begin,
							 n_chunks, n_tokens, level };
}

int tree_build(struct tree_tables *tt, const struct attn_shape *s, uint64_t seed)
{
	const int per_group = s->n_seqs / s->n_groups, sfx = attn_suffix_chunks(s);
	const int seq_chunks = attn_seq_chunks(s);
	const long group0 = s->n_chunks, suffix0 = group0 + (long)s->n_groups * s->group_chunks;
	long *perm;

	memset(tt, 0, sizeof *tt);
	tt->n_pool = attn_pool_chunks(s);
	tt->table_ints = (size_t)s->n_seqs * (size_t)seq_chunks;
	if (tt->n_pool > 0x7fffffffL || attn_seq_tokens(s) > 0x7fffffffL)
		return -1;
	tt->chunk_table = malloc(tt->table_ints * sizeof(int));
	tt->seq_len = malloc((size_t)s->n_seqs * sizeof(int));
	tt->node_chunks = malloc((size_t)tt->n_pool * sizeof(int));
	tt->nodes = malloc(((size_t)s->n_groups + s->n_seqs + 1) * sizeof(struct attn_node));
	perm = malloc((size_t)tt->n_pool * sizeof *perm);
	if (!tt->chunk_table || !tt->seq_len || !tt->node_chunks || !tt->nodes || !perm) {
		free(perm);
		tree_free(tt);
		return -1;
	}

	tt->t.chunk_table = tt->chunk_table;
	tt->t.seq_len = tt->seq_len;
	tt->t.nodes = tt->nodes;
	tt->t.node_chunks = tt->node_chunks;

	/* logical chunk L lives at pool index perm[L]: a seeded Fisher-Yates */
	for (long i = 0; i < tt->n_pool; i++)
		perm[i] = i;
	uint64_t r = rng_key(seed, RNG_POOL);
	for (long i = tt->n_pool - 1; i > 0; i--) {
		long j = (long)(rng_next(&r) % (uint64_t)(i + 1)), x = perm[i];
		perm[i] = perm[j];
		perm[j] = x;
	}
	for (long i = 0; i < tt->n_pool; i++)
		tt->node_chunks[i] = (int)perm[i];

	/* the tree, level by level; nodes list their chunks in logical order */
	tt->t.level_begin[ATTN_LEVEL_COMMON] = 0;
	if (s->n_chunks > 0)
		add_node(tt, ATTN_LEVEL_COMMON, 0, s->n_seqs, 0, s->n_chunks, s->n_chunks * s->chunk_size);
	tt->t.level_begin[ATTN_LEVEL_GROUP] = tt->t.n_nodes;
	for (int g = 0; s->group_chunks > 0 && g < s->n_groups; g++)
		add_node(tt, ATTN_LEVEL_GROUP, g * per_group, per_group,
			 group0 + (long)g * s->group_chunks, s->group_chunks,
			 s->group_chunks * s->chunk_size);
	tt->t.level_begin[ATTN_LEVEL_SUFFIX] = tt->t.n_nodes;
	for (int q = 0; sfx > 0 && q < s->n_seqs; q++)
		add_node(tt, ATTN_LEVEL_SUFFIX, q, 1, suffix0 + (long)q * sfx, sfx, s->suffix_len);
	tt->t.level_begin[ATTN_LEVELS] = tt->t.n_nodes;

	/* each sequence's table: its nodes' chunks, root first */
	for (int q = 0; q < s->n_seqs; q++) {
		int *row = tt->chunk_table + (size_t)q * seq_chunks, n = 0;
		for (int level = 0; level < ATTN_LEVELS; level++) {
			const struct attn_node *nd = tree_node_of(&tt->t, level, q);
			for (int c = 0; nd && c < nd->n_chunks; c++)
				row[n++] = tt->node_chunks[nd->chunk_begin + c];
		}
		tt->seq_len[q] = (int)attn_seq_tokens(s);
	}
	free(perm);
	return 0;
}

const struct attn_node *tree_node_of(const struct attn_tree *t, int level, int seq)
{
	/* nodes of a level cover consecutive, equal runs of sequences */
	int lo = t->level_begin[level], hi = t->level_begin[level + 1];
	if (lo == hi)
		return NULL;
	const struct attn_node *first = &t->nodes[lo];
	int i = lo + (seq - first->seq_begin) / first->n_seqs;
	return i < hi ? &t->nodes[i] : NULL;
}
