/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef HNCTL_AUDIT_VERIFY_H
#define HNCTL_AUDIT_VERIFY_H

#include "client.h"

/* files[0..n) in order, or (n == 0) the daemon's log through c. Prints
 * "ok: ..." or "FILE: broken at line L: why"; the exit code. */
int hnctl_audit_verify(struct hnctl *c, char **files, unsigned n);

#endif
