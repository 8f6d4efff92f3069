/* out.c - see out.h */
#include "out.h"
#include "err.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
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

/* Ctrl-C, kill, a closed terminal or stderr pipe, a CPU limit while a temp
 * file is pending: remove it, then die of the same signal (unlink is
 * async-signal-safe). */
static void on_signal(int sig)
{
	if (tmp_path)
		unlink(tmp_path);
	signal(sig, SIG_DFL);
	raise(sig);
}

/* A signal the caller ignores (nohup, trap '' INT) stays ignored: the run
 * must survive a logout with its output, as the caller asked. */
static void catch_signals(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGXCPU, SIGPIPE };
	for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++) {
		struct sigaction old, sa;
		if (sigaction(sigs[i], NULL, &old) != 0 || old.sa_handler == SIG_IGN)
			continue;
		memset(&sa, 0, sizeof sa);
		sa.sa_handler = on_signal;
		sigemptyset(&sa.sa_mask);
		sigaction(sigs[i], &sa, NULL);
	}
}

/* The temp file's name prefix, "DIR/BASE.tmp.HOST.": BASE cut so that the
 * whole name, pid included, fits NAME_MAX (a valid 250-character name still
 * gets a temp file); HOST because a results folder may be shared by nodes
 * whose pids mean nothing to each other. */
static char *tmp_prefix(const char *path)
{
	char host[65] = "";
	const char *slash = strrchr(path, '/');
	size_t dir_len = slash ? (size_t)(slash - path) + 1 : 0;
	size_t base_len = strlen(path) - dir_len, tail;
	char *p;

	if (gethostname(host, sizeof host - 1) != 0)
		strcpy(host, "host");
	tail = strlen(".tmp.") + strlen(host) + 1 + 10; /* ".tmp.HOST." + pid */
	if (base_len > NAME_MAX) /* refused now, not at the final rename */
		die(EXIT_INPUT, "%s: cannot create: %s", path, strerror(ENAMETOOLONG));
	if (base_len + tail > NAME_MAX)
		base_len = tail < NAME_MAX ? NAME_MAX - tail : 1;
	p = xmalloc(dir_len + base_len + tail + 1);
	sprintf(p, "%.*s%.*s.tmp.%s.", (int)dir_len, path, (int)base_len, path + dir_len, host);
	return p;
}

/* A pid no process has on this host: kill(pid, 0) fails with ESRCH (EPERM
 * means another user's live process). */
static int pid_is_dead(long pid)
{
	return kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

/* Temp files of this output left by runs on this host that died without
 * cleanup (SIGKILL, power loss): removed, so no later step trusts them.  A
 * live run's temp file is left alone; one with this process's own pid is
 * from an earlier process that had it. */
static void remove_stale(const char *prefix)
{
	const char *slash = strrchr(prefix, '/');
	size_t dir_len = slash ? (size_t)(slash - prefix) + 1 : 0, n = strlen(prefix) - dir_len;
	char *dir = dir_len ? xstrdup(prefix) : xstrdup("./");
	DIR *d;
	struct dirent *e;

	if (dir_len)
		dir[dir_len] = '\0';
	d = opendir(dir);
	while (d && (e = readdir(d)) != NULL) {
		char *end, *stale;
		long pid;
		if (strncmp(e->d_name, prefix + dir_len, n) != 0 || !e->d_name[n])
			continue;
		errno = 0;
		pid = strtol(e->d_name + n, &end, 10);
		if (*end || pid <= 0 || errno || !(pid == (long)getpid() || pid_is_dead(pid)))
			continue;
		stale = xmalloc(strlen(dir) + strlen(e->d_name) + 1);
		sprintf(stale, "%s%s", dir, e->d_name);
		unlink(stale);
		free(stale);
	}
	if (d)
		closedir(d);
	free(dir);
}

/* FIFOs, terminals and devices (a /dev/full copy, /dev/null) are written
 * through, never replaced by a regular file; their write errors are still
 * reported at out_commit. */
static FILE *write_through(const char *path)
{
	int fd = open(path, O_WRONLY);
	FILE *f = fd < 0 ? NULL : fdopen(fd, "w");
	if (!f)
		die(EXIT_INPUT, "%s: cannot open: %s", path, strerror(errno));
	return out = f;
}

/* Where the rows of -o PATH end up: PATH itself, or the file a symlink at
 * PATH points to (the link stays a link).  Everything that would make the
 * final rename fail is refused here, before the first row runs. */
static char *target_of(const char *path)
{
	struct stat st;
	char *real;

	if (!*path)
		die_usage("-o '': empty file name");
	if (lstat(path, &st) != 0 || !S_ISLNK(st.st_mode))
		return xstrdup(path);
	real = realpath(path, NULL);
	if (!real)
		die(EXIT_INPUT, "%s: symbolic link to a missing file: %s", path, strerror(errno));
	return real;
}

/* Creates the temp file of -o PATH (after removing stale ones) and returns
 * its descriptor, with its name in *tmp; -1 when PATH is written through
 * (*final_out: where the rows end up).  Dies on what would make the final
 * rename fail. */
static int create_tmp(const char *path, char **final_out, char **tmp)
{
	struct stat st;
	char *final = target_of(path), *prefix;
	int fd;

	*final_out = final;
	if (stat(final, &st) == 0 && S_ISDIR(st.st_mode))
		die(EXIT_INPUT, "%s: cannot write: Is a directory", path);
	if (stat(final, &st) == 0 && !S_ISREG(st.st_mode))
		return -1;
	prefix = tmp_prefix(final);
	remove_stale(prefix);
	*tmp = xmalloc(strlen(prefix) + 24);
	sprintf(*tmp, "%s%ld", prefix, (long)getpid());
	free(prefix);
	/* mode 0666 less the umask, as any new file: results are for others to read */
	fd = open(*tmp, O_WRONLY | O_CREAT | O_EXCL, 0666);
	if (fd < 0) {
		free(*tmp);
		*tmp = NULL;
		die(EXIT_INPUT, "%s: cannot create: %s", path, strerror(errno));
	}
	return fd;
}

FILE *out_open(const char *path)
{
	int fd;

	if (!path || strcmp(path, "-") == 0)
		return out = stdout;
	fd = create_tmp(path, &final_path, &tmp_path);
	if (fd < 0)
		return write_through(final_path);
	err_set_cleanup(remove_tmp);
	catch_signals();
	out = fdopen(fd, "w");
	if (!out)
		die(EXIT_INPUT, "%s: %s", path, strerror(errno));
	return out;
}

void out_check(const char *path)
{
	char *final, *tmp = NULL;
	int fd = create_tmp(path, &final, &tmp);

	if (fd >= 0) {
		close(fd);
		unlink(tmp);
	}
	free(tmp);
	free(final);
}

/* path as its folder's real path + "/" + its last name (the file itself
 * need not exist); 0 when the folder does not resolve */
static int canonical(const char *path, char *buf, size_t n)
{
	char dir[4096], real[4096];
	const char *slash = strrchr(path, '/');
	size_t dl = slash ? (size_t)(slash - path) : 0;
	if (dl >= sizeof dir)
		return 0;
	if (slash) {
		memcpy(dir, path, dl);
		dir[dl] = 0;
		if (!dl)
			strcpy(dir, "/");
	} else {
		strcpy(dir, ".");
	}
	if (!realpath(dir, real))
		return 0;
	return snprintf(buf, n, "%s/%s", real, slash ? slash + 1 : path) < (int)n;
}

int out_same_file(const char *a, const char *b)
{
	char ca[8192], cb[8192];
	struct stat sa, sb;
	if (!strcmp(a, b))
		return 1;
	if (canonical(a, ca, sizeof ca) && canonical(b, cb, sizeof cb) && !strcmp(ca, cb))
		return 1;
	return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

void out_remove(const char *path)
{
	struct stat st;

	if (lstat(path, &st) == 0 && S_ISREG(st.st_mode) && unlink(path) != 0 && errno != ENOENT)
		die(EXIT_INPUT, "%s: cannot remove: %s", path, strerror(errno));
}

void out_commit(void)
{
	const char *name = final_path ? final_path : "stdout";

	if (!out)
		return;
	if (fflush(out) != 0 || ferror(out))
		die(EXIT_INPUT, "%s: write error: %s", name, strerror(errno));
	if (!tmp_path) { /* stdout, or a file written through */
		if (fclose(out) != 0)
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
	if (rename(tmp_path, final_path) != 0)
		die(EXIT_INPUT, "%s: cannot rename into place: %s", name, strerror(errno));
	free(tmp_path);
	tmp_path = NULL;
}
