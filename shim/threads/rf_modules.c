/*
 * rf_modules.c - the loaded objects of this process.
 */
#define _GNU_SOURCE
#include "rf_modules.h"

#include <limits.h>
#include <link.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

static struct {
	unsigned long long adds, subs;
	const void *written_for; /* the mapping last written, */
	pid_t written_pid;       /* by this process (a fork child may map at the same address) */
	size_t count;
	struct rf_shm_module mods[RF_SHM_MODULES_MAX];
} rf_modules;

struct rf_modules_walk {
	bool first;
	bool changed;
	size_t count;
	struct rf_shm_module *mods;
};

static int rf_modules_check(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct rf_modules_walk *w = arg;

	if (size < offsetof(struct dl_phdr_info, dlpi_subs) + sizeof(info->dlpi_subs)) {
		w->changed = true;
		return 1;
	}
	w->changed = info->dlpi_adds != rf_modules.adds || info->dlpi_subs != rf_modules.subs;
	rf_modules.adds = info->dlpi_adds;
	rf_modules.subs = info->dlpi_subs;
	return 1; /* the counters are the same in every entry: one look is enough */
}

static int rf_modules_collect(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct rf_modules_walk *w = arg;
	struct rf_shm_module *m;
	uint64_t lo = UINT64_MAX, hi = 0;
	bool first = w->first;

	(void)size;
	w->first = false;
	if (w->count >= RF_SHM_MODULES_MAX)
		return 1;
	m = &w->mods[w->count];
	memset(m, 0, sizeof(*m));
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];

		if (ph->p_type != PT_LOAD)
			continue;
		if (ph->p_vaddr < lo)
			lo = ph->p_vaddr;
		if (ph->p_vaddr + ph->p_memsz > hi)
			hi = ph->p_vaddr + ph->p_memsz;
	}
	if (hi == 0)
		return 0;
	m->base = info->dlpi_addr;
	m->start = info->dlpi_addr + lo;
	m->end = info->dlpi_addr + hi;
	if (info->dlpi_name != NULL && info->dlpi_name[0] == '/') {
		size_t n = strnlen(info->dlpi_name, sizeof(m->path) - 1);
		memcpy(m->path, info->dlpi_name, n);
	} else if (info->dlpi_name != NULL && info->dlpi_name[0] != '\0') {
		/* A relative LD_PRELOAD entry: absolute for readers elsewhere (best effort,
		 * against the current directory). */
		char abs[PATH_MAX];
		const char *p = realpath(info->dlpi_name, abs) ? abs : info->dlpi_name;
		size_t n = strnlen(p, sizeof(m->path) - 1);
		memcpy(m->path, p, n);
	} else if (first) {
		ssize_t n = readlink("/proc/self/exe", m->path, sizeof(m->path) - 1);
		if (n < 0)
			n = 0;
		m->path[n] = '\0';
	}
	w->count++;
	return 0;
}

void rf_modules_publish(struct rf_publication *pub)
{
	struct rf_modules_walk w = {.first = true, .mods = rf_modules.mods};
	struct rf_segment *seg = pub->seg;
	uint64_t count;

	if (seg->shm == NULL)
		return;
	dl_iterate_phdr(rf_modules_check, &w);
	if (!w.changed && rf_modules.written_for == seg->shm && rf_modules.written_pid == getpid())
		return;
	if (w.changed) {
		w.first = true;
		w.count = 0;
		dl_iterate_phdr(rf_modules_collect, &w);
		rf_modules.count = w.count;
	}
	count = rf_segment_room(seg, RF_SHM_SECTION_MODULES, rf_modules.count);
	memcpy(seg->shm->modules, rf_modules.mods, count * sizeof(rf_modules.mods[0]));
	rf_segment_section_count(seg, RF_SHM_SECTION_MODULES, count);
	rf_modules.written_for = seg->shm;
	rf_modules.written_pid = getpid();
}
