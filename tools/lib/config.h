/* config.h - the config columns of a row (README "CSV schema"), once: their
 * names, where they go in struct attn_shape, defaults and ranges.  run-kernel
 * reads rows with them; compare-runs matches rows of two runs by them. */
#ifndef CONFIG_H
#define CONFIG_H

#include <stddef.h>

#define CONFIG_DEFAULT_N_HEADS (-1) /* the n_kv_heads default */
#define CONFIG_REQUIRED (-2)

struct config_col {
	const char *name;
	size_t field;        /* offsetof(struct attn_shape, ...) */
	long def, lo, hi;
};

/* The integer columns, in schema order; then come dtype (text, default
 * bf16) and blocks (derived: n_heads x n_chunks). */
#define CONFIG_NINT 9
extern const struct config_col config_cols[CONFIG_NINT];

/* Column i's value as text for a row that lacks it; n_heads is the row's
 * own n_heads field (the n_kv_heads default).  buf holds 32 bytes. */
const char *config_default_text(int i, const char *n_heads, char *buf);

#endif
