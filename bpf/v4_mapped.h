/* SPDX-License-Identifier: Apache-2.0 */
/*
 * IPv4 in the ABI's 16-byte address form (abi.h): ::ffff:a.b.c.d, four __u32 words in network byte
 * order. The one definition for the BPF programs (bpf/sigil.bpf.c) and the addon (native/src/).
 */
#ifndef SIGIL_V4_MAPPED_H
#define SIGIL_V4_MAPPED_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/*
 * The third word of a v4-mapped address (bytes 00 00 ff ff) as read from memory: htonl(0x0000ffff)
 * as a constant, so both sides use it where no byte-order helper is at hand (BPF has no htonl).
 */
#if !defined(__BYTE_ORDER__)
#error "__BYTE_ORDER__ is not defined"
#elif __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define SIGIL_V4_MAPPED_WORD2 0x0000ffffu
#else
#define SIGIL_V4_MAPPED_WORD2 0xffff0000u
#endif

/* addr = ::ffff:<ip4>; ip4 in network byte order. */
static inline __attribute__((always_inline)) void sigil_set_v4_mapped(__u32 addr[4], __u32 ip4)
{
	addr[0] = 0;
	addr[1] = 0;
	addr[2] = SIGIL_V4_MAPPED_WORD2;
	addr[3] = ip4;
}

/* Nonzero when addr is ::ffff:a.b.c.d (an IPv4 address). */
static inline __attribute__((always_inline)) int sigil_is_v4_mapped(const __u32 addr[4])
{
	return addr[0] == 0 && addr[1] == 0 && addr[2] == SIGIL_V4_MAPPED_WORD2;
}

#endif /* SIGIL_V4_MAPPED_H */
