/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <string.h>

#include <hpcnode/cgroup.h>

#include "cgroup_controllers.h"
#include "macro.h"

static const struct {
        const char *name;
        unsigned bit;
} controllers[] = {
        { "cpu", HN_CONTROLLER_CPU },
        { "io", HN_CONTROLLER_IO },
        { "memory", HN_CONTROLLER_MEMORY },
        { "pids", HN_CONTROLLER_PIDS },
};

unsigned controller_mask_parse(const char *list) {
        unsigned mask = 0;
        const char *p = list;
        while (*p) {
                while (*p == ' ' || *p == '\n')
                        p++;
                size_t n = strcspn(p, " \n");
                for (size_t i = 0; i < ELEMENTSOF(controllers); i++)
                        if (strlen(controllers[i].name) == n && strncmp(p, controllers[i].name, n) == 0)
                                mask |= controllers[i].bit;
                p += n;
        }
        return mask;
}

const char *hn_controller_mask_format(unsigned mask, char *buf, size_t size) {
        size_t used = 0;
        if (size == 0)
                return buf;
        buf[0] = '\0';
        for (size_t i = 0; i < ELEMENTSOF(controllers); i++) {
                if (!(mask & controllers[i].bit))
                        continue;
                int n = snprintf(buf + used, size - used, "%s%s", used ? " " : "", controllers[i].name);
                if (n < 0 || (size_t) n >= size - used)
                        break;
                used += (size_t) n;
        }
        return buf;
}
