/* met_process.c — process metrics from /proc; see met_process.h. */
#include "metrics/met_process.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* Read a whole small /proc file into buf; returns its length or -1. */
static ssize_t read_small(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, cap - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = 0;
	return n;
}

/* Seconds since the epoch at which the system booted ("btime" in /proc/stat). */
static double boot_time(void)
{
	char buf[8192];
	if (read_small("/proc/stat", buf, sizeof(buf)) < 0)
		return 0;
	const char *p = strstr(buf, "\nbtime ");
	return p ? strtod(p + 7, NULL) : 0;
}

bool met_process_read(struct met_process *p)
{
	char buf[1024];
	bool ok = true;
	long ticks = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
	memset(p, 0, sizeof(*p));
	if (read_small("/proc/self/stat", buf, sizeof(buf)) > 0 && ticks > 0) {
		/* The command name (field 2) may hold spaces and parentheses: fields are counted
		 * from the last ')'. utime and stime are fields 14 and 15, starttime 22. */
		const char *q = strrchr(buf, ')');
		unsigned long long utime = 0, stime = 0, start = 0;
		if (q && sscanf(q + 2,
				"%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d "
				"%*d %*d %*d %llu",
				&utime, &stime, &start) == 3) {
			p->cpu_seconds = (double)(utime + stime) / (double)ticks;
			p->start_time_seconds = boot_time() + (double)start / (double)ticks;
		} else {
			ok = false;
		}
	} else {
		ok = false;
	}
	unsigned long long size = 0, resident = 0;
	if (read_small("/proc/self/statm", buf, sizeof(buf)) > 0 &&
	    sscanf(buf, "%llu %llu", &size, &resident) == 2 && page > 0) {
		p->virtual_bytes = (double)size * (double)page;
		p->resident_bytes = (double)resident * (double)page;
	} else {
		ok = false;
	}
	DIR *d = opendir("/proc/self/fd");
	if (d) {
		long n = 0;
		for (struct dirent *e; (e = readdir(d));)
			if (e->d_name[0] != '.')
				n++;
		closedir(d);
		p->open_fds = (double)(n > 0 ? n - 1 : 0); /* minus the directory's own fd */
	} else {
		ok = false;
	}
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
		p->max_fds = rl.rlim_cur == RLIM_INFINITY ? 0 : (double)rl.rlim_cur;
	else
		ok = false;
	return ok;
}
