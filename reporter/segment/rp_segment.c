/*
 * rp_segment.c - the untrusted reader of one segment.
 *
 * Everything in the segment may be wrong: written by another version, by a
 * broken or hostile process, half-initialised, or cut short. Nothing here
 * indexes memory with a value from the segment before checking it against
 * the size of what was actually copied.
 */
#define _GNU_SOURCE
#include "rp_segment.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "rf_config.h"
#include "rp_threads.h"

/*
 * Copies tried before giving up on a stable one. A publish is a few hundred
 * bytes of memcpy, so a live writer lets us through on the second try; only a
 * writer that died or stopped inside a publish exhausts these.
 */
#define RP_READ_TRIES 8
#define RP_READ_RETRY_NS 1000000L

static const struct {
	int status;
	bool corrupt;
	const char *kind;
	const char *summary;
} rp_read_errors[RP_READ__COUNT] = {
	[RP_READ_OK] = {0, false, "ok", "ok"},
#define RP_READ_ERROR_INFO(name, status, corrupt, kind, summary) \
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

const char *rp_read_error_summary(enum rp_read_error error)
{
	return (unsigned)error < RP_READ__COUNT ? rp_read_errors[error].summary : "unknown";
}

bool rp_read_error_corrupt(enum rp_read_error error)
{
	return (unsigned)error < RP_READ__COUNT && rp_read_errors[error].corrupt;
}

void rp_segment_name(const char *prefix, pid_t pid, char name[RF_SHM_NAME_MAX])
{
	snprintf(name, RF_SHM_NAME_MAX, "/%s.%d", prefix, (int)pid);
}

void rp_segment_path(const char *prefix, pid_t pid, char path[RP_PATH_MAX])
{
	snprintf(path, RP_PATH_MAX, RP_SHM_DIR "/%s.%d", prefix, (int)pid);
}

/* Fills *fail with "<path>: <summary>: <detail>" and returns its error. */
__attribute__((format(printf, 4, 5))) static enum rp_read_error
rp_fail(struct rp_failure *fail, enum rp_read_error error, const char *path, const char *fmt,
	...)
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

/* Who owns the segment, for the permission message: stat needs no read access. */
static void rp_owner_describe(const char *path, char *buf, size_t len)
{
	struct passwd pw, *found = NULL;
	char pwbuf[1024];
	struct stat st;

	if (stat(path, &st) < 0) {
		snprintf(buf, len, "another user");
		return;
	}
	getpwuid_r(st.st_uid, &pw, pwbuf, sizeof(pwbuf), &found);
	if (found != NULL)
		snprintf(buf, len, "uid %u (%s), mode %04o", (unsigned)st.st_uid, found->pw_name,
			 (unsigned)(st.st_mode & 07777));
	else
		snprintf(buf, len, "uid %u, mode %04o", (unsigned)st.st_uid,
			 (unsigned)(st.st_mode & 07777));
}

static enum rp_read_error rp_open_fail(const char *prefix, pid_t pid, const char *path, int err,
				       struct rp_failure *fail)
{
	char owner[160];

	switch (err) {
	case ENOENT:
		return rp_fail(fail, RP_READ_MISSING, path,
			       "pid %d has no segment under prefix \"%s\" (it never ran under the "
			       "shim, or the segment was removed); `ringfence ls` lists the segments",
			       (int)pid, prefix);
	case EACCES:
	case EPERM:
		rp_owner_describe(path, owner, sizeof(owner));
		return rp_fail(fail, RP_READ_PERMISSION, path,
			       "owned by %s; segments are created mode 0600, readable by their owner "
			       "and root only: run as that user",
			       owner);
	case ELOOP:
		return rp_fail(fail, RP_READ_NOT_RINGFENCE, path,
			       "a symbolic link, never created by the shim");
	default:
		return rp_fail(fail, RP_READ_IO, path, "%s", strerror(err));
	}
}

/* Reads up to len bytes at off; the count read (short only at end of file) or -errno. */
static ssize_t rp_pread_full(int fd, void *buf, size_t len, off_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(fd, (char *)buf + done, len - done, off + (off_t)done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

/* seq as the file holds it now; 1 (odd: unstable) when it cannot be read. */
static uint64_t rp_seq_read(int fd, size_t size)
{
	const size_t off = offsetof(struct rf_shm_header, seq);
	uint64_t seq;

	if (size < off + sizeof(seq) || rp_pread_full(fd, &seq, sizeof(seq), (off_t)off) !=
						     (ssize_t)sizeof(seq))
		return 1;
	return seq;
}

/* The first bytes name the format: foreign files are not worth retrying. */
static bool rp_looks_ours(const unsigned char *buf, size_t len)
{
	struct rf_shm_header hdr;

	if (len < sizeof(hdr))
		return false;
	memcpy(&hdr, buf, sizeof(hdr));
	return hdr.magic == RF_SHM_MAGIC && hdr.version == RF_SHM_VERSION;
}

/*
 * Copies the file under the sequence lock: seq, copy, seq again; equal and
 * even means no publish overlapped the copy. 0 or -errno; *len is what was
 * copied (less than size if the file shrank meanwhile).
 */
static int rp_copy_stable(int fd, unsigned char *buf, size_t size, size_t *len, bool *torn)
{
	for (int attempt = 1;; attempt++) {
		uint64_t before = rp_seq_read(fd, size);
		ssize_t n = rp_pread_full(fd, buf, size, 0);
		uint64_t after = rp_seq_read(fd, size);

		if (n < 0)
			return (int)n;
		*len = (size_t)n;
		*torn = !(before == after && before % 2 == 0);
		if (!*torn || attempt == RP_READ_TRIES || !rp_looks_ours(buf, *len))
			return 0;
		nanosleep(&(struct timespec){0, RP_READ_RETRY_NS}, NULL);
	}
}

static bool rp_string_terminated(const char *field, size_t size)
{
	return memchr(field, '\0', size) != NULL;
}

/* Passes bounds through a call: a literal 0 minimum would trip -Wtype-limits. */
static bool rp_in_range(uint64_t value, uint64_t min, uint64_t max)
{
	return value >= min && value <= max;
}

static enum rp_read_error rp_config_check_number(uint64_t value, const char *name, uint64_t min,
						 uint64_t max, const char *path,
						 struct rp_failure *fail)
{
	if (rp_in_range(value, min, max))
		return RP_READ_OK;
	return rp_fail(fail, RP_READ_LAYOUT, path,
		       "config.%s is %" PRIu64 ", expected %" PRIu64 " to %" PRIu64, name, value,
		       min, max);
}

static enum rp_read_error rp_config_check_name(const char *value, size_t size, const char *name,
					       const char *env, const char *path,
					       struct rp_failure *fail)
{
	struct rf_shm_config scratch;
	char err[RF_SHM_ERROR_MAX];

	if (!rp_string_terminated(value, size))
		return rp_fail(fail, RP_READ_LAYOUT, path,
			       "config.%s is not NUL-terminated within its %zu bytes", name, size);
	/* The shim's own rule, so reader and writer agree on what a name is. */
	rf_config_defaults(&scratch);
	if (rf_config_set(&scratch, env, value, err, sizeof(err)) < 0)
		return rp_fail(fail, RP_READ_LAYOUT, path, "config.%s: %s", name, err);
	return RP_READ_OK;
}

#define RP_CONFIG_CHECK_NUMBER(cfg, name, env, min, max) \
	rp_config_check_number((cfg)->name, #name, (uint64_t)(min), (uint64_t)(max), path, fail)
#define RP_CONFIG_CHECK_SIZE RP_CONFIG_CHECK_NUMBER
#define RP_CONFIG_CHECK_DURATION RP_CONFIG_CHECK_NUMBER
#define RP_CONFIG_CHECK_POLICY RP_CONFIG_CHECK_NUMBER
#define RP_CONFIG_CHECK_NAME(cfg, name, env, min, max) \
	rp_config_check_name((cfg)->name, sizeof((cfg)->name), #name, env, path, fail)
#define RP_CONFIG_CHECK_COUNT RP_CONFIG_CHECK_NUMBER
#define RP_CONFIG_CHECK_BOOL RP_CONFIG_CHECK_NUMBER
#define RP_CONFIG_CHECK_LIST RP_CONFIG_CHECK_NAME

static enum rp_read_error rp_config_check(const struct rf_shm_config *cfg, const char *path,
					  struct rp_failure *fail)
{
	enum rp_read_error rc;

#define RP_CONFIG_CHECK(name, type, env, def, min, max, help)           \
	rc = RP_CONFIG_CHECK_##type(cfg, name, env, min, max);          \
	if (rc != RP_READ_OK)                                           \
		return rc;
	RF_CONFIG(RP_CONFIG_CHECK)
#undef RP_CONFIG_CHECK
	return RP_READ_OK;
}

/* Rule 1 of rf_shm.h: identity and size, in the order that explains best. */
static enum rp_read_error rp_header_check(const unsigned char *buf, size_t len, const char *path,
					  struct rf_shm_header *hdr, struct rp_failure *fail)
{
	uint64_t magic;
	uint32_t version;

	/* magic and version first: a foreign or newer file is not "truncated". */
	if (len >= sizeof(magic)) {
		memcpy(&magic, buf + offsetof(struct rf_shm_header, magic), sizeof(magic));
		if (magic != RF_SHM_MAGIC)
			return rp_fail(fail, RP_READ_NOT_RINGFENCE, path,
				       "magic is 0x%016" PRIx64 ", expected 0x%016" PRIx64 "%s",
				       magic, RF_SHM_MAGIC,
				       magic == 0 ? " (zero: not initialised yet, or not ours)" : "");
	}
	if (len >= offsetof(struct rf_shm_header, version) + sizeof(version)) {
		memcpy(&version, buf + offsetof(struct rf_shm_header, version), sizeof(version));
		if (version != RF_SHM_VERSION)
			return rp_fail(fail, RP_READ_VERSION, path,
				       "found version %" PRIu32 ", this reporter reads version %d; "
				       "use the ringfence built with that shim",
				       version, RF_SHM_VERSION);
	}
	if (len < sizeof(*hdr))
		return rp_fail(fail, RP_READ_TRUNCATED, path,
			       "size %zu bytes, expected at least %zu (the header)%s", len,
			       sizeof(*hdr),
			       len == 0 ? "; an empty segment is one being created, or a "
					  "writer that failed"
					: "");
	memcpy(hdr, buf, sizeof(*hdr));
	if (hdr->header_size != sizeof(*hdr))
		return rp_fail(fail, RP_READ_LAYOUT, path,
			       "header_size is %" PRIu32 ", expected %zu", hdr->header_size,
			       sizeof(*hdr));
	if (hdr->size > len)
		return rp_fail(fail, RP_READ_TRUNCATED, path,
			       "size %zu bytes, header says %" PRIu64, len, hdr->size);
	if (hdr->size < len)
		return rp_fail(fail, RP_READ_LAYOUT, path,
			       "size field is %" PRIu64 ", but the segment has %zu bytes", hdr->size,
			       len);
	return RP_READ_OK;
}

/* Entry size of each section kind, from RF_SHM_SECTION_LIST. */
static const struct {
	const char *name;
	size_t entry_size;
} rp_section_kinds[RF_SHM_SECTION__END] = {
#define RP_SECTION_KIND(KIND, member, type, capacity) \
	[RF_SHM_SECTION_##KIND] = {#member, sizeof(type)},
	RF_SHM_SECTION_LIST(RP_SECTION_KIND)
#undef RP_SECTION_KIND
};

/* Every entry type's alignment divides this (the writer uses 64). */
#define RP_SECTION_ALIGN 8
#define RP_SECTION_ALIGN_CHECK(KIND, member, type, capacity) \
	_Static_assert(RP_SECTION_ALIGN % _Alignof(type) == 0, \
		       #type " needs a larger alignment");
RF_SHM_SECTION_LIST(RP_SECTION_ALIGN_CHECK)
#undef RP_SECTION_ALIGN_CHECK

/* Rule 3: the section directory; every kind once, each within the segment. */
static enum rp_read_error rp_sections_check(const unsigned char *buf, const struct rf_shm_header *hdr,
					    const char *path, struct rp_snapshot *snap,
					    struct rp_failure *fail)
{
	if (hdr->section_count > RF_SHM_SECTIONS_MAX)
		return rp_fail(fail, RP_READ_LAYOUT, path,
			       "section_count is %" PRIu32 ", at most %d", hdr->section_count,
			       RF_SHM_SECTIONS_MAX);
	for (uint32_t i = 0; i < hdr->section_count; i++) {
		const struct rf_shm_section *sec = &hdr->sections[i];
		size_t entry_size;

		if (sec->kind <= RF_SHM_SECTION__NONE || sec->kind >= RF_SHM_SECTION__END)
			return rp_fail(fail, RP_READ_LAYOUT, path,
				       "sections[%" PRIu32 "].kind is %" PRIu32
				       ", expected 1 to %d",
				       i, sec->kind, RF_SHM_SECTION_KINDS);
		if (snap->sections[sec->kind].kind != 0)
			return rp_fail(fail, RP_READ_LAYOUT, path,
				       "sections[%" PRIu32 "] is a second %s section", i,
				       rp_section_kinds[sec->kind].name);
		entry_size = rp_section_kinds[sec->kind].entry_size;
		if (sec->entry_size != entry_size)
			return rp_fail(fail, RP_READ_LAYOUT, path,
				       "sections[%" PRIu32 "].entry_size is %" PRIu32 ", expected %zu",
				       i, sec->entry_size, entry_size);
		if (sec->offset < hdr->header_size)
			return rp_fail(fail, RP_READ_LAYOUT, path,
				       "sections[%" PRIu32 "].offset is %" PRIu64
				       ", inside the header (header_size %" PRIu32 ")",
				       i, sec->offset, hdr->header_size);
		/* Entries hold 8-byte fields: an odd offset would make every access
		 * to them undefined (and a fault where alignment is enforced). */
		if (sec->offset % RP_SECTION_ALIGN != 0)
			return rp_fail(fail, RP_READ_LAYOUT, path,
				       "sections[%" PRIu32 "].offset is %" PRIu64
				       ", not a multiple of %d",
				       i, sec->offset, RP_SECTION_ALIGN);
		/* Divide instead of multiplying: capacity * entry_size may overflow. */
		if (sec->offset > hdr->size ||
		    sec->capacity > (hdr->size - sec->offset) / sec->entry_size)
			return rp_fail(fail, RP_READ_LAYOUT, path,
				       "sections[%" PRIu32 "] (offset %" PRIu64 ", capacity %" PRIu64
				       " x %" PRIu32 " bytes) ends past the segment size %" PRIu64,
				       i, sec->offset, sec->capacity, sec->entry_size, hdr->size);
		if (sec->count > sec->capacity)
			return rp_fail(fail, RP_READ_LAYOUT, path,
				       "sections[%" PRIu32 "].count is %" PRIu64
				       ", above its capacity %" PRIu64,
				       i, sec->count, sec->capacity);
		if (sec->kind == RF_SHM_SECTION_STATS && sec->count != RF_STAT__COUNT)
			return rp_fail(fail, RP_READ_LAYOUT, path,
				       "sections[%" PRIu32 "].count is %" PRIu64
				       ", expected %d stats",
				       i, sec->count, RF_STAT__COUNT);
		snap->sections[sec->kind] = *sec;
	}
	for (int kind = 1; kind < RF_SHM_SECTION__END; kind++)
		if (snap->sections[kind].kind == 0)
			return rp_fail(fail, RP_READ_LAYOUT, path, "no %s section among its %" PRIu32
				       " sections", rp_section_kinds[kind].name, hdr->section_count);
	memcpy(snap->stats, buf + snap->sections[RF_SHM_SECTION_STATS].offset,
	       RF_STAT__COUNT * sizeof(uint64_t));
	return RP_READ_OK;
}

/* Strings inside table entries: each declared string field of each entry in use. */
static enum rp_read_error rp_tables_check(const unsigned char *buf, const struct rp_snapshot *snap,
					  const char *path, struct rp_failure *fail)
{
	const struct rf_shm_section *sec = &snap->sections[RF_SHM_SECTION_HANDLES];
	static const struct {
		const char *name;
		size_t offset;
		size_t size;
	} handle_strings[] = {
#define RP_HANDLE_STRING(field) \
	{#field, offsetof(struct rf_shm_handle, field), sizeof(((struct rf_shm_handle *)0)->field)},
		RF_SHM_HANDLE_STRINGS(RP_HANDLE_STRING)
#undef RP_HANDLE_STRING
	};

	for (uint64_t i = 0; i < sec->count; i++) {
		const struct rf_shm_handle *h =
			(const void *)(buf + sec->offset + i * sec->entry_size);

		for (size_t k = 0; k < sizeof(handle_strings) / sizeof(handle_strings[0]); k++)
			if (!rp_string_terminated((const char *)h + handle_strings[k].offset,
						  handle_strings[k].size))
				return rp_fail(fail, RP_READ_LAYOUT, path,
					       "handles[%" PRIu64 "].%s is not NUL-terminated "
					       "within its %zu bytes",
					       i, handle_strings[k].name, handle_strings[k].size);
		if (h->state > RF_SHM_HANDLE_DESTROYED)
			return rp_fail(fail, RP_READ_LAYOUT, path,
				       "handles[%" PRIu64 "].state is %" PRIu32 ", expected 0 to 2",
				       i, h->state);
	}
	/* The thread sections (rp_threads.c): strings, indexes between sections, ranges. */
	char why[256];
	if (rp_threads_validate(buf, snap, why, sizeof(why)) < 0)
		return rp_fail(fail, RP_READ_LAYOUT, path, "%s", why);
	return RP_READ_OK;
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

/* Rule 3, strings; and what the printers will turn into words. */
static enum rp_read_error rp_fields_check(const struct rf_shm_header *hdr, const char *path,
					  struct rp_failure *fail)
{
	static const struct {
		const char *name;
		size_t offset;
		size_t size;
	} strings[] = {
#define RP_HEADER_STRING(field) \
	{#field, offsetof(struct rf_shm_header, field), sizeof(((struct rf_shm_header *)0)->field)},
		RF_SHM_HEADER_STRINGS(RP_HEADER_STRING)
#undef RP_HEADER_STRING
	};

	for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++)
		if (!rp_string_terminated((const char *)hdr + strings[i].offset, strings[i].size))
			return rp_fail(fail, RP_READ_LAYOUT, path,
				       "%s is not NUL-terminated within its %zu bytes",
				       strings[i].name, strings[i].size);
	if (hdr->status != RF_SHM_STATUS_RUNNING && hdr->status != RF_SHM_STATUS_EXITED)
		return rp_fail(fail, RP_READ_LAYOUT, path,
			       "status is %" PRIu32 ", expected %d (running) or %d (exited)",
			       hdr->status, RF_SHM_STATUS_RUNNING, RF_SHM_STATUS_EXITED);
	if (hdr->passive > 1)
		return rp_fail(fail, RP_READ_LAYOUT, path, "passive is %" PRIu32 ", expected 0 or 1",
			       hdr->passive);
	if (hdr->exit_status_known > 1)
		return rp_fail(fail, RP_READ_LAYOUT, path,
			       "exit_status_known is %" PRIu32 ", expected 0 or 1",
			       hdr->exit_status_known);
	return rp_config_check(&hdr->config, path, fail);
}

/* Rules 1, 3 and 4 on a private copy of len bytes. */
static enum rp_read_error rp_segment_validate(const unsigned char *buf, size_t len, pid_t pid,
					      struct rp_snapshot *snap, struct rp_failure *fail)
{
	enum rp_read_error rc;

	rc = rp_header_check(buf, len, snap->path, &snap->hdr, fail);
	if (rc == RP_READ_OK)
		rc = rp_sections_check(buf, &snap->hdr, snap->path, snap, fail);
	if (rc == RP_READ_OK)
		rc = rp_tables_check(buf, snap, snap->path, fail);
	if (rc == RP_READ_OK)
		rc = rp_fields_check(&snap->hdr, snap->path, fail);
	if (rc == RP_READ_OK && snap->hdr.pid != (int32_t)pid)
		rc = rp_fail(fail, RP_READ_PID_MISMATCH, snap->path,
			     "the name says pid %d, the segment holds pid %" PRId32, (int)pid,
			     snap->hdr.pid);
	return rc;
}

enum rp_read_error rp_segment_read(const char *prefix, pid_t pid, struct rp_snapshot *snap,
				   struct rp_failure *fail)
{
	unsigned char *buf;
	struct stat st;
	size_t len = 0;
	enum rp_read_error rc;
	int fd, err;

	memset(snap, 0, sizeof(*snap));
	fail->error = RP_READ_OK;
	fail->message[0] = '\0';
	snap->pid = pid;
	rp_segment_name(prefix, pid, snap->name);
	rp_segment_path(prefix, pid, snap->path);

	/* O_NONBLOCK: a FIFO planted under a segment name must not hang us. */
	fd = shm_open(snap->name, O_RDONLY | O_NONBLOCK | O_CLOEXEC, 0);
	if (fd < 0)
		return rp_open_fail(prefix, pid, snap->path, errno, fail);
	if (fstat(fd, &st) < 0) {
		err = errno;
		close(fd);
		return rp_fail(fail, RP_READ_IO, snap->path, "fstat: %s", strerror(err));
	}
	snap->dev = st.st_dev;
	snap->ino = st.st_ino;
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return rp_fail(fail, RP_READ_NOT_RINGFENCE, snap->path,
			       "not a regular file (mode %06o)", (unsigned)st.st_mode);
	}
	if (st.st_size > (off_t)RP_SEGMENT_SIZE_MAX) {
		close(fd);
		return rp_fail(fail, RP_READ_LAYOUT, snap->path,
			       "size %jd bytes, above the %llu bytes a segment may have",
			       (intmax_t)st.st_size, (unsigned long long)RP_SEGMENT_SIZE_MAX);
	}
	buf = malloc(st.st_size > 0 ? (size_t)st.st_size : 1);
	if (buf == NULL) {
		close(fd);
		return rp_fail(fail, RP_READ_IO, snap->path, "%s", strerror(ENOMEM));
	}
	err = rp_copy_stable(fd, buf, (size_t)st.st_size, &len, &snap->torn);
	close(fd);
	if (err < 0)
		rc = rp_fail(fail, RP_READ_IO, snap->path, "%s", strerror(-err));
	else if (len < (size_t)st.st_size)
		rc = rp_fail(fail, RP_READ_TRUNCATED, snap->path,
			     "size %zu bytes, shrank from %jd while being read", len,
			     (intmax_t)st.st_size);
	else
		rc = rp_segment_validate(buf, len, pid, snap, fail);
	if (rc == RP_READ_OK) {
		snap->buf = buf;
		snap->len = len;
		rp_live_assess(&snap->hdr, &snap->live);
	} else {
		free(buf);
	}
	return rc;
}
