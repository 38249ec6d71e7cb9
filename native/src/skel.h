// The generated skeleton is C; C++ reaches it only through these few functions.
#pragma once
#include <linux/types.h>

#ifdef __cplusplus
extern "C" {
#endif

struct sigil_bpf;
struct bpf_object;

/* Opens the embedded object (not yet loaded). NULL with errno set on failure. */
struct sigil_bpf *sigil_skel_open(void);
/* Read-only config, network byte order; only before sigil_skel_load. */
void sigil_skel_configure(struct sigil_bpf *skel, __u32 signer_ip4, const __u32 signer_ip6[4], __u16 signer_port);
/* Loads and verifies every program; negative errno on failure. */
int sigil_skel_load(struct sigil_bpf *skel);
struct bpf_object *sigil_skel_object(struct sigil_bpf *skel);
/* The embedded ELF object these functions load. */
const void *sigil_skel_elf_bytes(__u64 *size);
void sigil_skel_destroy(struct sigil_bpf *skel);

#ifdef __cplusplus
}
#endif
