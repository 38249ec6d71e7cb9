/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The destination filter: a bitmap (sigil_dest_filter, SIGIL_DEST_FILTER_WORDS words of 64 bits) with
 * one bit set for every key in sigil_dests, so that a connect to an address that is not listed passes
 * after reading one word instead of a hash lookup. It is a superset: a set bit only means "look in
 * sigil_dests", which stays the authority. User space (native/src/dest_filter_map.cc) sets a key's
 * bit before it inserts the key and clears it only after the key is gone, and sets every bit
 * sigil_dests needs whenever a new object takes over the pinned maps, before its programs run, so no
 * listed key ever has a clear bit. The one definition of the bit for the BPF programs and the addon:
 * a change to sigil_dest_filter_bit must rename the map (an old set's bits would not cover it).
 */
#ifndef SIGIL_DEST_FILTER_H
#define SIGIL_DEST_FILTER_H

#include "abi.h"

#define SIGIL_DEST_FILTER_BITS 65536u
#define SIGIL_DEST_FILTER_WORDS (SIGIL_DEST_FILTER_BITS / 64)

/* Fibonacci hashing of the key's words (memory order, so both sides agree on any byte order). */
static inline __attribute__((always_inline)) __u32 sigil_dest_filter_bit(const struct sigil_dest_key *key)
{
	__u32 h = key->addr[0] ^ key->addr[1] ^ key->addr[2] ^ key->addr[3] ^ key->port;

	return (__u32)(h * 0x9e3779b1u) >> 16;
}

#endif /* SIGIL_DEST_FILTER_H */
