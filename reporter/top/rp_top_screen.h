/*
 * rp_top_screen.h - the full-screen view of `ringfence top` (ncurses): the
 * rows of rp_top.h refreshed every interval, keys to sort, pause, scroll
 * and quit. The terminal is given back as it was on every way out: q, and
 * SIGINT, SIGTERM, SIGHUP (after which the process ends by that signal).
 */
#ifndef RP_TOP_SCREEN_H
#define RP_TOP_SCREEN_H

#include <stddef.h>

#include "rp_top.h"

/*
 * Run the screen on the terminal of stdin and stdout until q or a signal.
 * Returns 0 after q; -EINVAL with err filled in when the terminal cannot be
 * driven (TERM unknown, say) before anything was drawn. After a
 * terminating signal it does not return: the terminal restored, the
 * process ends by that signal.
 */
int rp_top_screen_run(struct rp_top *top, int interval_ms, char *err, size_t err_len);

#endif /* RP_TOP_SCREEN_H */
