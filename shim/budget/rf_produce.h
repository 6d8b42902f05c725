/*
 * rf_produce.h - accounting of the produce entry points.
 *
 * The interposers report what each real call did; this module turns that
 * into the counters of the segment. It does not know it is preloaded.
 */
#ifndef RF_PRODUCE_H
#define RF_PRODUCE_H

#include <stdint.h>

enum rf_produce_entry {
	RF_PRODUCE_ENTRY_PRODUCE,
	RF_PRODUCE_ENTRY_PRODUCEV,
	RF_PRODUCE_ENTRY_PRODUCEVA,
	RF_PRODUCE_ENTRY_PRODUCE_BATCH,
	RF_PRODUCE_ENTRY__COUNT
};

/* One call of entry: messages accepted and rejected, payload bytes accepted. */
void rf_produce_account(enum rf_produce_entry entry, uint64_t accepted, uint64_t rejected,
			uint64_t bytes);

#endif /* RF_PRODUCE_H */
