/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef HPCNODE_EMERGENCY_H
#define HPCNODE_EMERGENCY_H

#include <stdbool.h>
#include <stdint.h>

#include <hpcnode/audit.h>
#include <hpcnode/error.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Emergency mode (SPEC §4, RI3): declared by an authorised operator with a
 * reason and a bounded duration. While it is in force, a pact-owned cgroup
 * manager may kill and freeze scopes in workload.slice, and mounts may be
 * force-unmounted. The state is persisted in one small file so it survives a
 * restart of the process that holds it, and expires by itself.
 *
 * Authorisation of the operator is the caller's job (the daemon checks peer
 * credentials); the library records who the caller says the actor is. */

#define HN_EMERGENCY_DEFAULT_STATE_PATH "/run/hpcnode/emergency"
#define HN_EMERGENCY_MAX_DURATION_SECS  (24u * 3600u)
#define HN_EMERGENCY_TEXT_MAX           256 /* actor and reason, bytes */
#define HN_EMERGENCY_KEY_MIN            16  /* hn_emergency_set_key, bytes */
#define HN_EMERGENCY_KEY_MAX            64

struct hn_emergency;

struct hn_emergency_info {
        char actor[HN_EMERGENCY_TEXT_MAX + 1];
        char reason[HN_EMERGENCY_TEXT_MAX + 1];
        uint64_t started_unix; /* CLOCK_REALTIME seconds */
        uint64_t expires_unix;
};

/* Opens (and loads, if present) the state at state_path; NULL means
 * HN_EMERGENCY_DEFAULT_STATE_PATH. The directory must exist. */
HN_PUBLIC int hn_emergency_new(const char *state_path, struct hn_emergency **ret, struct hn_error *err);
HN_PUBLIC void hn_emergency_free(struct hn_emergency *e);

/* Makes this object the only source of truth (a daemon's): the state is
 * kept in memory and the file, sealed with key (HMAC-SHA256), is only its
 * copy for a restart. A file found at this call without a valid seal is
 * not honoured and removed; one changed, replaced or removed later behind
 * this object's back is put back as it was. Both are reported as
 * emergency.state_tampered (outcome refused). key: 16..64 bytes, kept
 * only in this object. Call once, after hn_emergency_new and
 * hn_emergency_set_audit. */
HN_PUBLIC int hn_emergency_set_key(struct hn_emergency *e, const void *key, size_t len, struct hn_error *err);

/* Every begin/end/expiry is reported here: emergency.begin, emergency.end. */
HN_PUBLIC void hn_emergency_set_audit(struct hn_emergency *e, hn_audit_fn fn, void *userdata);

/* Declares an emergency. actor and reason: 1..HN_EMERGENCY_TEXT_MAX printable
 * bytes; duration 1..HN_EMERGENCY_MAX_DURATION_SECS. Refused (-EBUSY) while
 * another emergency is in force. emergency.begin is reported once the state
 * is durably stored (fsync + rename). */
HN_PUBLIC int hn_emergency_begin(struct hn_emergency *e, const char *actor, const char *reason,
                                 uint32_t duration_secs, struct hn_error *err);

/* Ends the emergency in force; -ENOENT (NotFound) if none is. */
HN_PUBLIC int hn_emergency_end(struct hn_emergency *e, const char *actor, struct hn_error *err);

/* 1 if an emergency is in force (filling *ret_info when non-NULL), 0 if not,
 * a negative errno if the state cannot be read (never counted as in force).
 * An emergency found expired is ended here, with an emergency.end record
 * whose detail is "expired". The state file is re-read each time, so two
 * processes sharing it agree. */
HN_PUBLIC int hn_emergency_active(struct hn_emergency *e, struct hn_emergency_info *ret_info, struct hn_error *err);

#ifdef __cplusplus
}
#endif
#endif
