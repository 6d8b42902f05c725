/*
 * test_print_goroutines.c - the goroutine report's printers against what a
 * target can put in it: function and file names from its binary, wait
 * reasons and a version from its memory, none of them text to be trusted.
 * Text output must reach the terminal sanitised, JSON must be escaped, the
 * leak groups come first and `check` shows only them.
 */
#define _GNU_SOURCE
#include <stdbool.h>

#include "rf_test.h"
#include "rp_print_goroutines.h"

#define EVIL_FN "main.\x1b]0;owned\x07"
#define EVIL_FILE                                                                                  \
	"/src/a\nb\x9b"                                                                            \
	"2J.go"

struct fake {
	struct rp_goroutines g;
	struct rp_go_sample before, now;
	struct rp_go_goroutine example;
	uint64_t frames[3];
	struct rp_go_pcinfo park, user, wrapper;
	struct rp_go_group groups[3];
};

static void fake_build(struct fake *f)
{
	struct rp_go_report *r = &f->g.report;
	struct rp_go_group *leak = &f->groups[0], *other = &f->groups[1], *own = &f->groups[2];

	memset(f, 0, sizeof(*f));
	f->g.pid = 4242;
	strcpy(f->g.rt.version, "go1.19\x1b[2J");
	f->g.rt.wait_reasons_from = "target";
	f->g.rt.nwait_reasons = 15;
	f->g.rt.wait_reasons[14] = "chan\x1b receive";
	f->now = (struct rp_go_sample){.count = 302, .allglen = 310, .dead = 8};
	f->example = (struct rp_go_goroutine){.goid = 77,
					      .state = RP_GO_STATE_WAITING,
					      .waitreason = 14,
					      .nframes = 3,
					      .frames = f->frames};
	f->frames[0] = 0x1000;
	f->frames[1] = 0x2000;
	f->frames[2] = 0x3000;
	f->park = (struct rp_go_pcinfo){
		.pc = 0x1000, .nlocs = 1, .locs = {{"runtime.gopark", "/go/proc.go", 363}}};
	f->user =
		(struct rp_go_pcinfo){.pc = 0x2000, .nlocs = 1, .locs = {{EVIL_FN, EVIL_FILE, 18}}};
	/* A go statement's wrapper with the call inlined in it: text shows the callee only. */
	f->wrapper = (struct rp_go_pcinfo){
		.pc = 0x3000,
		.nlocs = 2,
		.wrapper = true,
		.locs = {{"main.callee", "/src/main.go", 30}, {"main.wrapper.gowrap1", "", 0}}};
	*leak = (struct rp_go_group){
		.created = {EVIL_FN, EVIL_FILE, 18},
		.start = "main.bug.func1",
		.count = 300,
		.before = 200,
		.growth = 100,
		.cls = RF_THREAD_CLASS_STUCK,
		.leak = true,
		.longest_wait_ns = -1,
		.nblocked = 1,
		.blocked = {{.count = 300,
			     .state = RP_GO_STATE_WAITING,
			     .waitreason = 14,
			     .example = &f->example,
			     .frames = {&f->park, &f->user, &f->wrapper},
			     .first_user = 1}},
	};
	leak->states[RP_GO_STATE_WAITING] = 300;
	leak->reasons[14] = 300;
	leak->classes[RF_THREAD_CLASS_STUCK] = 280;
	leak->classes[RF_THREAD_CLASS_RUNNING] = 20;
	*other = (struct rp_go_group){.created = {"", "", 0},
				      .start = "runtime.main",
				      .count = 1,
				      .before = 1,
				      .cls = RF_THREAD_CLASS_RUNNING,
				      .longest_wait_ns = 2500000000,
				      .wait_known = 1};
	other->states[RP_GO_STATE_WAITING] = 1;
	other->classes[RF_THREAD_CLASS_RUNNING] = 1;
	*own = (struct rp_go_group){.created = {"runtime.gcenable", "/go/mgc.go", 178},
				    .start = "runtime.bgsweep",
				    .kind = RP_GO_KIND_RUNTIME,
				    .count = 1,
				    .before = 1,
				    .cls = RF_THREAD_CLASS_LIBRARY,
				    .longest_wait_ns = -1};
	own->classes[RF_THREAD_CLASS_LIBRARY] = 1;
	*r = (struct rp_go_report){.now = &f->now,
				   .before = &f->before,
				   .rules = {.age_ns = 30000000000ULL,
					     .group_max = 256,
					     .ignore = "x*,\"quoted\\",
					     .ignore_more = "main.keep*"},
				   .interval_ns = 1000000000,
				   .groups = f->groups,
				   .ngroups = 3,
				   .leaked = 280};
	r->totals[RF_THREAD_CLASS_STUCK] = 280;
	r->totals[RF_THREAD_CLASS_RUNNING] = 21;
	r->totals[RF_THREAD_CLASS_LIBRARY] = 1;
}

/* Fail, showing text as TAP comments, its control bytes as \xNN. */
static void fail_in(const char *what, const char *s, const char *text)
{
	printf("# %s \"%s\" in:\n# ", what, s);
	for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
		if (*p == '\n')
			fputs("\n# ", stdout);
		else if (*p < 0x20 || *p >= 0x7f)
			printf("\\x%02x", *p);
		else
			putchar(*p);
	}
	putchar('\n');
	exit(1);
}

/* The output of a printer, and whether every byte is printable ASCII or a newline. */
static char *print(void (*fn)(FILE *, const struct rp_goroutines *, bool),
		   const struct rp_goroutines *g, bool leaks_only)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);

	RF_CHECK(out != NULL);
	fn(out, g, leaks_only);
	RF_CHECK(fclose(out) == 0);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)buf[i];

		if (c != '\n' && (c < 0x20 || c >= 0x7f)) {
			char at[32];

			snprintf(at, sizeof(at), "0x%02x at %zu", c, i);
			fail_in("byte", at, buf);
		}
	}
	return buf;
}

#define CHECK_HAS(text, s)                                                                         \
	do {                                                                                       \
		if (strstr((text), (s)) == NULL)                                                   \
			fail_in("missing", (s), (text));                                           \
	} while (0)

#define CHECK_LACKS(text, s)                                                                       \
	do {                                                                                       \
		if (strstr((text), (s)) != NULL)                                                   \
			fail_in("unexpected", (s), (text));                                        \
	} while (0)

RF_TEST(text_sanitises_what_the_target_wrote)
{
	static struct fake f;
	char *out;

	fake_build(&f);
	out = print(rp_goroutines_print_text, &f.g, false);
	CHECK_HAS(out, "pid 4242 (go1.19\\x1b[2J): 302 goroutines in 3 groups, 2 samples 1.0s");
	CHECK_HAS(out, "created at main.\\x1b]0;owned\\x07  /src/a\\x0ab\\x9b2J.go:18");
	CHECK_HAS(out, "states     waiting 300 (chan\\x1b receive 300)");
	CHECK_HAS(out, "300 chan\\x1b receive at:\n      main.\\x1b]0;owned\\x07  /src/a");
	free(out);
}

RF_TEST(text_leaks_first_then_others_then_the_runtime)
{
	static struct fake f;
	char *out, *leaks, *others, *own;

	fake_build(&f);
	out = print(rp_goroutines_print_text, &f.g, false);
	leaks = strstr(out, "LEAK GROUPS (1)");
	others = strstr(out, "OTHER GROUPS (1)");
	own = strstr(out, "THE RUNTIME'S AND LIBRARIES' OWN (1): never leaks");
	RF_CHECK(leaks != NULL && others != NULL && own != NULL);
	RF_CHECK(leaks < others && others < own);
	CHECK_HAS(leaks, "#1  280 goroutines stuck, 20 running\n");
	CHECK_HAS(leaks, "growth     +100 in 1.0s (200 at the first sample)");
	CHECK_HAS(out, "goroutines: 302: 280 stuck, 21 running, 1 library, 0 ignored\n");
	CHECK_HAS(others, "#2  1 goroutine running\n");
	CHECK_HAS(others, "created by the runtime (the main goroutine)");
	CHECK_HAS(others, "waited     up to 2.5s (known for 1 of 1)");
	CHECK_HAS(own, "runtime     1  runtime.bgsweep\n");
	/* The wrapper a go statement starts in is hidden; what it calls is shown. */
	CHECK_HAS(leaks, "      main.callee  /src/main.go:30\n");
	CHECK_LACKS(out, "gowrap1");
	/* Frames start at the first outside the runtime. */
	CHECK_LACKS(out, "runtime.gopark");
	free(out);
}

RF_TEST(text_for_check_lists_only_leaks)
{
	static struct fake f;
	char *out;

	fake_build(&f);
	out = print(rp_goroutines_print_text, &f.g, true);
	CHECK_HAS(out, "LEAK GROUPS (1)");
	CHECK_LACKS(out, "OTHER GROUPS");
	CHECK_LACKS(out, "runtime.bgsweep");
	CHECK_LACKS(out, "runtime.main");
	free(out);
}

RF_TEST(text_cuts_a_long_name)
{
	static struct fake f;
	static char longname[4096];
	char *out, *line, *end;

	fake_build(&f);
	memset(longname, 'n', sizeof(longname) - 1);
	f.groups[0].start = longname;
	out = print(rp_goroutines_print_text, &f.g, false);
	line = strstr(out, "start      nnn");
	RF_CHECK(line != NULL);
	end = strchr(line, '\n');
	RF_CHECK(end != NULL && end - line < 300 && strncmp(end - 3, "...", 3) == 0);
	free(out);
}

RF_TEST(json_escapes_what_the_target_wrote)
{
	static struct fake f;
	char *out;

	fake_build(&f);
	out = print(rp_goroutines_print_json, &f.g, false);
	CHECK_HAS(out, "\"go_version\": \"go1.19\\u001b[2J\"");
	CHECK_HAS(out, "\"created\": {\"function\": \"main.\\u001b]0;owned\\u0007\", \"file\": "
		       "\"/src/a\\nb\\u009b2J.go\", \"line\": 18}");
	CHECK_HAS(out, "\"wait_reasons\": {\"chan\\u001b receive\": 300}");
	CHECK_HAS(out, "\"rules\": {\"age_ns\": 30000000000, \"group\": 256, \"ignore\": [\"x*\", "
		       "\"\\\"quoted\\\\\", \"main.keep*\"]}");
	CHECK_HAS(out, "{\"pc\": 12288, \"wrapper\": true, \"inlined\": [{\"function\": "
		       "\"main.callee\"");
	CHECK_HAS(out, "\"goid\": 77, \"first_user_frame\": 1");
	CHECK_HAS(out, "\"kind\": \"runtime\"");
	CHECK_HAS(out, "\"totals\": {\"leaked\": 0, \"stuck\": 280, \"unjoined\": 0, \"running\": "
		       "21, \"library\": 1, \"ignored\": 0}");
	free(out);
}

RF_TEST(json_for_check_lists_only_leaks)
{
	static struct fake f;
	char *out;

	fake_build(&f);
	out = print(rp_goroutines_print_json, &f.g, true);
	CHECK_HAS(out, "\"class\": \"stuck\", \"leak\": true");
	CHECK_LACKS(out, "runtime.bgsweep");
	CHECK_LACKS(out, "runtime.main");
	free(out);
}

RF_TEST_MAIN(RF_TEST_ENTRY(text_sanitises_what_the_target_wrote),
	     RF_TEST_ENTRY(text_leaks_first_then_others_then_the_runtime),
	     RF_TEST_ENTRY(text_for_check_lists_only_leaks), RF_TEST_ENTRY(text_cuts_a_long_name),
	     RF_TEST_ENTRY(json_escapes_what_the_target_wrote),
	     RF_TEST_ENTRY(json_for_check_lists_only_leaks))
