/*
 * rf_modules.h - the loaded objects of this process, for the segment's
 * MODULES section: path and load bias of each, so a reader can turn the
 * absolute addresses of creation stacks and samples into symbols, even
 * after the process has gone.
 */
#ifndef RF_MODULES_H
#define RF_MODULES_H

#include "rf_segment.h"

/*
 * Within a publication: write the module map into the segment when the set
 * of loaded objects changed since the last call for this mapping
 * (dl_iterate_phdr's adds/subs counters tell), else leave it as it is. The main program, which
 * dl_iterate_phdr names "", is recorded by its /proc/self/exe path.
 */
void rf_modules_publish(struct rf_publication *pub);

#endif /* RF_MODULES_H */
