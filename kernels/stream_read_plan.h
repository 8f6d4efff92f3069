/* stream_read_plan.h - the candidate streaming reads of kernels/stream_read.cu
 * and how each covers a buffer.  Plain C: the host half (parse, format,
 * plan, the dispatch table: stream_read_plan.c) is unit-tested on the CPU
 * (tests/unit/test_stream_read_plan.c); the partition functions below are
 * the ones the kernels run (SR_HD: host and device).
 *
 * A read of `bytes` bytes is n16 = bytes / 16 16-byte words, then ntail =
 * bytes % 16 bytes read one by one by CTA 0.  The words are cut into pieces
 * of piece16 words (the last one may be shorter); a CTA reads whole pieces,
 * each a contiguous run:
 *   - order cyclic:  CTA b reads pieces b, b + G, b + 2G, ... (G = grid):
 *     the grid's reads move through the buffer as one front;
 *   - order blocked: CTA b reads pieces [b*np/G, (b+1)*np/G): one contiguous
 *     range per CTA (np = pieces).
 * The grid is at most the pieces, so every CTA has at least one (blocked)
 * or exactly ceil/floor its share (cyclic).  `nc4` is the kernel before
 * these (a grid-stride loop over words, 4 loads in flight); it keeps its own
 * grid rule (sr_plan) and word order.
 *
 * A variant is written as a spec string, `kind[:key=value;key=value...]`
 * (semicolons: it is also bench-ceiling's CSV `params` column, where commas
 * cannot go); keys left out take their defaults; sr_format writes every key
 * (max_ctas only when set: ld, cpasync and bulk take max_ctas=N, at most N
 * CTAs, for tests and experiments).
 *   nc4                                        (no keys)
 *   ld:threads=256;unroll=8;tiles=1;ctas_sm=2;order=cyclic;hint=none;prefetch=0
 *       ld.global.nc.L1::no_allocate.v4 into registers, `unroll` loads in
 *       flight per thread; a piece = tiles x (threads x unroll x 16 bytes);
 *       hint: none | pf256 (.L2::256B prefetch size) | evict_first (L2
 *       policy); prefetch=N: thread 0 asks L2 for the piece N steps ahead by
 *       cp.async.bulk.prefetch.L2 (sm_90; 0 = off)
 *   cpasync:threads=256;unroll=8;stages=4;ctas_sm=1;order=cyclic
 *       cp.async.cg 16-byte copies into `stages` shared-memory stages of
 *       threads x unroll x 16 bytes (a stage = a piece); each thread folds
 *       the words it copied
 *   bulk:warps=4;stages=4;stage_kb=32;ctas_sm=2;order=cyclic
 *       one elected thread of a producer warp copies each piece (a stage of
 *       stage_kb KiB) global -> shared with one cp.async.bulk (the copy
 *       engine, no tensor map) completing on the stage's mbarrier; `warps`
 *       consumer warps fold it from shared memory and release the stage on
 *       a second mbarrier (sm_90)
 */
#ifndef STREAM_READ_PLAN_H
#define STREAM_READ_PLAN_H

#include <stddef.h>

#ifdef __CUDACC__
#define SR_HD static __host__ __device__ __forceinline__
#else
#define SR_HD static inline
#endif

#ifdef __cplusplus
extern "C" {
#endif

enum sr_kind { SR_NC4 = 0, SR_LD = 1, SR_CPASYNC = 2, SR_BULK = 3 };
enum sr_order { SR_CYCLIC = 0, SR_BLOCKED = 1 };
enum sr_hint { SR_HINT_NONE = 0, SR_HINT_PF256 = 1, SR_HINT_EVICT_FIRST = 2 };

/* Values the kernels are compiled for (stream_read.cu instantiates exactly
 * these; sr_parse refuses others).  Index = position in the list. */
#define SR_LD_THREADS {128, 256, 512}
#define SR_LD_UNROLL {4, 8, 16}
#define SR_CP_THREADS {128, 256}
#define SR_CP_UNROLL {4, 8}
#define SR_CP_STAGES {2, 3, 4, 6}
#define SR_BULK_MAX_WARPS 8   /* consumer warps; + 1 producer warp */
#define SR_BULK_MAX_STAGES 8
#define SR_BULK_BAR_BYTES 128 /* the 2 x stages mbarriers, before the stages */
#define SR_MAX_CTAS_SM 32
#define SR_MAX_TILES 64
#define SR_MAX_PREFETCH 8
/* nc4: 256 threads, 4 loads in flight, at most 8 CTAs per SM, one CTA per
 * 16 KiB below that (a small read shows the launch + DRAM latency floor) */
#define SR_NC4_THREADS 256
#define SR_NC4_UNROLL 4

/* One variant.  All ints (compared with memcmp by the launcher's cache); a
 * key a kind does not have is 0. */
struct sr_variant {
	int kind;        /* enum sr_kind */
	int threads;     /* ld, cpasync: threads a CTA */
	int unroll;      /* ld: loads in flight a thread; cpasync: copies a thread per stage */
	int tiles;       /* ld: tiles a piece */
	int stages;      /* cpasync, bulk */
	int stage_kb;    /* bulk: KiB a stage (= a piece) */
	int warps;       /* bulk: consumer warps */
	int ctas_sm;     /* CTAs per SM asked for (the occupancy may allow fewer) */
	int order;       /* enum sr_order */
	int hint;        /* ld: enum sr_hint */
	int prefetch;    /* ld: pieces ahead for the L2 bulk prefetch, 0 = off */
	int max_ctas;    /* ld, cpasync, bulk: at most this many CTAs, 0 = no cap (a test
			    makes CTAs read many pieces, wrapping their rings) */
};

/* What one launch covers (a kernel parameter, by value). */
struct sr_geom {
	unsigned long long n16;     /* 16-byte words */
	unsigned long long npieces; /* ceil(n16 / piece16) */
	unsigned piece16;           /* words a piece */
	unsigned grid;              /* CTAs */
	int order;                  /* enum sr_order */
	int ntail;                  /* bytes after the words, 0..15, read by CTA 0 */
	int stages;                 /* bulk: ring depth */
	int prefetch;               /* ld: L2 bulk prefetch this many pieces ahead, 0 = off */
};

/* The pieces of CTA b: first, first + step, ... while < end. */
SR_HD void sr_cta_pieces(const struct sr_geom *g, unsigned b, unsigned long long *first,
			 unsigned long long *end, unsigned long long *step)
{
	if (g->order == SR_BLOCKED) {
		*first = (unsigned long long)b * g->npieces / g->grid;
		*end = (unsigned long long)(b + 1) * g->npieces / g->grid;
		*step = 1;
	} else {
		*first = b;
		*end = g->npieces;
		*step = g->grid;
	}
}

/* How many pieces CTA b reads. */
SR_HD unsigned long long sr_cta_count(const struct sr_geom *g, unsigned b)
{
	unsigned long long first, end, step;
	sr_cta_pieces(g, b, &first, &end, &step);
	return end > first ? (end - first + step - 1) / step : 0;
}

/* Words of piece k (piece16, or fewer for the last). */
SR_HD unsigned sr_piece_len(const struct sr_geom *g, unsigned long long k)
{
	const unsigned long long rest = g->n16 - k * g->piece16;
	return rest < g->piece16 ? (unsigned)rest : g->piece16;
}

/* ---- host (stream_read_plan.c) ---------------------------------------------- */
/* Parses a spec into *v.  Returns NULL, or why not (static text). */
const char *sr_parse(const char *spec, struct sr_variant *v);
/* The spec with every key of v's kind (what sr_parse reads back to *v):
 * "kind" then, if the kind has keys, ":" and the keys.  Returns buf. */
char *sr_format(const struct sr_variant *v, char *buf, size_t n);
/* The kind's name ("nc4", "ld", "cpasync", "bulk"). */
const char *sr_kind_name(int kind);
/* Threads a CTA of v, and its dynamic shared memory in bytes. */
int sr_threads(const struct sr_variant *v);
size_t sr_smem_bytes(const struct sr_variant *v);
/* The geometry of a read of `bytes` bytes by v on a device of `sms` SMs
 * where `resident` CTAs of v's kernel fit per SM (the occupancy; nc4
 * ignores it).  bytes > 0.  Returns NULL, or why v cannot read it. */
const char *sr_plan(const struct sr_variant *v, size_t bytes, int sms, int resident, struct sr_geom *g);
/* The spec stream_read_launch() runs for `bytes` bytes (the dispatch table
 * in stream_read_plan.c: edit it to change run-kernel's ceiling). */
const char *sr_dispatch_spec(size_t bytes);
/* The dispatch table's rows, for the tests: row i's upper bound (bytes) and
 * spec; returns 0 past the last row. */
int sr_dispatch_row(int i, size_t *max_bytes, const char **spec);
/* bench-ceiling's default sweep: spec i of sr_sweep_count() (NULL past it). */
int sr_sweep_count(void);
const char *sr_sweep_spec(int i);

#ifdef __cplusplus
}
#endif

#endif
