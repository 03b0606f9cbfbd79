/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef HPCNODE_PROBE_H
#define HPCNODE_PROBE_H

#include <stdbool.h>

#include <hpcnode/error.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Can this kernel enforce through BPF LSM? Each step, and the first reason
 * it cannot. The daemon chooses enforce or audit mode from this. */
struct hn_bpf_lsm_probe {
        bool listed;    /* "bpf" is in /sys/kernel/security/lsm */
        bool loaded;    /* the probe's lsm/ program passed the verifier */
        bool attached;  /* and attached */
        bool denies;    /* and a mkdir it targets failed with EPERM while attached */
        bool available; /* all of the above */
        char reason[256]; /* why not, when !available; "" otherwise */
};

/* Runs the probe: loads bpf/lsm_probe, attaches it, makes one refused
 * mkdir in a fresh directory under tmpdir (NULL: /tmp), detaches, removes
 * the directory. Never fails: the outcome is in *ret. */
HN_PUBLIC void hn_probe_bpf_lsm(const char *tmpdir, struct hn_bpf_lsm_probe *ret);

/* Do BPF trampolines (fentry/fexit) load and attach here? hpcnode does not
 * depend on them (tp_btf and lsm/ cover its hooks); reported by --probe.
 * Never fails: reason says why not. */
struct hn_trampoline_probe {
        bool available;
        char reason[256];
};
HN_PUBLIC void hn_probe_trampolines(struct hn_trampoline_probe *ret);

#ifdef __cplusplus
}
#endif
#endif
