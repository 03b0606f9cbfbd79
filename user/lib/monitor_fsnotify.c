/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The fanotify witness: without BPF LSM nothing in the kernel can judge a
 * write through a file descriptor at the moment it happens (one opened
 * before hpcnoded, inherited, passed over a socket, opened by io_uring, or
 * written by splice, sendfile or io_uring). The VFS raises a modify event
 * after every such write, and an attribute event after every xattr, mode
 * or owner change; one fanotify mark on the cgroup2 superblock sees them
 * all, for every mount of it, with the writer's pid (and a pidfd, 5.15+).
 * A record the programs made for the same write (its open, attributed in
 * the kernel) explains the event; the others become records of their own,
 * the writer identified from /proc while it lives, else said to be
 * unattributed. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "fileio.h"
#include "kernel_key.h"
#include "monitor_internal.h"

#ifndef FAN_REPORT_PIDFD
#define FAN_REPORT_PIDFD 0x00000080
#endif
#ifndef FAN_EVENT_INFO_TYPE_PIDFD
#define FAN_EVENT_INFO_TYPE_PIDFD 4
struct fanotify_event_info_pidfd {
        struct fanotify_event_info_header hdr;
        int32_t pidfd;
};
#endif

#define BATCH 256
#define SEEN 512
#define NAME_MAX_KEEP HN_EVENT_PATH_LEN

struct witnessed {
        uint64_t cgroup_id;
        uint64_t mask;
        pid_t pid;
        int pidfd; /* -1 without FAN_REPORT_PIDFD */
        char name[NAME_MAX_KEEP];
};

/* A write the programs recorded (its open, at level tracepoint), and who
 * by: the executable too, since an fd outlives an exec. */
struct seen {
        uint64_t cgroup_id, exe_ino;
        uint32_t tgid, exe_dev;
        char name[NAME_MAX_KEEP];
};

struct hn_fsnotify {
        struct hn_monitor *m;
        int fd;
        bool by_fd; /* events carry an fd of the file, not handles: writes only (before 6.8) */
        struct witnessed batch[BATCH];
        unsigned n;
        struct seen seen[SEEN];
        unsigned next_seen;
};

/* fanotify_init, with a pidfd for the writer where the kernel has it (5.15+). */
static int init_group(unsigned flags) {
        int fd = fanotify_init(flags | FAN_REPORT_PIDFD, O_RDONLY | O_CLOEXEC | O_LARGEFILE);
        if (fd < 0 && errno == EINVAL)
                fd = fanotify_init(flags, O_RDONLY | O_CLOEXEC | O_LARGEFILE);
        return fd < 0 ? -errno : fd;
}

int hn_fsnotify_new(struct hn_monitor *m, struct hn_fsnotify **ret) {
        const unsigned base = FAN_CLASS_NOTIF | FAN_CLOEXEC | FAN_NONBLOCK;
        bool by_fd = false;
        /* The superblock, not the mount: every mount of cgroup2, a bind of
         * it, one in a cgroup namespace, are the same inodes. */
        _cleanup_close_ int fd = init_group(base | FAN_REPORT_DFID_NAME);
        if (fd < 0)
                return fd;
        if (fanotify_mark(fd, FAN_MARK_ADD | FAN_MARK_FILESYSTEM, FAN_MODIFY | FAN_ATTRIB | FAN_ONDIR, AT_FDCWD,
                          m->mount) < 0) {
                if (errno != ENODEV && errno != EXDEV && errno != EOPNOTSUPP)
                        return -errno;
                /* Before 6.8 file handles of a filesystem without an fsid
                 * (cgroupfs) are refused: events that carry an fd of the
                 * file instead. They see writes, not attribute changes
                 * (those need BPF LSM there). */
                closep(&fd);
                if ((fd = init_group(base)) < 0)
                        return fd;
                if (fanotify_mark(fd, FAN_MARK_ADD | FAN_MARK_FILESYSTEM, FAN_MODIFY, AT_FDCWD, m->mount) < 0)
                        return -errno;
                by_fd = true;
        }
        struct hn_fsnotify *f = calloc(1, sizeof(*f));
        if (!f)
                return -ENOMEM;
        f->m = m;
        f->by_fd = by_fd;
        f->fd = take_fd(&fd);
        *ret = f;
        return 0;
}

/* An event's file by its fd (the fd mode): its directory's cgroup id and
 * its name. */
static void from_fd(int fd, struct witnessed *w) {
        char path[PATH_MAX];
        int r = fd_path(fd, path, sizeof(path));
        close(fd);
        if (r < 0 || !path[0])
                return;
        char *slash = strrchr(path, '/');
        if (!slash)
                return;
        *slash = '\0';
        if (hn_cgroup_id(path, &w->cgroup_id, NULL) < 0)
                w->cgroup_id = 0;
        snprintf(w->name, sizeof(w->name), "%s", slash + 1);
}

static void batch_clear(struct hn_fsnotify *f) {
        for (unsigned i = 0; i < f->n; i++)
                if (f->batch[i].pidfd >= 0)
                        close(f->batch[i].pidfd);
        f->n = 0;
}

void hn_fsnotify_free(struct hn_fsnotify *f) {
        if (!f)
                return;
        batch_clear(f);
        close(f->fd);
        free(f);
}

int hn_fsnotify_fd(const struct hn_fsnotify *f) {
        return f->fd;
}

static bool is_witnessed_type(unsigned type) {
        return type == HN_EV_CONTROL_OPEN || type == HN_EV_CGROUP_ATTR;
}

void hn_fsnotify_seen(struct hn_fsnotify *f, const struct hn_event *e) {
        if (!is_witnessed_type(e->type) || e->source == HN_EVS_FSNOTIFY)
                return;
        struct seen *s = &f->seen[f->next_seen++ % SEEN];
        s->cgroup_id = e->cgroup_id;
        s->tgid = e->tgid;
        s->exe_ino = e->exe_ino;
        s->exe_dev = e->exe_dev;
        snprintf(s->name, sizeof(s->name), "%s", e->path);
}

void hn_fsnotify_forget(struct hn_fsnotify *f, uint32_t tgid) {
        for (unsigned i = 0; i < SEEN; i++)
                if (f->seen[i].tgid == tgid)
                        f->seen[i] = (struct seen){ 0 };
}

/* The programs recorded this write already: the same process opened that
 * file, and is still the executable it was then. One that has exited
 * cannot be asked; had it exec'd since the open, the kernel said so
 * (HN_EV_EXEC, read before these events) and the open is forgotten. */
static bool explained(const struct hn_fsnotify *f, const struct witnessed *w) {
        uint32_t dev = 0;
        uint64_t ino = 0;
        bool asked = false, known = false;
        for (unsigned i = 0; i < SEEN; i++) {
                const struct seen *s = &f->seen[i];
                if (s->cgroup_id != w->cgroup_id || s->tgid != (uint32_t) w->pid || strcmp(s->name, w->name) != 0)
                        continue;
                /* the executable is read once, and only for a write a record names */
                if (!asked) {
                        char p[64];
                        snprintf(p, sizeof(p), "/proc/%d/exe", (int) w->pid);
                        known = w->pid > 0 && hn_file_kernel_key(p, true, &dev, &ino) == 0;
                        asked = true;
                }
                if (!known || (s->exe_ino == ino && s->exe_dev == dev))
                        return true;
        }
        return false;
}

/* One event's info records: the directory's handle and the name, the
 * pidfd. The kernel aligns events and records to 4 bytes only: every field
 * is copied out, never read in place. */
static void parse_info(const char *p, const char *end, struct witnessed *w) {
        while (p + sizeof(struct fanotify_event_info_header) <= end) {
                struct fanotify_event_info_header h;
                memcpy(&h, p, sizeof(h));
                if (h.len < sizeof(h) || p + h.len > end)
                        break;
                if (h.info_type == FAN_EVENT_INFO_TYPE_DFID_NAME &&
                    h.len >= sizeof(struct fanotify_event_info_fid) + sizeof(struct file_handle)) {
                        const char *fh = p + sizeof(struct fanotify_event_info_fid);
                        struct file_handle handle;
                        memcpy(&handle, fh, sizeof(handle));
                        const char *bytes = fh + sizeof(struct file_handle), *name = bytes + handle.handle_bytes;
                        /* a cgroupfs handle is the kernfs id, which is the cgroup id */
                        if (handle.handle_bytes == sizeof(uint64_t) && name < p + h.len) {
                                memcpy(&w->cgroup_id, bytes, sizeof(uint64_t));
                                size_t len = strnlen(name, (size_t) (p + h.len - name));
                                if (len == 1 && name[0] == '.')
                                        len = 0; /* the directory itself */
                                len = len < sizeof(w->name) - 1 ? len : sizeof(w->name) - 1;
                                memcpy(w->name, name, len);
                                w->name[len] = '\0';
                        }
                } else if (h.info_type == FAN_EVENT_INFO_TYPE_PIDFD &&
                           h.len >= sizeof(struct fanotify_event_info_pidfd)) {
                        struct fanotify_event_info_pidfd pf;
                        memcpy(&pf, p, sizeof(pf));
                        w->pidfd = pf.pidfd;
                }
                p += h.len;
        }
}

int hn_fsnotify_read(struct hn_fsnotify *f) {
        /* whole events only; what does not fit waits for the next poll */
        char buf[BATCH * 64];
        batch_clear(f);
        ssize_t n = read(f->fd, buf, sizeof(buf));
        if (n < 0)
                return errno == EAGAIN || errno == EINTR ? 0 : -errno;
        for (size_t at = 0; at + sizeof(struct fanotify_event_metadata) <= (size_t) n;) {
                struct fanotify_event_metadata meta;
                memcpy(&meta, buf + at, sizeof(meta));
                if (meta.event_len < sizeof(meta) || at + meta.event_len > (size_t) n)
                        break;
                if (meta.vers != FANOTIFY_METADATA_VERSION)
                        return -EPROTO;
                const char *info = buf + at + meta.metadata_len, *end = buf + at + meta.event_len;
                at += meta.event_len;
                if (meta.mask & FAN_Q_OVERFLOW) {
                        f->m->fsn_lost++;
                        continue;
                }
                if (f->n == BATCH) {
                        /* no room: the fds still have to go */
                        struct witnessed lost = { .pidfd = -1 };
                        parse_info(info, end, &lost);
                        if (lost.pidfd >= 0)
                                close(lost.pidfd);
                        if (meta.fd >= 0)
                                close(meta.fd);
                        f->m->fsn_lost++;
                        continue;
                }
                struct witnessed *w = &f->batch[f->n++];
                *w = (struct witnessed){ .mask = meta.mask, .pid = meta.pid, .pidfd = -1 };
                parse_info(info, end, w);
                if (meta.fd >= 0)
                        from_fd(meta.fd, w);
        }
        return (int) f->n;
}

/* Files a tracepoint reports on every path (the task moved, the cgroup
 * frozen or killed): not witnessed again. */
static bool structural(const char *name) {
        return !strcmp(name, "cgroup.procs") || !strcmp(name, "cgroup.threads") || !strcmp(name, "cgroup.kill") ||
               !strcmp(name, "cgroup.freeze");
}

/* The slice a cgroup id is in, by its path (into path); HN_OWNER_NONE for
 * one outside the root or gone already (its handle is stale: where it was
 * is lost). */
static enum hn_slice_owner owner_of_id(const struct hn_monitor *m, uint64_t id, char path[PATH_MAX]) {
        if (hn_cgroup_path_by_id(m->mount_fd, id, path, PATH_MAX, NULL) < 0)
                return HN_OWNER_NONE;
        size_t n = strlen(m->root);
        if (strncmp(path, m->root, n) != 0 || path[n] != '/')
                return HN_OWNER_NONE;
        return hn_slice_owner(path + n + 1);
}

/* kernfs raises a modify event itself when it notifies a file (its
 * kworker writes cgroup.events, memory.events): those files are read-only,
 * so a modify of a file nobody can write is the kernel's, not a writer's. */
static bool writable(const char *dir, const char *name) {
        char p[PATH_MAX + NAME_MAX_KEEP + 2];
        struct stat st;
        snprintf(p, sizeof(p), "%s/%s", dir, name);
        return stat(p, &st) == 0 && (st.st_mode & 0222);
}

/* hn_event.exe's form: components leaf first, each NUL-terminated, an
 * empty one at the end; a path too deep keeps its leaf side unterminated. */
static void exe_encode(const char *path, char out[HN_EVENT_EXE_LEN]) {
        memset(out, 0, HN_EVENT_EXE_LEN);
        size_t at = 0, end = strlen(path);
        while (end > 0) {
                size_t start = end;
                while (start > 0 && path[start - 1] != '/')
                        start--;
                size_t len = end - start;
                if (len) {
                        if (at + len + 1 >= HN_EVENT_EXE_LEN) {
                                /* deeper than fits: the last component is cut at the
                                 * record's end, which is how a reader knows */
                                memcpy(out + at, path + start, HN_EVENT_EXE_LEN - 1 - at);
                                return;
                        }
                        memcpy(out + at, path + start, len);
                        at += len + 1;
                }
                end = start ? start - 1 : 0;
        }
}

static int read_proc(pid_t pid, const char *what, char *buf, size_t size) {
        char p[64];
        snprintf(p, sizeof(p), "/proc/%d/%s", (int) pid, what);
        return read_file_at(AT_FDCWD, p, buf, size);
}

/* The identity the programs would have found, from /proc: the executable,
 * then the nearest Cgroup= ancestor, then the uid. false if the writer
 * could not be read whole (it exited, or its pid is another's by now). */
static bool writer_from_proc(struct hn_monitor *m, const struct witnessed *w, struct hn_event *e) {
        char p[64], text[PATH_MAX + 64], exe[PATH_MAX];
        e->pid = e->tgid = (uint32_t) w->pid;
        snprintf(p, sizeof(p), "/proc/%d/exe", (int) w->pid);
        uint64_t ino;
        if (w->pid <= 0 || hn_file_kernel_key(p, true, &e->exe_dev, &ino) < 0)
                return false;
        e->exe_ino = ino;
        ssize_t n = readlink(p, exe, sizeof(exe) - 1);
        if (n <= 0)
                return false;
        exe[n] = '\0';
        exe_encode(exe, e->exe);
        if (read_proc(w->pid, "comm", text, sizeof(text)) == 0) {
                size_t len = strcspn(text, "\n");
                len = len < sizeof(e->comm) - 1 ? len : sizeof(e->comm) - 1; /* the kernel's comm is that short */
                memcpy(e->comm, text, len);
                e->comm[len] = '\0';
        }
        /* the real uid, as the programs see it: an executable identity
         * holds only with it, so no uid is no identity */
        const char *uid = read_proc(w->pid, "status", text, sizeof(text)) == 0 ? strstr(text, "\nUid:") : NULL;
        if (!uid)
                return false;
        e->uid = (uint32_t) strtoul(uid + 5, NULL, 10);
        snprintf(p, sizeof(p), "/proc/%d/ns/mnt", (int) w->pid);
        struct stat st;
        if (stat(p, &st) == 0)
                e->mnt_ns = st.st_ino;
        enum hn_event_owner owner = (pid_t) getpid() == w->pid ? HN_EVO_MANAGER
                                                              : monitor_identity_owner_exe(m, e->exe_ino, e->exe_dev, e->uid);
        if (read_proc(w->pid, "cgroup", text, sizeof(text)) == 0) {
                char *line = strstr(text, "0::");
                if (line && (line == text || line[-1] == '\n')) {
                        line += 3;
                        line[strcspn(line, "\n")] = '\0';
                        char dir[PATH_MAX * 2];
                        /* the writer's cgroup, then each ancestor: the nearest identity */
                        for (size_t len = strlen(line);; len--) {
                                if (len && line[len] != '\0' && line[len] != '/')
                                        continue;
                                snprintf(dir, sizeof(dir), "%s%.*s", m->mount, (int) len, line);
                                uint64_t id;
                                if (hn_cgroup_id(dir, &id, NULL) == 0) {
                                        if (len == strlen(line))
                                                e->writer_cgroup_id = id;
                                        if (owner == HN_EVO_NONE)
                                                owner = monitor_identity_owner_cgroup(m, id);
                                }
                                if (!len)
                                        break;
                        }
                }
        }
        if (owner == HN_EVO_NONE)
                owner = monitor_identity_owner_uid(m, e->uid);
        e->writer_owner = (uint8_t) owner;
        /* The pidfd names the writer: if it has exited since, what /proc
         * said may already be another process's. */
        if (w->pidfd >= 0) {
                struct pollfd pf = { .fd = w->pidfd, .events = POLLIN };
                if (poll(&pf, 1, 0) != 0)
                        return false;
        }
        return true;
}

static void witness(struct hn_fsnotify *f, const struct witnessed *w) {
        bool attr = (w->mask & FAN_ATTRIB) && !(w->mask & FAN_MODIFY);
        if (!attr && structural(w->name))
                return;
        char dir[PATH_MAX];
        enum hn_slice_owner target = owner_of_id(f->m, w->cgroup_id, dir);
        if (target == HN_OWNER_NONE || (!attr && !writable(dir, w->name)) || explained(f, w))
                return;
        struct hn_event e = { .version = HN_EVENT_VERSION, .source = HN_EVS_FSNOTIFY, .ts_boot_ns = boottime_ns(),
                              .cgroup_id = w->cgroup_id, .target_owner = (uint8_t) target,
                              .type = attr ? HN_EV_CGROUP_ATTR : HN_EV_CONTROL_OPEN, .flags = HN_EVF_NAME_ONLY };
        /* an attribute change: of the object named (or the cgroup itself), which attribute unknown */
        e.value = attr ? 2 : 0;
        snprintf(e.path, sizeof(e.path), "%s", w->name);
        if (!writer_from_proc(f->m, w, &e)) {
                e.flags |= HN_EVF_UNATTRIBUTED | HN_EVF_CROSS_SLICE; /* nobody proved a right to it */
                e.writer_owner = HN_EVO_NONE;
        } else if (e.writer_owner == HN_EVO_MANAGER)
                return; /* the manager's own writes: the library's audit records say them */
        else if (attr || e.writer_owner != (uint8_t) target)
                e.flags |= HN_EVF_CROSS_SLICE; /* attributes are the manager's alone, as in the kernel */
        monitor_deliver(f->m, &e);
}

void hn_fsnotify_judge(struct hn_fsnotify *f) {
        for (unsigned i = 0; i < f->n; i++)
                witness(f, &f->batch[i]);
        batch_clear(f);
}
