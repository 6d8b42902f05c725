/*
 * rf_thread_report.c - the at-exit leak report (RINGFENCE_REPORT_AT_EXIT=1):
 * the registry's leak groups, symbolised with the registry's namer, one
 * line at a time through the caller's print.
 */
#include "rf_thread.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define RF_THREAD_REPORT_GROUPS 32

static void rf_thread_report_frame(void (*print)(const char *), rf_thread_namer_fn namer, int i,
				   uintptr_t pc)
{
	char line[512], name[256] = "";
	const char *module = NULL, *label = NULL;
	uintptr_t off = 0;

	if (namer != NULL && namer(pc - 1, name, sizeof(name), &off, &module) == 0 && name[0])
		label = name;
	else if (module != NULL) /* as `ringfence threads` shows it: object+offset */
		label = strrchr(module, '/') ? strrchr(module, '/') + 1 : module;
	if (label != NULL)
		snprintf(line, sizeof(line), "      #%-2d 0x%016" PRIxPTR " %s+0x%" PRIxPTR " (%s)",
			 i, pc, label, off + 1, module ? module : "?");
	else
		snprintf(line, sizeof(line), "      #%-2d 0x%016" PRIxPTR " ? (?)", i, pc);
	print(line);
}

uint64_t rf_thread_report(const struct rf_thread_rules *rules, int64_t now_ns,
			  void (*print)(const char *line))
{
	struct rf_thread_leak_group groups[RF_THREAD_REPORT_GROUPS];
	rf_thread_namer_fn namer = rf_thread_namer_get();
	uint64_t total[RF_THREAD_CLASS__COUNT], leaks;
	size_t n, more;
	char line[512];

	n = rf_thread_leaks(rules, now_ns, groups, RF_THREAD_REPORT_GROUPS, total, &more);
	leaks = total[RF_THREAD_CLASS_LEAKED] + total[RF_THREAD_CLASS_STUCK] +
		total[RF_THREAD_CLASS_UNJOINED];
	if (leaks == 0)
		return 0;
	snprintf(line, sizeof(line),
		 "thread leak report at exit (pid %d): %" PRIu64 " leaked (alive at exit), %" PRIu64
		 " unjoined, %" PRIu64 " library and ignored threads not counted",
		 (int)getpid(), total[RF_THREAD_CLASS_LEAKED] + total[RF_THREAD_CLASS_STUCK],
		 total[RF_THREAD_CLASS_UNJOINED],
		 total[RF_THREAD_CLASS_LIBRARY] + total[RF_THREAD_CLASS_IGNORED]);
	print(line);
	for (size_t i = 0; i < n; i++) {
		uint64_t leaked = groups[i].counts[RF_THREAD_CLASS_LEAKED] +
				  groups[i].counts[RF_THREAD_CLASS_STUCK];
		char age[32];

		snprintf(age, sizeof(age), "%.1fs", (double)(now_ns - groups[i].oldest_ns) / 1e9);
		snprintf(line, sizeof(line),
			 "  group %zu: %" PRIu64 " leaked, %" PRIu64
			 " unjoined; oldest %s; thread name \"%s\"; start routine %s",
			 i + 1, leaked, groups[i].counts[RF_THREAD_CLASS_UNJOINED], age,
			 groups[i].name, groups[i].start_name[0] ? groups[i].start_name : "?");
		print(line);
		print("    created at:");
		for (uint32_t f = 0; f < groups[i].nframes; f++)
			rf_thread_report_frame(print, namer, (int)f, groups[i].frames[f]);
	}
	if (more > 0) {
		snprintf(line, sizeof(line),
			 "  ... and %zu more leaked thread(s) in further groups", more);
		print(line);
	}
	print("  (source lines: ringfence threads PID, while the segment exists)");
	return leaks;
}
