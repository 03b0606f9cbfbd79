/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef HND_CONFIG_H
#define HND_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <hpcnode/error.h>
#include <hpcnode/monitor.h>
#include <hpcnode/slice.h>

#define HND_DEFAULT_CONFIG "/etc/hpcnode/hpcnoded.conf"
#define HND_MAX_IDENTITIES 32

enum hnd_mode { HND_MODE_AUTO, HND_MODE_ENFORCE, HND_MODE_AUDIT };

struct hnd_identity {
        enum hn_slice_owner owner;
        enum { HND_ID_EXE, HND_ID_UID, HND_ID_CGROUP } kind;
        char value[PATH_MAX]; /* path, or the uid in decimal */
};

/* hpcnoded.conf(5): every key, its default, in one place. */
struct hnd_config {
        char cgroup_root[PATH_MAX];    /* CgroupRoot=, "" = the cgroup2 mount, "auto" = systemd's delegation if any */
        enum hnd_mode mode;            /* Mode=auto|enforce|audit, auto */
        char audit_log[PATH_MAX];      /* AuditLog=, /var/log/hpcnode/audit.jsonl; "" = none */
        bool audit_fsync;              /* AuditFsync=yes|no, yes */
        bool journal;                  /* Journal=yes|no, yes */
        uint32_t ringbuf_bytes;        /* RingBufferBytes=, 262144 */
        char emergency_state[PATH_MAX]; /* EmergencyState=, /run/hpcnode/emergency */
        char bpf_pin_dir[PATH_MAX];    /* BpfPinDir=, /sys/fs/bpf/hpcnode; "" = programs not pinned */
        uint32_t loss_check_ms;        /* LossCheckMSec=, 1000 */
        enum hn_attribution attribution; /* Attribution=auto|lsm|tracepoint|off, auto */
        uint32_t limit_check_ms;       /* LimitCheckMSec=, 2000; 0 = no limits reconciler */
        char uenv_base[PATH_MAX];      /* UenvBase=, /run/pact/uenv */
        char workdir_base[PATH_MAX];   /* WorkdirBase=, /run/pact/workdir */
        uint32_t hold_time_secs;       /* HoldTimeSec=, 60 */
        uint32_t kill_timeout_ms;      /* KillTimeoutMSec=, 10000: a destroy's wait for the scope to empty */
        uint32_t mount_check_ms;       /* MountCheckMSec=, 1000: the idle tick while the node is idle */
        uint32_t mount_check_busy_ms;  /* MountCheckBusyMSec=, 10000: while it is busy */
        char control_socket[PATH_MAX]; /* ControlSocket=, /run/hpcnode/hpcnoded.sock: the API; "" = none */
        uint32_t api_request_timeout_ms; /* ApiRequestTimeoutMSec=, 5000: first byte to newline */
        uint32_t api_idle_timeout_ms;  /* ApiIdleTimeoutMSec=, 60000: a connection with no request */
        uint32_t api_max_clients;      /* ApiMaxClients=, 256 */
        char metrics_textfile[PATH_MAX]; /* MetricsTextfile=, /var/lib/prometheus/node-exporter/hpcnode.prom */
        uint32_t metrics_interval_secs; /* MetricsIntervalSec=, 15 */
        struct hnd_identity identities[HND_MAX_IDENTITIES];
        unsigned n_identities;
        /* ExecutableUid= per section, by owner (HN_OWNER_PACT, _WORKLOAD):
         * the real uid an Executable= identity must run as, 0 */
        uid_t executable_uid[3];
};

void hnd_config_default(struct hnd_config *cfg);
/* Parses path over the defaults. A missing file is an error only when
 * must_exist; unknown sections and keys, bad values: the file, the line,
 * and what is wrong. */
int hnd_config_load(const char *path, bool must_exist, struct hnd_config *cfg, struct hn_error *err);
const char *hnd_mode_name(enum hnd_mode mode);
/* The [hpcnoded] keys whose values differ between a and b, ", "-separated
 * (every one of them applies at start only: a reload names them). */
void hnd_config_restart_keys(const struct hnd_config *a, const struct hnd_config *b, char *buf, size_t size);

#endif
