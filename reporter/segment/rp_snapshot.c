/*
 * rp_snapshot.c - the snapshot's accessors, and the reader's errors.
 */
#include "rp_snapshot.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static const struct {
	int status;
	bool corrupt;
	const char *kind;
	const char *summary;
} rp_read_errors[RP_READ__COUNT] = {[RP_READ_OK] = {0, false, "ok", "ok"},
#define RP_READ_ERROR_INFO(name, status, corrupt, kind, summary)                                   \
	[RP_READ_##name] = {status, corrupt, kind, summary},
				    RP_READ_ERRORS(RP_READ_ERROR_INFO)
#undef RP_READ_ERROR_INFO
};

int rp_read_error_status(enum rp_read_error error)
{
	return (unsigned)error < RP_READ__COUNT ? rp_read_errors[error].status : 1;
}

const char *rp_read_error_kind(enum rp_read_error error)
{
	return (unsigned)error < RP_READ__COUNT ? rp_read_errors[error].kind : "unknown";
}

static const char *rp_read_error_summary(enum rp_read_error error)
{
	return (unsigned)error < RP_READ__COUNT ? rp_read_errors[error].summary : "unknown";
}

bool rp_read_error_corrupt(enum rp_read_error error)
{
	return (unsigned)error < RP_READ__COUNT && rp_read_errors[error].corrupt;
}

enum rp_read_error rp_failure_set(struct rp_failure *fail, enum rp_read_error error,
				  const char *path, const char *fmt, ...)
{
	va_list ap;
	int n;

	fail->error = error;
	n = snprintf(fail->message, sizeof(fail->message), "%s: %s: ", path,
		     rp_read_error_summary(error));
	if (n >= 0 && (size_t)n < sizeof(fail->message)) {
		va_start(ap, fmt);
		vsnprintf(fail->message + n, sizeof(fail->message) - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return error;
}

bool rp_snapshot_has_stat(const struct rp_snapshot *snap, enum rf_stat stat)
{
	return (unsigned)stat < snap->stats_count;
}

void rp_snapshot_release(struct rp_snapshot *snap)
{
	free(snap->buf);
	snap->buf = NULL;
	snap->len = 0;
}

const void *rp_snapshot_table(const struct rp_snapshot *snap, enum rf_shm_section_kind kind,
			      uint64_t *count)
{
	*count = 0;
	if (snap->buf == NULL || kind <= RF_SHM_SECTION__NONE || kind >= RF_SHM_SECTION__END)
		return NULL;
	*count = snap->sections[kind].count;
	return snap->buf + snap->sections[kind].offset;
}
