/*
 * rp_segment_check.c - the reader's checks on a private copy.
 *
 * Everything in the segment may be wrong: written by another version, by a
 * broken or hostile process, half-initialised, or cut short. Nothing here
 * indexes memory with a value from the segment before checking it against
 * the size of what was actually copied.
 */
#include "rp_segment_check.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "rf_config.h"

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
	return rp_failure_set(fail, RP_READ_LAYOUT, path,
			      "config.%s is %" PRIu64 ", expected %" PRIu64 " to %" PRIu64, name,
			      value, min, max);
}

static enum rp_read_error rp_config_check_name(const char *value, size_t size, const char *name,
					       const char *env, const char *path,
					       struct rp_failure *fail)
{
	struct rf_shm_config scratch;
	char err[RF_SHM_ERROR_MAX];

	if (!rp_string_terminated(value, size))
		return rp_failure_set(fail, RP_READ_LAYOUT, path,
				      "config.%s is not NUL-terminated within its %zu bytes", name,
				      size);
	/* The shim's own rule, so reader and writer agree on what a name is. */
	rf_config_defaults(&scratch);
	if (rf_config_set(&scratch, env, value, err, sizeof(err)) < 0)
		return rp_failure_set(fail, RP_READ_LAYOUT, path, "config.%s: %s", name, err);
	return RP_READ_OK;
}

#define RP_CONFIG_CHECK_NUMBER(cfg, name, env, min, max)                                           \
	rp_config_check_number((cfg)->name, #name, (uint64_t)(min), (uint64_t)(max), path, fail)
#define RP_CONFIG_CHECK_SIZE RP_CONFIG_CHECK_NUMBER
#define RP_CONFIG_CHECK_DURATION RP_CONFIG_CHECK_NUMBER
#define RP_CONFIG_CHECK_POLICY RP_CONFIG_CHECK_NUMBER
#define RP_CONFIG_CHECK_NAME(cfg, name, env, min, max)                                             \
	rp_config_check_name((cfg)->name, sizeof((cfg)->name), #name, env, path, fail)
#define RP_CONFIG_CHECK_COUNT RP_CONFIG_CHECK_NUMBER
#define RP_CONFIG_CHECK_BOOL RP_CONFIG_CHECK_NUMBER
#define RP_CONFIG_CHECK_LIST RP_CONFIG_CHECK_NAME

static enum rp_read_error rp_config_check(const struct rf_shm_config *cfg, const char *path,
					  struct rp_failure *fail)
{
	enum rp_read_error rc;

#define RP_CONFIG_CHECK(name, type, env, def, min, max, help)                                      \
	rc = RP_CONFIG_CHECK_##type(cfg, name, env, min, max);                                     \
	if (rc != RP_READ_OK)                                                                      \
		return rc;
	RF_CONFIG(RP_CONFIG_CHECK)
#undef RP_CONFIG_CHECK
	return RP_READ_OK;
}

/*
 * Rule 1 of rf_shm.h: identity and size, in the order that explains best. A
 * newer writer of this version may have a longer header: its first
 * sizeof(*hdr) bytes are the header this reader knows. An older one may have
 * a shorter one, down to RF_SHM_HEADER_SIZE_FIRST: the fields it lacks read
 * as zero, which is what they meant to it.
 */
static enum rp_read_error rp_header_check(const unsigned char *buf, size_t len, const char *path,
					  struct rf_shm_header *hdr, struct rp_failure *fail)
{
	uint64_t magic;
	uint32_t version;

	/* magic and version first: a foreign or newer file is not "truncated". */
	if (len >= sizeof(magic)) {
		memcpy(&magic, buf + offsetof(struct rf_shm_header, magic), sizeof(magic));
		const char *zero = magic == 0 ? " (zero: not initialised yet, or not ours)" : "";
		if (magic != RF_SHM_MAGIC)
			return rp_failure_set(fail, RP_READ_NOT_RINGFENCE, path,
					      "magic is 0x%016" PRIx64 ", expected 0x%016" PRIx64
					      "%s",
					      magic, RF_SHM_MAGIC, zero);
	}
	if (len >= offsetof(struct rf_shm_header, version) + sizeof(version)) {
		memcpy(&version, buf + offsetof(struct rf_shm_header, version), sizeof(version));
		if (version != RF_SHM_VERSION)
			return rp_failure_set(fail, RP_READ_VERSION, path,
					      "found version %" PRIu32
					      ", this reporter reads version %d; "
					      "use the ringfence built with that shim",
					      version, RF_SHM_VERSION);
	}
	if (len < RF_SHM_HEADER_SIZE_FIRST)
		return rp_failure_set(fail, RP_READ_TRUNCATED, path,
				      "size %zu bytes, expected at least %d (the header)%s", len,
				      RF_SHM_HEADER_SIZE_FIRST,
				      len == 0 ? "; an empty segment is one being created, or a "
						 "writer that failed"
					       : "");
	memset(hdr, 0, sizeof(*hdr));
	memcpy(hdr, buf, len < sizeof(*hdr) ? len : sizeof(*hdr));
	if (hdr->header_size < RF_SHM_HEADER_SIZE_FIRST)
		return rp_failure_set(fail, RP_READ_LAYOUT, path,
				      "header_size is %" PRIu32 ", expected at least %d",
				      hdr->header_size, RF_SHM_HEADER_SIZE_FIRST);
	if (hdr->header_size < sizeof(*hdr))
		memset((unsigned char *)hdr + hdr->header_size, 0, sizeof(*hdr) - hdr->header_size);
	if (hdr->size > len)
		return rp_failure_set(fail, RP_READ_TRUNCATED, path,
				      "size %zu bytes, header says %" PRIu64, len, hdr->size);
	if (hdr->size < len)
		return rp_failure_set(fail, RP_READ_LAYOUT, path,
				      "size field is %" PRIu64 ", but the segment has %zu bytes",
				      hdr->size, len);
	if (hdr->header_size > hdr->size)
		return rp_failure_set(fail, RP_READ_LAYOUT, path,
				      "header_size is %" PRIu32
				      ", beyond the segment size %" PRIu64,
				      hdr->header_size, hdr->size);
	return RP_READ_OK;
}

/* Entry size of each section kind, from RF_SHM_SECTION_LIST. */
static const struct {
	const char *name;
	size_t entry_size;
} rp_section_kinds[RF_SHM_SECTION__END] = {
#define RP_SECTION_KIND(KIND, member, type, capacity)                                              \
	[RF_SHM_SECTION_##KIND] = {#member, sizeof(type)},
	RF_SHM_SECTION_LIST(RP_SECTION_KIND)
#undef RP_SECTION_KIND
};

/* Every entry type's alignment divides this (the writer uses 64). */
#define RP_SECTION_ALIGN 8
#define RP_SECTION_ALIGN_CHECK(KIND, member, type, capacity)                                       \
	_Static_assert(RP_SECTION_ALIGN % _Alignof(type) == 0, #type " needs a larger alignment"); \
	_Static_assert(sizeof(type) % RP_SECTION_ALIGN == 0,                                       \
		       #type " would not keep the next entry aligned");
RF_SHM_SECTION_LIST(RP_SECTION_ALIGN_CHECK)
#undef RP_SECTION_ALIGN_CHECK

/*
 * Rule 3: the section directory. Every kind this reader knows once, each
 * within the segment; kinds it does not know (a newer writer's) are skipped
 * unread, and entries may be larger than it knows (a newer writer appended
 * fields), never smaller.
 */
static enum rp_read_error rp_sections_check(const struct rf_shm_header *hdr, const char *path,
					    struct rp_snapshot *snap, struct rp_failure *fail)
{
	if (hdr->section_count > RF_SHM_SECTIONS_MAX)
		return rp_failure_set(fail, RP_READ_LAYOUT, path,
				      "section_count is %" PRIu32 ", at most %d",
				      hdr->section_count, RF_SHM_SECTIONS_MAX);
	for (uint32_t i = 0; i < hdr->section_count; i++) {
		const struct rf_shm_section *sec = &hdr->sections[i];
		size_t entry_size;

		if (sec->kind == RF_SHM_SECTION__NONE)
			return rp_failure_set(
				fail, RP_READ_LAYOUT, path,
				"sections[%" PRIu32 "].kind is 0, which no section has", i);
		if (sec->kind >= RF_SHM_SECTION__END)
			continue;
		if (snap->sections[sec->kind].kind != 0)
			return rp_failure_set(fail, RP_READ_LAYOUT, path,
					      "sections[%" PRIu32 "] is a second %s section", i,
					      rp_section_kinds[sec->kind].name);
		entry_size = rp_section_kinds[sec->kind].entry_size;
		if (sec->entry_size < entry_size)
			return rp_failure_set(fail, RP_READ_LAYOUT, path,
					      "sections[%" PRIu32 "].entry_size is %" PRIu32
					      ", expected at least %zu",
					      i, sec->entry_size, entry_size);
		/* Entries hold 8-byte fields: a size that is not a multiple of 8
		 * would misalign every entry after the first. */
		if (sec->entry_size % RP_SECTION_ALIGN != 0)
			return rp_failure_set(fail, RP_READ_LAYOUT, path,
					      "sections[%" PRIu32 "].entry_size is %" PRIu32
					      ", not a multiple of %d",
					      i, sec->entry_size, RP_SECTION_ALIGN);
		if (sec->offset < hdr->header_size)
			return rp_failure_set(fail, RP_READ_LAYOUT, path,
					      "sections[%" PRIu32 "].offset is %" PRIu64
					      ", inside the header (header_size %" PRIu32 ")",
					      i, sec->offset, hdr->header_size);
		/* Entries hold 8-byte fields: an odd offset would make every access
		 * to them undefined (and a fault where alignment is enforced). */
		if (sec->offset % RP_SECTION_ALIGN != 0)
			return rp_failure_set(fail, RP_READ_LAYOUT, path,
					      "sections[%" PRIu32 "].offset is %" PRIu64
					      ", not a multiple of %d",
					      i, sec->offset, RP_SECTION_ALIGN);
		/* Divide instead of multiplying: capacity * entry_size may overflow. */
		if (sec->offset > hdr->size ||
		    sec->capacity > (hdr->size - sec->offset) / sec->entry_size)
			return rp_failure_set(
				fail, RP_READ_LAYOUT, path,
				"sections[%" PRIu32 "] (offset %" PRIu64 ", capacity %" PRIu64
				" x %" PRIu32 " bytes) ends past the segment size %" PRIu64,
				i, sec->offset, sec->capacity, sec->entry_size, hdr->size);
		if (sec->count > sec->capacity)
			return rp_failure_set(fail, RP_READ_LAYOUT, path,
					      "sections[%" PRIu32 "].count is %" PRIu64
					      ", above its capacity %" PRIu64,
					      i, sec->count, sec->capacity);
		snap->sections[sec->kind] = *sec;
	}
	for (int kind = 1; kind < RF_SHM_SECTION__END; kind++)
		if (snap->sections[kind].kind == 0)
			return rp_failure_set(fail, RP_READ_LAYOUT, path,
					      "no %s section among its %" PRIu32 " sections",
					      rp_section_kinds[kind].name, hdr->section_count);
	return RP_READ_OK;
}

/*
 * Entries of the size this reader knows, in place: a newer writer's larger
 * entries are cut to their first sizeof(type) bytes (fields are only ever
 * appended), so that every table reads as an array of its type. Moving
 * entry i from i * entry_size to i * sizeof(type) only ever moves it down,
 * over bytes already moved or not needed.
 */
static void rp_entries_compact(unsigned char *buf, struct rp_snapshot *snap)
{
	for (int kind = 1; kind < RF_SHM_SECTION__END; kind++) {
		struct rf_shm_section *sec = &snap->sections[kind];
		size_t size = rp_section_kinds[kind].entry_size;
		unsigned char *base = buf + sec->offset;

		if (sec->entry_size == size)
			continue;
		for (uint64_t i = 1; i < sec->count; i++)
			memmove(base + i * size, base + i * sec->entry_size, size);
		sec->entry_size = (uint32_t)size;
	}
}

/*
 * The counters: those of a newer writer beyond RF_STAT__COUNT are ignored,
 * those an older writer lacks are absent (stats_count tells which).
 */
static void rp_stats_copy(const unsigned char *buf, struct rp_snapshot *snap)
{
	const struct rf_shm_section *sec = &snap->sections[RF_SHM_SECTION_STATS];

	snap->stats_count = sec->count < RF_STAT__COUNT ? (unsigned)sec->count : RF_STAT__COUNT;
	memcpy(snap->stats, buf + sec->offset, snap->stats_count * sizeof(snap->stats[0]));
}

/* ---- tables: the entries in use of each section ---------------------- */

/* Entry i of a section whose bounds rp_sections_check has checked. */
static const void *rp_entry(const unsigned char *buf, const struct rf_shm_section *sec, uint64_t i)
{
	return buf + sec->offset + i * sec->entry_size;
}

/* In a table check: entry->field, a char array, holds a NUL. */
#define RP_CHECK_STRING(table, i, entry, field)                                                    \
	do {                                                                                       \
		if (!rp_string_terminated((entry)->field, sizeof((entry)->field)))                 \
			return rp_failure_set(fail, RP_READ_LAYOUT, path,                          \
					      "%s[%" PRIu64 "]." #field                            \
					      " is not NUL-terminated within its %zu bytes",       \
					      table, i, sizeof((entry)->field));                   \
	} while (0)

/* In a table check: entry->field, a number, is at most max. */
#define RP_CHECK_AT_MOST(table, i, entry, field, max)                                              \
	do {                                                                                       \
		if ((uint64_t)(entry)->field > (uint64_t)(max))                                    \
			return rp_failure_set(                                                     \
				fail, RP_READ_LAYOUT, path,                                        \
				"%s[%" PRIu64 "]." #field " is %" PRIu64 ", at most %" PRIu64,     \
				table, i, (uint64_t)(entry)->field, (uint64_t)(max));              \
	} while (0)

/* In a table check: entry->group indexes THREAD_GROUPS of the same publish. */
#define RP_CHECK_GROUP(table, i, entry, ngroups)                                                   \
	do {                                                                                       \
		if ((entry)->group >= (ngroups))                                                   \
			return rp_failure_set(fail, RP_READ_LAYOUT, path,                          \
					      "%s[%" PRIu64 "].group is %" PRIu32                  \
					      ", but only %" PRIu64 " groups are published",       \
					      table, i, (entry)->group, (uint64_t)(ngroups));      \
	} while (0)

static enum rp_read_error rp_handles_check(const unsigned char *buf, const struct rp_snapshot *snap,
					   const char *path, struct rp_failure *fail)
{
	const struct rf_shm_section *sec = &snap->sections[RF_SHM_SECTION_HANDLES];

	for (uint64_t i = 0; i < sec->count; i++) {
		const struct rf_shm_handle *e = rp_entry(buf, sec, i);

#define RP_HANDLE_STRING(field) RP_CHECK_STRING("handles", i, e, field);
		RF_SHM_HANDLE_STRINGS(RP_HANDLE_STRING)
#undef RP_HANDLE_STRING
		if (e->state > RF_SHM_HANDLE_DESTROYED)
			return rp_failure_set(fail, RP_READ_LAYOUT, path,
					      "handles[%" PRIu64 "].state is %" PRIu32
					      ", expected 0 to 2",
					      i, e->state);
	}
	return RP_READ_OK;
}

/*
 * The thread sections (rf_shm.h, "Threads"): strings, the indexes from one
 * section into another, frame counts and enumerations in range.
 */
static enum rp_read_error rp_thread_sections_check(const unsigned char *buf,
						   const struct rp_snapshot *snap, const char *path,
						   struct rp_failure *fail)
{
	const struct rf_shm_section *si = &snap->sections[RF_SHM_SECTION_THREAD_INFO];
	const struct rf_shm_section *sg = &snap->sections[RF_SHM_SECTION_THREAD_GROUPS];
	const struct rf_shm_section *st = &snap->sections[RF_SHM_SECTION_THREADS];
	const struct rf_shm_section *ss = &snap->sections[RF_SHM_SECTION_THREAD_SAMPLES];
	const struct rf_shm_section *sm = &snap->sections[RF_SHM_SECTION_MODULES];

	for (uint64_t i = 0; i < si->count; i++) {
		const struct rf_shm_thread_info *e = rp_entry(buf, si, i);

		RP_CHECK_AT_MOST("thread_info", i, e, sample_status, RF_SHM_SAMPLE_DISABLED);
	}
	for (uint64_t i = 0; i < sg->count; i++) {
		const struct rf_shm_thread_group *e = rp_entry(buf, sg, i);

#define RP_GROUP_STRING(field) RP_CHECK_STRING("thread_groups", i, e, field);
		RF_SHM_THREAD_GROUP_STRINGS(RP_GROUP_STRING)
#undef RP_GROUP_STRING
		RP_CHECK_AT_MOST("thread_groups", i, e, nframes, RF_SHM_THREAD_FRAMES);
		RP_CHECK_AT_MOST("thread_groups", i, e, flags, RF_SHM_GROUP_OVERFLOW);
	}
	for (uint64_t i = 0; i < st->count; i++) {
		const struct rf_shm_thread *e = rp_entry(buf, st, i);

#define RP_THREAD_STRING(field) RP_CHECK_STRING("threads", i, e, field);
		RF_SHM_THREAD_STRINGS(RP_THREAD_STRING)
#undef RP_THREAD_STRING
		RP_CHECK_GROUP("threads", i, e, sg->count);
		RP_CHECK_AT_MOST("threads", i, e, flags,
				 RF_SHM_THREAD_EXITED | RF_SHM_THREAD_DETACHED | RF_SHM_THREAD_C11);
		RP_CHECK_AT_MOST("threads", i, e, end, RF_SHM_THREAD_END_CANCEL);
		RP_CHECK_AT_MOST("threads", i, e, state, 0x7f);
	}
	for (uint64_t i = 0; i < ss->count; i++) {
		const struct rf_shm_thread_sample *e = rp_entry(buf, ss, i);

		RP_CHECK_GROUP("thread_samples", i, e, sg->count);
		RP_CHECK_AT_MOST("thread_samples", i, e, nframes, RF_SHM_THREAD_FRAMES);
		RP_CHECK_AT_MOST("thread_samples", i, e, status, RF_SHM_SAMPLE_DISABLED);
	}
	for (uint64_t i = 0; i < sm->count; i++) {
		const struct rf_shm_module *e = rp_entry(buf, sm, i);

#define RP_MODULE_STRING(field) RP_CHECK_STRING("modules", i, e, field);
		RF_SHM_MODULE_STRINGS(RP_MODULE_STRING)
#undef RP_MODULE_STRING
		if (e->start > e->end)
			return rp_failure_set(fail, RP_READ_LAYOUT, path,
					      "modules[%" PRIu64 "] starts after it ends", i);
	}
	return RP_READ_OK;
}

#undef RP_CHECK_STRING
#undef RP_CHECK_AT_MOST
#undef RP_CHECK_GROUP

/* Rule 3, inside the tables: every entry in use, as far as the printers read it. */
static enum rp_read_error rp_tables_check(const unsigned char *buf, const struct rp_snapshot *snap,
					  const char *path, struct rp_failure *fail)
{
	enum rp_read_error rc = rp_handles_check(buf, snap, path, fail);

	if (rc == RP_READ_OK)
		rc = rp_thread_sections_check(buf, snap, path, fail);
	return rc;
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
#define RP_HEADER_STRING(field)                                                                    \
	{#field, offsetof(struct rf_shm_header, field), sizeof(((struct rf_shm_header *)0)->field)},
		RF_SHM_HEADER_STRINGS(RP_HEADER_STRING)
#undef RP_HEADER_STRING
	};

	for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++)
		if (!rp_string_terminated((const char *)hdr + strings[i].offset, strings[i].size))
			return rp_failure_set(fail, RP_READ_LAYOUT, path,
					      "%s is not NUL-terminated within its %zu bytes",
					      strings[i].name, strings[i].size);
	if (hdr->status != RF_SHM_STATUS_RUNNING && hdr->status != RF_SHM_STATUS_EXITED)
		return rp_failure_set(fail, RP_READ_LAYOUT, path,
				      "status is %" PRIu32 ", expected %d (running) or %d (exited)",
				      hdr->status, RF_SHM_STATUS_RUNNING, RF_SHM_STATUS_EXITED);
	if (hdr->passive > 1)
		return rp_failure_set(fail, RP_READ_LAYOUT, path,
				      "passive is %" PRIu32 ", expected 0 or 1", hdr->passive);
	if (hdr->exit_status_known > 1)
		return rp_failure_set(fail, RP_READ_LAYOUT, path,
				      "exit_status_known is %" PRIu32 ", expected 0 or 1",
				      hdr->exit_status_known);
	if (hdr->exit_recorder > RF_SHM_EXIT_BY_PARENT)
		return rp_failure_set(fail, RP_READ_LAYOUT, path,
				      "exit_recorder is %" PRIu32 ", expected 0 (the process) or 1 "
				      "(its parent)",
				      hdr->exit_recorder);
	if (hdr->exit_signal < 0 || hdr->exit_signal >= 128)
		return rp_failure_set(fail, RP_READ_LAYOUT, path,
				      "exit_signal is %" PRId32 ", expected 0 to 127",
				      hdr->exit_signal);
	return rp_config_check(&hdr->config, path, fail);
}

enum rp_read_error rp_segment_check(unsigned char *buf, size_t len, pid_t pid,
				    struct rp_snapshot *snap, struct rp_failure *fail)
{
	enum rp_read_error rc;

	rc = rp_header_check(buf, len, snap->path, &snap->hdr, fail);
	if (rc == RP_READ_OK)
		rc = rp_sections_check(&snap->hdr, snap->path, snap, fail);
	if (rc == RP_READ_OK) {
		rp_entries_compact(buf, snap);
		rp_stats_copy(buf, snap);
		rc = rp_tables_check(buf, snap, snap->path, fail);
	}
	if (rc == RP_READ_OK)
		rc = rp_fields_check(&snap->hdr, snap->path, fail);
	if (rc == RP_READ_OK && snap->hdr.pid != (int32_t)pid)
		rc = rp_failure_set(fail, RP_READ_PID_MISMATCH, snap->path,
				    "the name says pid %d, the segment holds pid %" PRId32,
				    (int)pid, snap->hdr.pid);
	return rc;
}
