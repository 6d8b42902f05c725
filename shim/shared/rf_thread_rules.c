/*
 * rf_thread_rules.c - which threads are leaks.
 */
#include "rf_thread_rules.h"

#include <string.h>

bool rf_pattern_match(const char *pattern, size_t len, const char *s)
{
	size_t p = 0, star = (size_t)-1;
	const char *resume = NULL;

	/* Iterative glob with one backtrack point: linear in practice, no recursion. */
	while (*s) {
		if (p < len && (pattern[p] == '?' || pattern[p] == *s)) {
			p++;
			s++;
		} else if (p < len && pattern[p] == '*') {
			star = p++;
			resume = s;
		} else if (star != (size_t)-1) {
			p = star + 1;
			s = ++resume;
		} else {
			return false;
		}
	}
	while (p < len && pattern[p] == '*')
		p++;
	return p == len;
}

bool rf_pattern_list_match(const char *list, const char *s)
{
	if (list == NULL || s == NULL || *s == '\0')
		return false;
	while (*list) {
		size_t n = strcspn(list, ",");

		if (n > 0 && rf_pattern_match(list, n, s))
			return true;
		list += n;
		if (*list == ',')
			list++;
	}
	return false;
}

bool rf_thread_name_is_library(const char *name)
{
	return name != NULL && (strncmp(name, "rdk:", 4) == 0 || strncmp(name, "rf:", 3) == 0);
}

bool rf_thread_is_go_runtime(const char *start_name, const char *creator)
{
	/* Both names, as neither alone is Go's: threadentry is a static function
	 * of runtime/cgo (a C program may have one), the creator its exported
	 * helper. A stripped Go binary names neither: its threads stay the
	 * program's. */
	return start_name != NULL && creator != NULL && strcmp(start_name, "threadentry") == 0 &&
	       strcmp(creator, "_cgo_try_pthread_create") == 0;
}

static bool rf_thread_ignored(const char *list, const struct rf_thread_facts *f)
{
	return rf_pattern_list_match(list, f->name) || rf_pattern_list_match(list, f->start_name) ||
	       rf_pattern_list_match(list, f->start_name2);
}

enum rf_thread_class rf_thread_classify(const struct rf_thread_rules *rules,
					const struct rf_thread_facts *f)
{
	if (rf_thread_name_is_library(f->name) ||
	    rf_thread_is_go_runtime(f->start_name, f->creator) ||
	    rf_thread_is_go_runtime(f->start_name2, f->creator))
		return RF_THREAD_CLASS_LIBRARY;
	if (rf_thread_ignored(rules->ignore, f) || rf_thread_ignored(rules->ignore_more, f))
		return RF_THREAD_CLASS_IGNORED;
	if (!f->alive)
		return f->detached ? RF_THREAD_CLASS_RUNNING : RF_THREAD_CLASS_UNJOINED;
	if (rules->at_exit)
		return RF_THREAD_CLASS_LEAKED;
	if (f->age_ns > rules->age_ns && (f->group_growth > 0 || f->group_alive > rules->group_max))
		return RF_THREAD_CLASS_STUCK;
	return RF_THREAD_CLASS_RUNNING;
}

bool rf_thread_class_is_leak(enum rf_thread_class cls)
{
	return cls == RF_THREAD_CLASS_LEAKED || cls == RF_THREAD_CLASS_STUCK ||
	       cls == RF_THREAD_CLASS_UNJOINED;
}

const char *rf_thread_class_name(enum rf_thread_class cls)
{
	static const char *const names[RF_THREAD_CLASS__COUNT] = {
		[RF_THREAD_CLASS_LEAKED] = "leaked",     [RF_THREAD_CLASS_STUCK] = "stuck",
		[RF_THREAD_CLASS_UNJOINED] = "unjoined", [RF_THREAD_CLASS_RUNNING] = "running",
		[RF_THREAD_CLASS_LIBRARY] = "library",   [RF_THREAD_CLASS_IGNORED] = "ignored",
	};

	return (unsigned)cls < RF_THREAD_CLASS__COUNT ? names[cls] : "unknown";
}
