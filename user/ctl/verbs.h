/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The verbs hpcnodectl knows (verbs.c), for its command line (hpcnodectl.c). */
#ifndef HNCTL_VERBS_H
#define HNCTL_VERBS_H

#include <stdbool.h>
#include <stddef.h>

#include "client.h"

struct verb;
typedef int (*verb_fn)(struct hnctl *c, const struct verb *v, char **args, bool json);

/* The options only some verbs take. */
enum {
        OPT_LIMITS = 1u << 0,    /* --memory-max, --cpu-weight, --io-max */
        OPT_EMERGENCY = 1u << 1, /* --reason, --duration */
        OPT_LINES = 1u << 2,     /* --lines */
};

struct verb {
        const char *group; /* "scope", or NULL for a one-word verb */
        const char *name;
        const char *synopsis;
        const char *help;
        unsigned min_args, max_args;
        verb_fn run;
        unsigned opts; /* OPT_*: an option given to a verb that does not take it is refused */
};

/* Options a verb may take besides --json and --help, as given (NULL: not). */
struct hnctl_verb_options {
        const char *reason, *duration, *memory_max, *cpu_weight, *io_max, *lines;
};
extern struct hnctl_verb_options hnctl_opt;

extern const struct verb hnctl_verbs[];
extern const size_t hnctl_n_verbs;
/* The verb needs no daemon with these arguments (audit verify of files). */
bool hnctl_verb_offline(const struct verb *v, unsigned nargs);

#endif
