/* test_stream_read_plan.c - the host half of the streaming read
 * (kernels/stream_read_plan.c) on the CPU:
 *   - specs: every sweep spec and dispatch row parses, format and parse
 *     are inverse, defaults fill keys left out, bad specs are refused with
 *     a reason;
 *   - the dispatch table covers every size;
 *   - the partition (sr_plan + sr_cta_pieces/sr_piece_len, the functions
 *     the kernels run): for many sizes, device sizes and occupancies, every
 *     16-byte word is in exactly one piece of exactly one CTA and the tail
 *     bytes make up the rest (every byte once), no CTA is idle, a blocked
 *     CTA's range is contiguous and follows the one before, cyclic shares
 *     differ by at most one piece, and the grid respects the CTAs per SM
 *     asked for and the occupancy (nc4: its own rule of before);
 *   - every sweep variant's threads and shared memory fit an H100/H200 CTA.
 * Prints "ok NAME" / "FAIL NAME: why"; last line "stream_read: N passed, N failed". */
#include "../../kernels/stream_read_plan.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

/* H100 / H200: 227 KiB of shared memory a CTA (opt-in) */
#define OPTIN_SMEM 232448

static void test_specs(void)
{
	struct sr_variant v, w;
	char buf[256], name[320];
	size_t max, prev = 0;
	const char *spec, *why;
	int rows = 0, ordered = 1, bad = 0;

	for (int i = 0; i < sr_sweep_count(); i++) {
		spec = sr_sweep_spec(i);
		why = sr_parse(spec, &v);
		snprintf(name, sizeof name, "sweep spec parses: %s", spec);
		CHECK(name, !why, "%s", why);
		if (why)
			continue;
		sr_format(&v, buf, sizeof buf);
		why = sr_parse(buf, &w);
		snprintf(name, sizeof name, "format then parse gives it back: %s", buf);
		CHECK(name, !why && memcmp(&v, &w, sizeof v) == 0, "%s", why ? why : "another variant");
		if (sr_threads(&v) < 32 || sr_threads(&v) > 1024 || sr_threads(&v) % 32)
			bad++;
		if (sr_smem_bytes(&v) + 128 > OPTIN_SMEM)
			bad++;
	}
	CHECK("every sweep variant's threads and shared memory fit an H100/H200 CTA", bad == 0, "%d do not", bad);
	CHECK("the sweep starts with nc4 (today's ceiling)", sr_sweep_count() > 1 && !strcmp(sr_sweep_spec(0), "nc4"),
	      "first %s", sr_sweep_spec(0));

	for (int i = 0; sr_dispatch_row(i, &max, &spec); i++, rows++) {
		why = sr_parse(spec, &v);
		snprintf(name, sizeof name, "dispatch row %d parses: %s", i, spec);
		CHECK(name, !why, "%s", why);
		if (i > 0 && max <= prev)
			ordered = 0;
		prev = max;
	}
	CHECK("dispatch rows ascend and the last covers every size", rows > 0 && ordered && prev == (size_t)-1,
	      "%d rows, last up to %zu", rows, prev);
	CHECK("dispatch: 0, 1 byte and 2^63 bytes have a spec",
	      sr_dispatch_spec(0) && sr_dispatch_spec(1) && sr_dispatch_spec((size_t)1 << 63), "one has none");

	CHECK("defaults: bulk = 4 consumer warps, 4 stages of 32 KiB, 2 CTAs an SM, cyclic",
	      !sr_parse("bulk", &v) && v.kind == SR_BULK && v.warps == 4 && v.stages == 4 && v.stage_kb == 32 &&
		      v.ctas_sm == 2 && v.order == SR_CYCLIC,
	      "%s", sr_format(&v, buf, sizeof buf));
	CHECK("keys left out keep their defaults; named ones are read",
	      !sr_parse("ld:unroll=16;order=blocked;hint=pf256", &v) && v.threads == 256 && v.unroll == 16 &&
		      v.tiles == 1 && v.order == SR_BLOCKED && v.hint == SR_HINT_PF256 && v.prefetch == 0,
	      "%s", sr_format(&v, buf, sizeof buf));
	CHECK("format writes every key of the kind",
	      !sr_parse("cpasync", &v) &&
		      !strcmp(sr_format(&v, buf, sizeof buf), "cpasync:threads=256;unroll=8;stages=4;ctas_sm=1;order=cyclic"),
	      "%s", buf);
	CHECK("nc4 has no keys", !sr_parse("nc4", &v) && !strcmp(sr_format(&v, buf, sizeof buf), "nc4"), "%s", buf);
	CHECK("the kinds' names", !strcmp(sr_kind_name(SR_NC4), "nc4") && !strcmp(sr_kind_name(SR_LD), "ld") &&
					  !strcmp(sr_kind_name(SR_CPASYNC), "cpasync") && !strcmp(sr_kind_name(SR_BULK), "bulk"),
	      "wrong");

	static const char *const refused[] = {
		"", "ld2", "nc4:threads=256", "ld:threads=300", "ld:unroll=5", "ld:tiles=0", "ld:tiles=65",
		"ld:prefetch=9", "ld:hint=fast", "ld:order=random", "ld:stages=3", "cpasync:threads=512",
		"cpasync:stages=5", "cpasync:unroll=16", "bulk:warps=0", "bulk:warps=9", "bulk:stages=1",
		"bulk:stages=9", "bulk:stage_kb=0", "bulk:stage_kb=97", "bulk:ctas_sm=0", "bulk:ctas_sm=33",
		"bulk:hint=none", "nc4:max_ctas=2", "ld:max_ctas=-1", "ld:threads", "ld:threads=", "ld:threads=2x", "ld:threads=-256", "ld:unroll=8;;x=1",
	};
	for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
		snprintf(name, sizeof name, "refused with a reason: '%s'", refused[i]);
		CHECK(name, sr_parse(refused[i], &v) != NULL, "parsed as %s", sr_format(&v, buf, sizeof buf));
	}
	char longspec[400];
	memset(longspec, 'x', sizeof longspec - 1);
	longspec[sizeof longspec - 1] = 0;
	memcpy(longspec, "ld:", 3);
	CHECK("a spec longer than the parser's buffer is refused", sr_parse(longspec, &v) != NULL, "parsed");
}

/* One plan's invariants; returns NULL or what is wrong (static text). */
static const char *check_plan(const struct sr_variant *v, size_t bytes, int sms, int resident, unsigned char *seen,
			      size_t seen_cap)
{
	static char msg[256];
	struct sr_geom g;
	const char *why = sr_plan(v, bytes, sms, resident, &g);
	unsigned long long words = 0, pieces = 0, prev_end = 0, cmin = ~0ull, cmax = 0;
	unsigned long long per_sm;

	if (why) {
		snprintf(msg, sizeof msg, "refused: %s", why);
		return msg;
	}
	if (g.n16 != bytes / 16 || g.ntail != (int)(bytes % 16))
		return "words/tail do not make up the bytes";
	if (g.piece16 == 0 || g.npieces * g.piece16 < g.n16 || (g.npieces && (g.npieces - 1) * g.piece16 >= g.n16))
		return "npieces is not ceil(words / piece)";
	per_sm = v->kind == SR_NC4 ? 8 : (unsigned long long)(v->ctas_sm < resident ? v->ctas_sm : resident);
	if (g.grid < 1 || (g.npieces && g.grid > g.npieces) || g.grid > (unsigned long long)sms * per_sm ||
	    (v->max_ctas > 0 && g.grid > (unsigned)v->max_ctas))
		return "grid out of range";
	if (v->kind == SR_NC4) {
		unsigned long long want = (g.n16 + 1023) / 1024;
		if (want > (unsigned long long)sms * 8)
			want = (unsigned long long)sms * 8;
		if (want < 1)
			want = 1;
		if (g.grid != want)
			return "nc4's grid is not the rule of before (one CTA per 16 KiB, at most 8 an SM)";
		return NULL; /* nc4 strides over words itself */
	}
	if (g.order != v->order)
		return "order lost";
	if (g.npieces <= seen_cap)
		memset(seen, 0, (size_t)g.npieces);
	for (unsigned b = 0; b < g.grid; b++) {
		unsigned long long first, end, step, n = 0;
		sr_cta_pieces(&g, b, &first, &end, &step);
		for (unsigned long long k = first; k < end; k += step) {
			unsigned len = sr_piece_len(&g, k);
			if (k >= g.npieces)
				return "a piece past the end";
			if (len == 0 || len > g.piece16 || (len < g.piece16 && k != g.npieces - 1))
				return "a piece of the wrong length";
			if (g.npieces <= seen_cap && seen[k]++)
				return "a piece read twice";
			words += len;
			n++;
		}
		if (n != sr_cta_count(&g, b))
			return "sr_cta_count disagrees with the pieces";
		if (g.npieces && n == 0)
			return "an idle CTA";
		if (g.order == SR_BLOCKED) {
			if (first != prev_end)
				return "a blocked CTA does not start where the one before ended";
			prev_end = end;
		}
		cmin = n < cmin ? n : cmin;
		cmax = n > cmax ? n : cmax;
		pieces += n;
	}
	if (pieces != g.npieces || words != g.n16)
		return "the pieces do not cover every word once";
	if (words * 16 + (unsigned long long)g.ntail != bytes)
		return "words and tail are not every byte";
	if (g.npieces && cmax - cmin > 1)
		return "CTAs' shares differ by more than one piece";
	return NULL;
}

static void test_partition(void)
{
	static const char *const extra[] = {
		"ld:threads=128;unroll=4;tiles=3;ctas_sm=5;order=blocked", "ld:threads=512;unroll=16;tiles=64;ctas_sm=1",
		"cpasync:threads=128;unroll=4;stages=2;ctas_sm=32;order=blocked", "bulk:warps=1;stages=2;stage_kb=1;ctas_sm=32",
		"bulk:warps=8;stages=8;stage_kb=24;ctas_sm=1;order=blocked",
		"bulk:warps=4;stages=3;stage_kb=16;ctas_sm=2;max_ctas=3", "ld:unroll=4;order=blocked;max_ctas=1",
		"cpasync:threads=128;unroll=4;stages=6;ctas_sm=2;max_ctas=7",
	};
	static const size_t small[] = {1, 15, 16, 17, 31, 32, 48, 4095, 4096, 4097, 16383, 16384, 16400, 65536, 65552,
				       1048576, 1048624, 3145735, 67112977};
	static const size_t large[] = {(size_t)1 << 31, ((size_t)1 << 32) + 17, ((size_t)3 << 30) + 4096 + 5};
	static const int sms[] = {1, 3, 132}, resident[] = {1, 2, 8, 32};
	const size_t seen_cap = (size_t)1 << 21;
	unsigned char *seen = malloc(seen_cap);
	int n_sp = sr_sweep_count() + (int)(sizeof extra / sizeof extra[0]);
	char name[512], fmt[256];

	for (int i = 0; i < n_sp; i++) {
		const char *spec = i < sr_sweep_count() ? sr_sweep_spec(i) : extra[i - sr_sweep_count()];
		struct sr_variant v;
		const char *why = NULL;
		size_t at = 0;
		int at_sms = 0, at_res = 0, plans = 0;
		if (sr_parse(spec, &v))
			continue; /* test_specs says so */
		for (size_t s = 0; s < sizeof small / sizeof small[0] + sizeof large / sizeof large[0] && !why; s++) {
			size_t bytes = s < sizeof small / sizeof small[0] ? small[s] : large[s - sizeof small / sizeof small[0]];
			for (int m = 0; m < 3 && !why; m++)
				for (int r = 0; r < 4 && !why; r++, plans++)
					if ((why = check_plan(&v, bytes, sms[m], resident[r], seen, seen_cap)) != NULL)
						at = bytes, at_sms = sms[m], at_res = resident[r];
		}
		snprintf(name, sizeof name, "every byte once, no idle CTA, grid in bounds: %s", sr_format(&v, fmt, sizeof fmt));
		CHECK(name, !why, "%s at %zu bytes, %d SMs, %d resident (of %d plans)", why, at, at_sms, at_res, plans);
	}
	free(seen);

	struct sr_variant v;
	struct sr_geom g;
	sr_parse("bulk", &v);
	CHECK("plan: 0 bytes, no SMs and nothing resident are refused with a reason",
	      sr_plan(&v, 0, 132, 2, &g) && sr_plan(&v, 4096, 0, 2, &g) && sr_plan(&v, 4096, 132, 0, &g), "planned");
	CHECK("plan: 2 GiB by bulk on 132 SMs x 2 = 264 CTAs of 32 KiB pieces, 248 each or 249 (cyclic)",
	      !sr_plan(&v, (size_t)1 << 31, 132, 3, &g) && g.grid == 264 && g.piece16 == 2048 && g.npieces == 65536 &&
		      sr_cta_count(&g, 0) == 249 && sr_cta_count(&g, 263) == 248,
	      "grid %u piece16 %u npieces %llu", g.grid, g.piece16, g.npieces);
	sr_parse("ld:threads=256;unroll=16;ctas_sm=4", &v);
	CHECK("plan: the occupancy caps CTAs an SM (ld asks 4, 3 fit: 396 CTAs)",
	      !sr_plan(&v, (size_t)1 << 30, 132, 3, &g) && g.grid == 396, "grid %u", g.grid);
	CHECK("plan: 17 bytes = one word and a 1-byte tail, one CTA", !sr_plan(&v, 17, 132, 3, &g) && g.n16 == 1 &&
									      g.ntail == 1 && g.grid == 1 && g.npieces == 1,
	      "n16 %llu tail %d grid %u", g.n16, g.ntail, g.grid);
	CHECK("plan: 15 bytes = tail only, one CTA, no piece", !sr_plan(&v, 15, 132, 3, &g) && g.n16 == 0 && g.ntail == 15 &&
								       g.grid == 1 && g.npieces == 0 && sr_cta_count(&g, 0) == 0,
	      "n16 %llu tail %d grid %u pieces %llu", g.n16, g.ntail, g.grid, g.npieces);
	sr_parse("nc4", &v);
	CHECK("plan: nc4 as before: 2 GiB on 132 SMs = 1056 CTAs; 1 MiB = 64 (one per 16 KiB)",
	      !sr_plan(&v, (size_t)1 << 31, 132, 0, &g) && g.grid == 1056 && !sr_plan(&v, 1 << 20, 132, 0, &g) &&
		      g.grid == 64,
	      "grid %u", g.grid);
	sr_parse("bulk:max_ctas=3", &v);
	CHECK("plan: max_ctas caps the grid (3 CTAs read 2 GiB, 21846 pieces of 32 KiB or 21845 each)",
	      !sr_plan(&v, (size_t)1 << 31, 132, 3, &g) && g.grid == 3 && sr_cta_count(&g, 0) == 21846 &&
		      sr_cta_count(&g, 2) == 21845,
	      "grid %u, %llu pieces", g.grid, sr_cta_count(&g, 0));
	CHECK("format writes max_ctas only when it is set",
	      !strcmp(sr_format(&v, fmt, sizeof fmt), "bulk:warps=4;stages=4;stage_kb=32;ctas_sm=2;order=cyclic;max_ctas=3"),
	      "%s", fmt);
	sr_parse("ld:prefetch=3", &v);
	CHECK("plan: ld's prefetch and bulk's stages reach the kernel", !sr_plan(&v, 1 << 20, 132, 2, &g) && g.prefetch == 3,
	      "prefetch %d", g.prefetch);
	CHECK("shared memory: cpasync 256 x 8 x 16 B x 6 stages = 192 KiB; bulk 3 x 64 KiB + 128 B of mbarriers",
	      !sr_parse("cpasync:stages=6", &v) && sr_smem_bytes(&v) == 196608 &&
		      !sr_parse("bulk:warps=8;stages=3;stage_kb=64", &v) && sr_smem_bytes(&v) == 196736 &&
		      sr_threads(&v) == 288,
	      "%zu", sr_smem_bytes(&v));
}

int main(void)
{
	test_specs();
	test_partition();
	printf("stream_read: %d passed, %d failed\n", passed, failed);
	return failed != 0;
}
