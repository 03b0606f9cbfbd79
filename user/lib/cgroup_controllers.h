/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef HN_CGROUP_CONTROLLERS_H
#define HN_CGROUP_CONTROLLERS_H

/* Bit set of the controllers hpcnode knows, from a space-separated list as
 * found in cgroup.controllers and cgroup.subtree_control; others ignored. */
unsigned controller_mask_parse(const char *list);

#endif
