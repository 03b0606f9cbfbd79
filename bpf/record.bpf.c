// SPDX-License-Identifier: GPL-2.0-only
/* Who acts, and the record of the act: the global functions of emit.bpf.h,
 * defined once in the object they are linked into. */
#define HN_RECORD_DEFINE
#include "emit.bpf.h"
