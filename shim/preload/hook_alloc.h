/*
 * hook_alloc.h - what the allocator interposers (hook_alloc.c) offer the
 * shim's start-up.
 */
#ifndef HOOK_ALLOC_H
#define HOOK_ALLOC_H

/*
 * Resolve the real allocator if not done yet: 1 when the shim's malloc and
 * free are the ones in effect (heap accounting on), 0 when another object's
 * come first (everything passes through).
 */
int rf_alloc_setup(void);

#endif /* HOOK_ALLOC_H */
