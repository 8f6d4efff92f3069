/* out.c - see out.h */
#include "out.h"
#include "err.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static FILE *out;
static char *tmp_path;   /* pending temp file, removed by die() */
static char *final_path;

static void remove_tmp(void)
{
	if (tmp_path) {
		if (out && out != stdout)
			fclose(out);
		unlink(tmp_path);
		tmp_path = NULL;
	}
}

/* Ctrl-C, kill or a closed terminal while a temp file is pending: remove
 * it, then die of the same signal (unlink is async-signal-safe). */
static void on_signal(int sig)
{
	if (tmp_path)
		unlink(tmp_path);
	signal(sig, SIG_DFL);
	raise(sig);
}

FILE *out_open(const char *path)
{
	int fd;

	if (!path || strcmp(path, "-") == 0)
		return out = stdout;
	final_path = xstrdup(path);
	tmp_path = xmalloc(strlen(path) + 16);
	sprintf(tmp_path, "%s.tmp.XXXXXX", path);
	fd = mkstemp(tmp_path);
	if (fd < 0) {
		free(tmp_path);
		tmp_path = NULL;
		die(EXIT_INPUT, "%s: cannot create: %s", path, strerror(errno));
	}
	err_set_cleanup(remove_tmp);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	out = fdopen(fd, "w");
	if (!out)
		die(EXIT_INPUT, "%s: %s", path, strerror(errno));
	return out;
}

void out_commit(void)
{
	const char *name = final_path ? final_path : "stdout";

	if (!out)
		return;
	if (fflush(out) != 0 || ferror(out))
		die(EXIT_INPUT, "%s: write error: %s", name, strerror(errno));
	if (out == stdout) {
		if (fclose(stdout) != 0)
			die(EXIT_INPUT, "%s: write error: %s", name, strerror(errno));
		out = NULL;
		return;
	}
	if (fsync(fileno(out)) != 0 && errno != EINVAL)
		die(EXIT_INPUT, "%s: write error: %s", name, strerror(errno));
	if (fclose(out) != 0) {
		out = NULL;
		die(EXIT_INPUT, "%s: write error: %s", name, strerror(errno));
	}
	out = NULL;
	/* mkstemp made it 0600; results are meant to be read by others */
	{
		mode_t mask = umask(0);
		umask(mask);
		chmod(tmp_path, 0666 & ~mask);
	}
	if (rename(tmp_path, final_path) != 0)
		die(EXIT_INPUT, "%s: cannot rename into place: %s", name, strerror(errno));
	free(tmp_path);
	tmp_path = NULL;
}
