/*
 * The exe/argv swap of issue 13: after unshare(CLONE_NEWUSER) (full capabilities in a user namespace
 * of our own) PR_SET_MM_MAP points mm->exe_file at another readable+executable file and
 * arg_start/arg_end at a forged command line; /proc/<pid>/exe and /proc/<pid>/cmdline then name the
 * bound program. The kernel refuses a new exe_file while the old one is still mapped
 * (replace_mm_exe_file: EBUSY), so first every mapping of our own executable is replaced by an
 * anonymous copy of itself at the same address (mremap MREMAP_FIXED over it), code included.
 */
#ifndef SIGIL_ATTACK_SWAP_H
#define SIGIL_ATTACK_SWAP_H

/* Returns 0, or -1 with errno set and *step naming what failed. argv ends with NULL. */
int swap_identity(const char *exe, char *const argv[], const char **step);

/* Reports {"event":"swapped","exe":...,"cmdline":...} as /proc/self shows them now. */
void report_swapped(void);

#endif
