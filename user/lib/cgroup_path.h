/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef HN_CGROUP_PATH_H
#define HN_CGROUP_PATH_H

#include <stdbool.h>
#include <stddef.h>

#include <hpcnode/error.h>
#include <hpcnode/slice.h>

/* Validation of every string that names a cgroup, at the boundary, once.
 * Each check returns 0 or -EINVAL with a message saying what is wrong. */

/* One scope name as given by a caller; on success *ret_component holds the
 * directory name to create ("<name>.scope"). */
int scope_name_to_component(const char *name, char *ret_component, size_t size, struct hn_error *err);

/* Turns a caller's path (relative to root, or absolute inside root) into a
 * clean relative path: no leading/trailing '/', no empty, "." or ".."
 * components, no control characters. "" is the root itself. */
int cgroup_path_relative(const char *root, const char *path, char *ret, size_t size, struct hn_error *err);

/* Owner of a clean relative path (first component matched whole). */
enum hn_slice_owner slice_owner_of_relative(const char *rel);

/* True if s has a byte < 0x20 or 0x7f. */
bool has_control_chars(const char *s);

#endif
