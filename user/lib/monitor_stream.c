/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The records, as one stream: the programs' ring buffer, and the fanotify
 * witness's records of the writes the programs did not see; what was lost
 * on the way, counted. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "clock.h"
#include "error_set.h"
#include "kernel_key.h"
#include "monitor_internal.h"

void monitor_deliver(struct hn_monitor *m, const struct hn_event *e) {
        if (m->fsn)
                hn_fsnotify_seen(m->fsn, e);
        m->delivered++;
        if (m->fn)
                m->fn(e, m->userdata);
}

static int on_record(void *ctx, void *data, size_t size) {
        struct hn_monitor *m = ctx;
        struct hn_event e;
        if (hn_event_from_record(data, size, &e, NULL) < 0) {
                m->records_foreign++; /* programs of another build: counted, never misread */
                return 0;
        }
        if (e.type == HN_EV_EXEC) {
                if (m->fsn)
                        hn_fsnotify_forget(m->fsn, e.tgid);
                return 0;
        }
        monitor_deliver(m, &e);
        return 0;
}

int monitor_stream_open(struct hn_monitor *m, struct hn_error *err) {
        m->rb = ring_buffer__new(bpf_map__fd(m->skel->maps.events), on_record, m, NULL);
        if (!m->rb)
                return hn_error_set(err, HN_ERR_IO, errno, "BPF: ring buffer: %s", strerror(errno));
        m->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
        struct epoll_event ev = { .events = EPOLLIN };
        if (m->epoll_fd < 0 || epoll_ctl(m->epoll_fd, EPOLL_CTL_ADD, ring_buffer__epoll_fd(m->rb), &ev) < 0)
                return hn_error_set(err, HN_ERR_IO, errno, "epoll: %s", strerror(errno));
        return 0;
}

int monitor_witness_start(struct hn_monitor *m, struct hn_error *err) {
        if (m->attribution == HN_ATTRIBUTION_LSM)
                return 0; /* file_permission and the xattr hooks see every write */
        int r = hn_fsnotify_new(m, &m->fsn);
        if (r < 0)
                return hn_error_set(err, HN_ERR_IO, -r, "fanotify on the cgroup2 mount %s: %s", m->mount, strerror(-r));
        struct epoll_event ev = { .events = EPOLLIN };
        if (epoll_ctl(m->epoll_fd, EPOLL_CTL_ADD, hn_fsnotify_fd(m->fsn), &ev) < 0)
                return hn_error_set(err, HN_ERR_IO, errno, "epoll: %s", strerror(errno));
        return 0;
}

int hn_monitor_fd(struct hn_monitor *m, struct hn_error *err) {
        if (!m || m->epoll_fd < 0)
                return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, EBADF, "the monitor is not started");
        return m->epoll_fd;
}

int hn_monitor_poll(struct hn_monitor *m, int timeout_ms, hn_event_fn fn, void *userdata, struct hn_error *err) {
        if (!m || !m->rb)
                return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, EBADF, "the monitor is not started");
        struct epoll_event ev[2];
        if (epoll_wait(m->epoll_fd, ev, 2, timeout_ms) < 0 && errno != EINTR)
                return hn_error_set(err, HN_ERR_IO, errno, "waiting for records: %s", strerror(errno));
        m->fn = fn;
        m->userdata = userdata;
        m->delivered = 0;
        int r = ring_buffer__consume(m->rb);
        if (r >= 0 && m->fsn) {
                /* A write's fanotify event comes after the write; the
                 * program's record of its open came before: drain the ring
                 * again after reading the events, so every record that can
                 * explain one is in. */
                r = hn_fsnotify_read(m->fsn);
                if (r >= 0)
                        r = ring_buffer__consume(m->rb);
                if (r >= 0)
                        hn_fsnotify_judge(m->fsn);
        }
        m->fn = NULL;
        if (r < 0)
                return hn_error_set(err, HN_ERR_IO, -r, "reading records: %s", strerror(-r));
        return (int) m->delivered;
}

static int percpu_sum(const struct bpf_map *map, uint32_t key, uint64_t *ret) {
        int ncpu = libbpf_num_possible_cpus();
        if (ncpu <= 0)
                return ncpu < 0 ? ncpu : -EINVAL;
        _cleanup_free_ uint64_t *per_cpu = calloc((size_t) ncpu, sizeof(uint64_t));
        if (!per_cpu)
                return -ENOMEM;
        if (bpf_map__lookup_elem(map, &key, sizeof(key), per_cpu, (size_t) ncpu * sizeof(uint64_t), 0) < 0)
                return -errno;
        uint64_t sum = 0;
        for (int c = 0; c < ncpu; c++)
                sum += per_cpu[c];
        *ret = sum;
        return 0;
}

int hn_monitor_losses(struct hn_monitor *m, uint64_t ret[HN_EV_TYPE_MAX], struct hn_error *err) {
        uint64_t v[HN_EV_TYPE_MAX];
        for (uint32_t t = 0; t < HN_EV_TYPE_MAX; t++) {
                int r = percpu_sum(m->skel->maps.lost, t, &v[t]);
                if (r < 0)
                        return hn_error_set(err, HN_ERR_IO, -r, "BPF: reading losses: %s", strerror(-r));
        }
        /* the witness's queue overflowed: control-file writes went unseen */
        v[HN_EV_CONTROL_OPEN] += m->fsn_lost;
        memcpy(ret, v, sizeof(v));
        return 0;
}

int hn_monitor_drops(struct hn_monitor *m, uint64_t ret[HN_DROP_MAX], struct hn_error *err) {
        uint64_t v[HN_DROP_MAX];
        for (uint32_t c = 0; c < HN_DROP_MAX; c++) {
                int r = percpu_sum(m->skel->maps.drops, c, &v[c]);
                if (r < 0)
                        return hn_error_set(err, HN_ERR_IO, -r, "BPF: reading drops: %s", strerror(-r));
        }
        v[HN_DROP_RECORD_FOREIGN] += m->records_foreign; /* counted here, not by the programs */
        memcpy(ret, v, sizeof(v));
        return 0;
}

int hn_monitor_prog_stats(struct hn_monitor *m, struct hn_prog_stat *ret, size_t max, size_t *ret_n,
                          struct hn_error *err) {
        struct bpf_program *prog;
        size_t n = 0;
        bpf_object__for_each_program(prog, m->skel->obj) {
                int fd = bpf_program__fd(prog);
                if (fd < 0)
                        continue; /* not loaded at this attribution level */
                if (n < max) {
                        struct bpf_prog_info info = { 0 };
                        __u32 len = sizeof(info);
                        if (bpf_obj_get_info_by_fd(fd, &info, &len) < 0)
                                return hn_error_set(err, HN_ERR_IO, errno, "program %s: its info: %s",
                                                    bpf_program__name(prog), strerror(errno));
                        struct hn_prog_stat *s = &ret[n];
                        snprintf(s->name, sizeof(s->name), "%s", bpf_program__name(prog));
                        s->run_time_ns = info.run_time_ns;
                        s->run_cnt = info.run_cnt;
                        s->verified_insns = info.verified_insns;
                }
                n++;
        }
        *ret_n = n;
        return 0;
}

int hn_monitor_map_memory(struct hn_monitor *m, uint64_t *ret_bytes, size_t *ret_maps, struct hn_error *err) {
        struct bpf_map *map;
        uint64_t now = monotonic_usec();
        if (m->map_bytes_usec && now - m->map_bytes_usec < HN_MAP_MEMORY_FRESH_USEC) {
                /* read again at most every few seconds: it moves only as
                 * maps without preallocation fill (task storage), and a
                 * status call read 23 fdinfo files every time */
                *ret_bytes = m->map_bytes;
                *ret_maps = m->maps;
                return 0;
        }
        uint64_t bytes = 0;
        size_t n = 0;
        bpf_object__for_each_map(map, m->skel->obj) {
                int fd = bpf_map__fd(map);
                if (fd < 0)
                        continue; /* not created (a map of programs this level does not load) */
                uint64_t v;
                int r = hn_fdinfo_field(fd, "memlock", &v);
                if (r < 0)
                        return hn_error_set(err, HN_ERR_IO, -r, "map %s: its memlock in fdinfo: %s", bpf_map__name(map),
                                            strerror(-r));
                bytes += v;
                n++;
        }
        *ret_bytes = m->map_bytes = bytes;
        *ret_maps = m->maps = n;
        m->map_bytes_usec = now;
        return 0;
}
