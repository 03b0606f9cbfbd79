/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef HPCNODE_AUDIT_H
#define HPCNODE_AUDIT_H

#include <stdbool.h>
#include <stdint.h>

#include <hpcnode/error.h>
#include <hpcnode/slice.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The library never logs. It hands every state-changing action, and every
 * refusal, to an audit callback the caller installs; the daemon turns those
 * into journal entries and JSON lines. */
enum hn_audit_outcome {
        HN_AUDIT_DONE,    /* the action happened */
        HN_AUDIT_INTENT,  /* the action is about to happen (emergency actions: RI3) */
        HN_AUDIT_REFUSED, /* refused before anything was touched */
        HN_AUDIT_FAILED,  /* attempted and failed; see sys_errno and detail */
};

struct hn_audit_record {
        const char *action;          /* "cgroup.create", "emergency.kill", … */
        enum hn_audit_outcome outcome;
        enum hn_slice_owner caller;  /* who the library acted for */
        enum hn_slice_owner target_owner;
        const char *path;            /* absolute path acted on; "" if none */
        const char *actor;           /* emergency actor, or NULL */
        const char *detail;          /* human detail, or NULL */
        int sys_errno;               /* positive errno for REFUSED/FAILED, else 0 */
        bool emergency;              /* an emergency was in force */
        uint64_t realtime_ns;        /* CLOCK_REALTIME when the record was made */
};

/* Called synchronously, from the thread doing the action. It must not call
 * back into the object that emitted the record. */
typedef void (*hn_audit_fn)(const struct hn_audit_record *record, void *userdata);

HN_PUBLIC const char *hn_audit_outcome_name(enum hn_audit_outcome outcome);

#ifdef __cplusplus
}
#endif
#endif
