/*
 * met_process.h — the process_* metrics a Prometheus user expects, read from /proc at scrape time.
 *
 * Linux only. Each scrape reads /proc/self/stat, /proc/self/statm and lists /proc/self/fd: a few
 * tens of microseconds, nothing on the request path.
 */
#ifndef TW_METRICS_MET_PROCESS_H
#define TW_METRICS_MET_PROCESS_H

#include <stdbool.h>

struct met_process {
	double cpu_seconds; /* user + system time of all threads */
	double resident_bytes;
	double virtual_bytes;
	double open_fds;
	double max_fds;		   /* the soft RLIMIT_NOFILE */
	double start_time_seconds; /* Unix time the process started */
};

/* Fill `p`; a value that cannot be read is left at 0 and false is returned. Any thread. */
bool met_process_read(struct met_process *p);

#endif
