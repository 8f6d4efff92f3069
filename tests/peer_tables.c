/* peer_tables.c - prints one config's chunk tables and a few input values
 * as run-kernel makes them (tools/lib/tree.c, inputs.c), in the format of
 * `tools/run-peer --dump-tables`, so tests/peer_cases.sh can check that
 * run-peer's Python port gives the peers run-kernel's inputs, bit for bit.
 *
 *   peer_tables SEED N_SEQS N_HEADS N_KV_HEADS N_CHUNKS N_GROUPS GROUP_CHUNKS SUFFIX_LEN CHUNK_SIZE D_HEAD bf16|fp16
 */
#include "../tools/lib/inputs.h"
#include "../tools/lib/metrics.h"

#include <stdio.h>
#include <stdlib.h>

static void samples(const char *name, const uint16_t *x, size_t n)
{
	size_t idx[] = { 0, 1, 2, 7, n / 3, n / 2, n - 2, n - 1 }, prev = (size_t)-1;
	/* sorted, distinct, in range: as run-peer's sample_indices() */
	for (int pass = 0; pass < 8; pass++) {
		size_t best = (size_t)-1;
		for (int i = 0; i < 8; i++)
			if (idx[i] < n && (prev == (size_t)-1 || idx[i] > prev) && (best == (size_t)-1 || idx[i] < best))
				best = idx[i];
		if (best == (size_t)-1)
			break;
		printf("%s %zu %04x\n", name, best, x[best]);
		prev = best;
	}
}

int main(int argc, char **argv)
{
	struct attn_shape s;
	struct inputs in;
	int *f[] = { &s.n_seqs, &s.n_heads, &s.n_kv_heads, &s.n_chunks, &s.n_groups, &s.group_chunks,
		     &s.suffix_len, &s.chunk_size, &s.d_head };

	if (argc != 12 || dtype_parse(argv[11], &s.dtype) != 0) {
		fprintf(stderr, "usage: peer_tables SEED N_SEQS N_HEADS N_KV_HEADS N_CHUNKS N_GROUPS "
				"GROUP_CHUNKS SUFFIX_LEN CHUNK_SIZE D_HEAD bf16|fp16\n");
		return 2;
	}
	for (int i = 0; i < 9; i++)
		*f[i] = atoi(argv[i + 2]);
	if (inputs_make(&in, &s, strtoull(argv[1], NULL, 10)) != 0)
		return 1;
	const struct tree_tables *tt = &in.tree;
	printf("pool %ld\n", tt->n_pool);
	for (int i = 0; i < tt->t.n_nodes; i++) {
		const struct attn_node *nd = &tt->nodes[i];
		printf("node %d %d %d %d %d %d\n", nd->level, nd->seq_begin, nd->n_seqs, nd->chunk_begin,
		       nd->n_chunks, nd->n_tokens);
	}
	printf("node_chunks");
	for (long i = 0; i < tt->n_pool; i++)
		printf(" %d", tt->node_chunks[i]);
	printf("\n");
	for (int q = 0; q < s.n_seqs; q++) {
		printf("table %d %d:", q, tt->seq_len[q]);
		for (int c = 0; c < attn_seq_chunks(&s); c++)
			printf(" %d", tt->chunk_table[(size_t)q * attn_seq_chunks(&s) + c]);
		printf("\n");
	}
	samples("q", in.q, in.nq);
	samples("k", in.k, in.nkv);
	samples("v", in.v, in.nkv);
	inputs_free(&in);
	return 0;
}
