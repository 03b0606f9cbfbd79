/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hpcnodectl: the operator's CLI for hpcnoded. Every verb is one API call
 * (docs/api.md; the verbs are verbs.c); human output by default, the
 * daemon's JSON with --json. Here: the command line and usage. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "verbs.h"

static void verb_usage(FILE *f, const struct verb *v) {
        fprintf(f, "Usage: hpcnodectl [OPTIONS] %s%s%s %s\n  %s\n", v->group ? v->group : "", v->group ? " " : "",
                v->name, v->synopsis, v->help);
}

static void usage(FILE *f) {
        fprintf(f, "Usage: hpcnodectl [--socket PATH] [--json] [--timeout SECONDS] VERB ...\n\n");
        for (size_t i = 0; i < hnctl_n_verbs; i++) {
                char left[64];
                snprintf(left, sizeof(left), "%s%s%s", hnctl_verbs[i].group ? hnctl_verbs[i].group : "", hnctl_verbs[i].group ? " " : "",
                         hnctl_verbs[i].name);
                fprintf(f, "  %-24s %s\n", left, hnctl_verbs[i].help);
        }
        fprintf(f, "\nOptions:\n  -s, --socket PATH   the API socket (default $HPCNODE_SOCKET, else %s)\n"
                   "  -j, --json          print the daemon's JSON result\n"
                   "  -t, --timeout SECS  wait this long for a reply (default 30)\n"
                   "  -h, --help          this text; VERB --help for one verb\n"
                   "Exit codes: 0 done, 1 failed, 2 usage, 3 daemon unreachable, 4 permission denied,\n"
                   "            5 not found, 6 busy. See hpcnodectl(1).\n",
                HNCTL_DEFAULT_SOCKET);
}

int main(int argc, char **argv) {
        static const struct option opts[] = {
                { "socket", required_argument, NULL, 's' },   { "json", no_argument, NULL, 'j' },
                { "timeout", required_argument, NULL, 't' },  { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, 'V' },        { "reason", required_argument, NULL, 'r' },
                { "duration", required_argument, NULL, 'd' }, { "memory-max", required_argument, NULL, 'm' },
                { "cpu-weight", required_argument, NULL, 'w' }, { "io-max", required_argument, NULL, 'i' },
                { "lines", required_argument, NULL, 'n' },    {},
        };
        struct hnctl c = { .socket = getenv("HPCNODE_SOCKET"), .timeout_ms = 30000, .fd = -1 };
        bool json = false, help = false;
        if (!c.socket || !*c.socket)
                c.socket = HNCTL_DEFAULT_SOCKET;
        /* Options anywhere on the line; the words left are the verb and
         * its arguments. */
        int ch;
        while ((ch = getopt_long(argc, argv, "s:jt:hr:d:m:w:i:n:", opts, NULL)) >= 0)
                switch (ch) {
                case 's': c.socket = optarg; break;
                case 'j': json = true; break;
                case 't': {
                        char *end;
                        long t = strtol(optarg, &end, 10);
                        if (*end || t < 1 || t > 3600) {
                                fprintf(stderr, "hpcnodectl: --timeout %s: expected 1..3600 seconds\n", optarg);
                                return HNCTL_EXIT_USAGE;
                        }
                        c.timeout_ms = (int) t * 1000;
                        break;
                }
                case 'h': help = true; break;
                case 'V': puts("hpcnodectl " HND_VERSION); return 0;
                case 'r': hnctl_opt.reason = optarg; break;
                case 'd': hnctl_opt.duration = optarg; break;
                case 'm': hnctl_opt.memory_max = optarg; break;
                case 'w': hnctl_opt.cpu_weight = optarg; break;
                case 'i': hnctl_opt.io_max = optarg; break;
                case 'n': hnctl_opt.lines = optarg; break;
                default: usage(stderr); return HNCTL_EXIT_USAGE;
                }
        char **words = argv + optind;
        int n = argc - optind;
        if (n == 0) {
                usage(help ? stdout : stderr);
                return help ? 0 : HNCTL_EXIT_USAGE;
        }
        const struct verb *v = NULL;
        bool group_known = false;
        for (size_t i = 0; i < hnctl_n_verbs && !v; i++) {
                const struct verb *x = &hnctl_verbs[i];
                if (!x->group && !strcmp(words[0], x->name))
                        v = x;
                else if (x->group && !strcmp(words[0], x->group)) {
                        group_known = true;
                        if (n > 1 && !strcmp(words[1], x->name))
                                v = x;
                }
        }
        if (!v) {
                if (group_known && help) {
                        for (size_t i = 0; i < hnctl_n_verbs; i++)
                                if (hnctl_verbs[i].group && !strcmp(hnctl_verbs[i].group, words[0]))
                                        verb_usage(stdout, &hnctl_verbs[i]);
                        return 0;
                }
                fprintf(stderr, "hpcnodectl: unknown verb \"%s%s%s\"; see hpcnodectl --help\n", words[0],
                        group_known && n > 1 ? " " : "", group_known && n > 1 ? words[1] : "");
                return HNCTL_EXIT_USAGE;
        }
        if (help) {
                verb_usage(stdout, v);
                return 0;
        }
        unsigned given = (hnctl_opt.memory_max || hnctl_opt.cpu_weight || hnctl_opt.io_max ? OPT_LIMITS : 0) |
                         (hnctl_opt.reason || hnctl_opt.duration ? OPT_EMERGENCY : 0) | (hnctl_opt.lines ? OPT_LINES : 0);
        if (given & ~v->opts) {
                fprintf(stderr, "hpcnodectl: %s%s%s takes no %s\n", v->group ? v->group : "", v->group ? " " : "",
                        v->name,
                        given & ~v->opts & OPT_LIMITS      ? "--memory-max, --cpu-weight or --io-max"
                        : given & ~v->opts & OPT_EMERGENCY ? "--reason or --duration"
                                                           : "--lines");
                verb_usage(stderr, v);
                return HNCTL_EXIT_USAGE;
        }
        char **args = words + (v->group ? 2 : 1);
        unsigned nargs = (unsigned) (n - (v->group ? 2 : 1));
        if (nargs < v->min_args || nargs > v->max_args) {
                verb_usage(stderr, v);
                return HNCTL_EXIT_USAGE;
        }
        /* audit verify of given files needs no daemon */
        bool offline = hnctl_verb_offline(v, nargs);
        int r = offline ? 0 : hnctl_connect(&c);
        if (r)
                return r;
        r = v->run(&c, v, args, json);
        if (c.fd >= 0)
                close(c.fd);
        return r;
}
