/* peaks.h - what run-kernel's efficiency columns are against: each
 * backend's peaks, resolved once (a flag, else the device's own, else the
 * H100 datasheet's), and the --peaks / --ceilings tables that show them
 * beside the measured ceilings. */
#ifndef PEAKS_H
#define PEAKS_H

#include "backend.h"

#include <stdio.h>

/* The peaks of backend b's rows into *p: flag_tflops / flag_gbps (> 0:
 * --peak-tflops / --peak-gbps given) win, else the device's own (b->peaks),
 * else PEAK_TFLOPS_DEFAULT / PEAK_GBPS_DEFAULT, which a GPU warns about once
 * here. */
void peaks_resolve(const struct backend *b, struct device_peaks *p, double flag_tflops, double flag_gbps);

/* --peaks: one CSV row per backend i of backends[] with used[i], its peaks
 * bp[i]. */
void peaks_print(FILE *f, const int *used, const struct device_peaks *bp);

/* --ceilings: the same rows with both measured ceilings of each backend,
 * on a config of the seed grid's size class where the read ceiling has
 * levelled off (64 heads x 128 chunks: 268 MB of K/V; 4 MB on the CPU),
 * inputs from seed, timed with o.  Ends the program (EXIT_INPUT) when the
 * inputs do not fit. */
void ceilings_print(FILE *f, const int *used, const struct device_peaks *bp, const struct bench_opts *o,
		    unsigned long seed);

#endif
