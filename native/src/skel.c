// Thin C shim over the bpftool skeleton (kept out of C++ on purpose: the skeleton is C code).
#include <errno.h>
#include "skel.h"
#include "sigil.skel.h"

struct sigil_bpf *sigil_skel_open(void)
{
	return sigil_bpf__open();
}

void sigil_skel_configure(struct sigil_bpf *skel, __u32 signer_ip4, const __u32 signer_ip6[4], __u16 signer_port)
{
	skel->rodata->signer_ip4 = signer_ip4;
	for (int i = 0; i < 4; i++)
		skel->rodata->signer_ip6[i] = signer_ip6[i];
	skel->rodata->signer_port = signer_port;
}

int sigil_skel_load(struct sigil_bpf *skel)
{
	int err = sigil_bpf__load(skel);

	return err ? (err < 0 ? err : -errno) : 0;
}

struct bpf_object *sigil_skel_object(struct sigil_bpf *skel)
{
	return skel->obj;
}

const void *sigil_skel_elf_bytes(__u64 *size)
{
	size_t sz = 0;
	const void *bytes = sigil_bpf__elf_bytes(&sz);

	*size = sz;
	return bytes;
}

void sigil_skel_destroy(struct sigil_bpf *skel)
{
	sigil_bpf__destroy(skel);
}
