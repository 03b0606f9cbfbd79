/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The watcher's parts: loading (monitor.c), identities
 * (monitor_identity.c), guard state (monitor_guard.c), the record stream
 * (monitor_stream.c) and the fanotify witness (monitor_fsnotify.c). */
#ifndef HN_MONITOR_INTERNAL_H
#define HN_MONITOR_INTERNAL_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include <hpcnode/monitor.h>

#include "hpcnode.skel.h"
#include "macro.h"

/* Attribution level tracepoint: the exits of every open syscall, the
 * entries of the mount family, and those that trace a process. */
#define HN_SYSCALL_HOOKS 16
/* The links a set may have (the .bss's HN_OWN_PROGS). */
#define HN_OWN_LINKS_MAX 96

struct hn_fsnotify;

#define HN_MAP_MEMORY_FRESH_USEC (5u * 1000u * 1000u)

struct hn_monitor {
        struct hpcnode *skel;
        struct ring_buffer *rb;
        enum hn_attribution attribution;
        enum hn_bpf_object object; /* FULL or COMPAT: whose bytes skel runs */
        bool lsm;
        struct bpf_link *syscall_links[HN_SYSCALL_HOOKS];
        /* attached as a perf event (before Linux 5.15), not a BPF link: no
         * id, no pin; it lives as long as this process. Known at attach. */
        bool syscall_perf_event[HN_SYSCALL_HOOKS];
        char root[PATH_MAX];  /* the directory holding the slices */
        char mount[PATH_MAX]; /* the cgroup2 mount it is in */
        int mount_fd;         /* open on it: cgroup ids become paths with nothing opened */
        int epoll_fd;         /* the ring buffer's and the fanotify watch's, as one fd */
        struct hn_fsnotify *fsn; /* levels tracepoint and off: writes the programs do not see */
        uint64_t fsn_lost;       /* fanotify queue overflows */
        hn_event_fn fn;          /* of the poll in progress */
        void *userdata;
        unsigned delivered;
        uint64_t records_foreign; /* ring-buffer records of another layout, dropped */
        uint64_t map_bytes;       /* the maps' memlock as last read (hn_monitor_map_memory) */
        size_t maps;
        uint64_t map_bytes_usec;  /* when (CLOCK_MONOTONIC); read again after HN_MAP_MEMORY_FRESH_USEC */
        /* What this process wrote into the programs' state, to find it
         * changed behind its back (hn_monitor_check_state). */
        struct identity_key *id_keys;
        size_t n_id_keys;
        uint64_t emergency_deadline; /* as written to the emergency map: CLOCK_BOOTTIME ns, 0 none */
        struct manager_id {
                uint32_t tgid;
                uint64_t pidns_dev, pidns_ino, mnt_ns;
        } manager;
        uint32_t own_map_ids[32];
        char helper_leaf[NAME_MAX + 1]; /* hn_monitor_protect_helper; "" none */
        uint32_t helper_tgid;
        uint32_t own_prog_ids[HN_OWN_LINKS_MAX], own_link_ids[HN_OWN_LINKS_MAX];
        struct guard_set {
                void *keys;
                uint8_t *values;
                size_t n;
                bool written; /* the map holds exactly these: the next change is written as a difference */
        } guard[4]; /* enum guard_part: what the mount guard was last given */
        uint32_t image_devs[8], guard_on; /* and its .bss part */
        char bases[2][HN_MOUNT_BASE_LEN];
        char pin_dir[PATH_MAX - 64]; /* options.pin_dir; "" none */
        char pin_set[PATH_MAX];      /* this load's set below it */
        bool adopted;                /* the set was pinned: its maps reused, its links attached */
        struct held_link {
                int fd;
                char name[64];
        } held_links[HN_OWN_LINKS_MAX]; /* adopted: the pinned links, held open */
        size_t n_held_links;
        bool pinned;                 /* this run pinned the set */
};

/* The syscall tracepoint program i (attribution level tracepoint). */
struct bpf_program *syscall_prog(struct hpcnode *skel, size_t i);
/* Before load: names the set, and adopts it if it is pinned whole. */
int monitor_pin_prepare(struct hn_monitor *m, const char *pin_dir, uint32_t ringbuf_bytes, struct hn_error *err);
/* After attach: pins this load's set (unless adopted), then removes the
 * other sets. */
int monitor_pin_commit(struct hn_monitor *m, struct hn_error *err);
/* The syscall tracepoint i must be attached by this process: not adopted
 * with the pinned set (a perf event attachment cannot be pinned). */
bool monitor_syscall_hook_unpinned(const struct hn_monitor *m, size_t i);

/* The adopted links' fds, closed. */
void monitor_held_links_close(struct hn_monitor *m);
/* The tamper check's part for the pins: every one that is gone is made
 * again from the object this process holds. */
struct tamper_note;
void monitor_pins_check(struct hn_monitor *m, struct tamper_note *t);

/* This process is the manager, in the programs' .bss (and the tamper
 * check's copy); cleared when it lets go of pinned programs. */
void monitor_manager_set(struct hn_monitor *m);
void monitor_manager_clear(struct hn_monitor *m);

/* Frees the mount guard's copies. */
void monitor_guard_free(struct hn_monitor *m);

/* A text of what was found changed, for hn_monitor_check_state. */
struct tamper_note {
        char *buf;
        size_t size, used;
        int found;
};
void tamper_note_add(struct tamper_note *t, const char *what);

/* The identity maps against what was configured; restores them. */
void monitor_identities_check(struct hn_monitor *m, struct tamper_note *t);
/* The mount guard's maps and globals as hpcnoded last wrote them: what
 * differs is written again and noted (monitor_mount_guard.c). */
void monitor_mount_guard_check(struct hn_monitor *m, struct tamper_note *t);
/* Frees the configured identities' copy. */
void monitor_identities_free(struct hn_monitor *m);
/* The ids of the programs' maps, where the programs read them; then
 * (after attach) those of the programs and their links. An adopted set's
 * are those its first run wrote. */
int monitor_own_maps_record(struct hn_monitor *m);
int monitor_own_progs_record(struct hn_monitor *m);

/* Writes the slice roots' ids (and the hierarchy root's) where the
 * programs read them; 0 for a slice that does not exist. */
int monitor_slice_roots_update(struct hn_monitor *m);

/* Marks every task already in a slice with where it is (the programs keep
 * the marks from then on). */
int monitor_seed_placement(struct hn_monitor *m);

/* The owner of an identity key, as the programs would find it. */
enum hn_event_owner monitor_identity_owner_exe(struct hn_monitor *m, uint64_t ino, uint32_t dev, uint32_t uid);
enum hn_event_owner monitor_identity_owner_uid(struct hn_monitor *m, uint32_t uid);
enum hn_event_owner monitor_identity_owner_cgroup(struct hn_monitor *m, uint64_t cgroup_id);

/* The ring buffer behind the monitor's fd; then the fanotify witness
 * beside it (levels tracepoint and off: without the LSM's write hooks). */
int monitor_stream_open(struct hn_monitor *m, struct hn_error *err);
int monitor_witness_start(struct hn_monitor *m, struct hn_error *err);

/* Delivers one record to the poll in progress. */
void monitor_deliver(struct hn_monitor *m, const struct hn_event *e);

/* The fanotify witness: every write and attribute change in cgroupfs, with
 * the writer's pid; the monitor turns those its programs did not record
 * into records. */
int hn_fsnotify_new(struct hn_monitor *m, struct hn_fsnotify **ret);
void hn_fsnotify_free(struct hn_fsnotify *f);
int hn_fsnotify_fd(const struct hn_fsnotify *f);
/* A record the programs made: a later fanotify event for the same write
 * (same cgroup, file and process) is that write, not another. */
void hn_fsnotify_seen(struct hn_fsnotify *f, const struct hn_event *e);
/* The process exec'd: its recorded opens no longer explain its writes. */
void hn_fsnotify_forget(struct hn_fsnotify *f, uint32_t tgid);
/* Reads the waiting events into the batch (nothing delivered yet). */
int hn_fsnotify_read(struct hn_fsnotify *f);
/* Delivers the batch's events that no program's record explains. */
void hn_fsnotify_judge(struct hn_fsnotify *f);

#endif
