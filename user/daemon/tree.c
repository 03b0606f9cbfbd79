/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* One walk of the slices, read fresh; each view (tree.h) is a visitor. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "alloc_owner.h"
#include "error_set.h"
#include "fileio.h"
#include "macro.h"
#include "tree.h"

/* a/b into buf; false if it does not fit. */
static bool join(char *buf, size_t size, const char *a, const char *b) {
        return (size_t) snprintf(buf, size, "%s/%s", a, b) < size;
}

/* One cgroup as the walk reads it: what every view (the tree's JSON, the
 * scope list, the metrics' counts) takes from it. */
struct tree_node {
        const char *rel, *name;
        enum hn_slice_owner owner;
        bool has_metrics;
        struct hn_cgroup_metrics m;
        bool populated, frozen, zombie;
};

struct walk {
        const struct hnd_tree_src *src;
        size_t nodes;
        /* Only *.scope nodes are read (the others are visited with their
         * names alone): the scope list needs nothing more. */
        bool scopes_only;
        /* Called for each node, parent first; returns what its children
         * are added to (passed back to them as parent), or NULL. */
        void *(*visit)(struct walk *w, const struct tree_node *n, void *parent);
        void *userdata;
};

static bool ends_with(const char *s, const char *suffix) {
        size_t a = strlen(s), b = strlen(suffix);
        return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* "populated 1" / "frozen 1" from cgroup.events. */
static void events_flags(const char *abs, bool *populated, bool *frozen) {
        char p[PATH_MAX + 32], text[256];
        *populated = *frozen = false;
        if ((size_t) snprintf(p, sizeof(p), "%s/cgroup.events", abs) >= sizeof(p) ||
            read_file_at(AT_FDCWD, p, text, sizeof(text)) < 0)
                return;
        *populated = strstr(text, "populated 1") != NULL;
        *frozen = strstr(text, "frozen 1") != NULL;
}

static void node_read(struct walk *w, const char *rel, struct tree_node *n) {
        const char *root = hn_cgroup_manager_root(w->src->cgroups);
        char abs[PATH_MAX];
        if (!join(abs, sizeof(abs), root, rel))
                abs[0] = '\0';
        const char *slash = strrchr(rel, '/');
        *n = (struct tree_node){ .rel = rel, .name = slash ? slash + 1 : rel, .owner = hn_slice_owner(rel) };
        if (w->scopes_only && !ends_with(rel, ".scope"))
                return;
        n->has_metrics = hn_cgroup_read_metrics(w->src->cgroups, rel, &n->m, NULL) == 0;
        events_flags(abs, &n->populated, &n->frozen);
        (void) hn_cgroup_is_zombie(w->src->cgroups, rel, &n->zombie, NULL);
}

void hnd_cgroup_metrics_json(const struct hn_cgroup_metrics *m, json_object *o) {
        json_object_object_add(o, "processes", json_object_new_int64(m->nr_processes));
        json_object_object_add(o, "cpu_usage_usec", json_object_new_int64((int64_t) m->cpu_usage_usec));
        if (m->has_memory) {
                json_object_object_add(o, "memory_current", json_object_new_int64((int64_t) m->memory_current));
                json_object_object_add(o, "memory_max", m->memory_max == HN_MEMORY_UNLIMITED
                                                                ? json_object_new_string("max")
                                                                : json_object_new_int64((int64_t) m->memory_max));
        }
}

static json_object *node_json(const struct tree_node *n) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "name", json_object_new_string(n->name));
        json_object_object_add(o, "path", json_object_new_string(n->rel));
        json_object_object_add(o, "owner", json_object_new_string(hn_slice_owner_name(n->owner)));
        if (n->has_metrics)
                hnd_cgroup_metrics_json(&n->m, o);
        json_object_object_add(o, "populated", json_object_new_boolean(n->populated));
        json_object_object_add(o, "frozen", json_object_new_boolean(n->frozen));
        json_object_object_add(o, "zombie", json_object_new_boolean(n->zombie));
        return o;
}

/* The child directories of rel, sorted. */
static int children(struct walk *w, const char *rel, char ***ret, size_t *ret_n) {
        char abs[PATH_MAX];
        if (!join(abs, sizeof(abs), hn_cgroup_manager_root(w->src->cgroups), rel))
                return -ENAMETOOLONG;
        _cleanup_closedir_ DIR *dir = opendir(abs);
        if (!dir)
                return -errno;
        char **names = NULL;
        size_t n = 0;
        struct dirent *de;
        while ((de = readdir(dir))) {
                if (de->d_type != DT_DIR || de->d_name[0] == '.')
                        continue;
                char **grown = realloc(names, (n + 1) * sizeof(*names));
                if (!grown || !(grown[n] = strdup(de->d_name))) {
                        names = grown ? grown : names;
                        for (size_t i = 0; i < n; i++)
                                free(names[i]);
                        free(names);
                        return -ENOMEM;
                }
                names = grown;
                n++;
        }
        if (n)
                qsort(names, n, sizeof(*names), strcmp_ptr);
        *ret = names;
        *ret_n = n;
        return 0;
}

static void walk(struct walk *w, const char *rel, void *parent, unsigned depth) {
        if (w->nodes >= HND_TREE_MAX_NODES)
                return;
        w->nodes++;
        struct tree_node n;
        node_read(w, rel, &n);
        void *mine = w->visit(w, &n, parent);
        char **names = NULL;
        size_t count = 0;
        if (depth >= HND_TREE_MAX_DEPTH || children(w, rel, &names, &count) < 0)
                return;
        for (size_t i = 0; i < count; i++) {
                char child[PATH_MAX];
                if (join(child, sizeof(child), rel, names[i]))
                        walk(w, child, mine, depth + 1);
                free(names[i]);
        }
        free(names);
}

/* The tree: each node in its parent's "children" (every node has the
 * array: empty for a leaf, and where the walk stops, at its depth limit or
 * at a directory it cannot read). */
static void *visit_tree(struct walk *w, const struct tree_node *n, void *parent) {
        (void) w;
        json_object *o = node_json(n), *kids = json_object_new_array();
        json_object_object_add(o, "children", kids);
        json_object_array_add(parent, o);
        return kids;
}

/* Scopes, flat, without children. */
static void *visit_scopes(struct walk *w, const struct tree_node *n, void *parent) {
        (void) parent;
        if (ends_with(n->rel, ".scope"))
                json_object_array_add(w->userdata, node_json(n));
        return NULL;
}

static void *visit_count(struct walk *w, const struct tree_node *n, void *parent) {
        struct hnd_tree_counts *c = w->userdata;
        if (ends_with(n->name, ".scope")) {
                c->scopes[n->owner]++;
                if (n->has_metrics)
                        c->processes[n->owner] += (uint64_t) n->m.nr_processes;
        }
        if (n->zombie)
                c->zombies[n->owner]++;
        return parent;
}

static const char *const slices[] = { HN_SLICE_PACT_ROOT, HN_SLICE_WORKLOAD_ROOT };

int hnd_tree_scopes(const struct hnd_tree_src *src, const char *slice, json_object *array, struct hn_error *err) {
        struct walk w = { .src = src, .scopes_only = true, .visit = visit_scopes, .userdata = array };
        if (slice) {
                if (!*slice || slice[0] == '/' || strstr(slice, "..") || hn_slice_owner(slice) == HN_OWNER_NONE)
                        return hn_error_set(err, HN_ERR_INVALID_ARGUMENT, EINVAL,
                                            "slice \"%s\": expected a path inside pact.slice or workload.slice", slice);
                char abs[PATH_MAX];
                if (!join(abs, sizeof(abs), hn_cgroup_manager_root(src->cgroups), slice) || access(abs, F_OK) < 0)
                        return hn_error_set(err, HN_ERR_NOT_FOUND, errno, "slice %s: %s", abs, strerror(errno));
                walk(&w, slice, NULL, 0);
                return 0;
        }
        for (size_t i = 0; i < ELEMENTSOF(slices); i++)
                walk(&w, slices[i], NULL, 0);
        return 0;
}

int hnd_tree_mounts(const struct hnd_tree_src *src, json_object **ret, struct hn_error *err) {
        struct hn_mount_info *list = NULL;
        size_t n = 0;
        int r = hn_mount_list(src->mounts, &list, &n, err);
        if (r < 0)
                return r;
        uint64_t now_usec = monotonic_usec();
        json_object *images = json_object_new_array();
        for (size_t i = 0; i < n; i++) {
                const struct hn_mount_info *m = &list[i];
                json_object *o = json_object_new_object(), *holders = json_object_new_array();
                json_object_object_add(o, "image", json_object_new_string(m->image_path));
                json_object_object_add(o, "mount_point", json_object_new_string(m->mount_point));
                json_object_object_add(o, "loop_device", json_object_new_string(m->loop_device));
                json_object_object_add(o, "refcount", json_object_new_int64(m->refcount));
                for (uint32_t h = 0; h < m->refcount && m->holders; h++) {
                        char owner[32];
                        json_object *ho = json_object_new_object();
                        json_object_object_add(ho, "allocation", json_object_new_string(m->holders[h]));
                        json_object_object_add(ho, "owner", json_object_new_string(hnd_owners_get(
                                                                    src->owners, m->holders[h], owner, sizeof(owner))));
                        json_object_array_add(holders, ho);
                }
                json_object_object_add(o, "holders", holders);
                json_object_object_add(o, "holding", json_object_new_boolean(m->holding));
                uint64_t left = m->holding && m->hold_deadline_usec > now_usec ? m->hold_deadline_usec - now_usec : 0;
                json_object_object_add(o, "hold_remaining_ms", json_object_new_int64((int64_t) (left / 1000u)));
                json_object_object_add(o, "foreign", json_object_new_boolean(m->foreign));
                json_object_array_add(images, o);
        }
        hn_mount_list_free(list, n);
        *ret = images;
        return 0;
}

int hnd_tree_json(const struct hnd_tree_src *src, json_object *result, struct hn_error *err) {
        json_object *images = NULL;
        int r = hnd_tree_mounts(src, &images, err);
        if (r < 0)
                return r;
        struct walk w = { .src = src, .visit = visit_tree };
        json_object *tops = json_object_new_array();
        for (size_t i = 0; i < ELEMENTSOF(slices); i++)
                walk(&w, slices[i], tops, 0);
        json_object_object_add(result, "root", json_object_new_string(hn_cgroup_manager_root(src->cgroups)));
        json_object_object_add(result, "slices", tops);
        json_object_object_add(result, "truncated", json_object_new_boolean(w.nodes >= HND_TREE_MAX_NODES));
        json_object_object_add(result, "mounts", images);
        struct hn_emergency_info info;
        json_object_object_add(result, "emergency",
                               json_object_new_boolean(hn_emergency_active(src->emergency, &info, NULL) > 0));
        return 0;
}

void hnd_tree_count(const struct hnd_tree_src *src, struct hnd_tree_counts *ret) {
        struct hnd_tree_counts c = { 0 };
        struct walk w = { .src = src, .visit = visit_count, .userdata = &c };
        for (size_t i = 0; i < ELEMENTSOF(slices); i++)
                walk(&w, slices[i], NULL, 0);
        *ret = c;
}
