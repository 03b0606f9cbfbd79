/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The audit log as audit.tail and audit verify read it. Properties: no
 * crash; tail returns at most what was asked, each an object; verify
 * either passes or names a line within the file. */
#include <errno.h>
#include <json-c/json.h>

#include "audit_chain.h"
#include "audit_tail.h"
#include "fuzz_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        if (size > 1 << 18)
                return 0;
        const char *path = fuzz_file(data, size);
        json_object *records = json_object_new_array();
        struct hn_error err;
        unsigned n = size ? data[0] % 8 + 1 : 1;
        if (hnd_audit_tail(path, n, records, &err) == 0) {
                FUZZ_ASSERT(json_object_array_length(records) <= n);
                for (size_t i = 0; i < json_object_array_length(records); i++)
                        FUZZ_ASSERT(json_object_is_type(json_object_array_get_idx(records, i), json_type_object));
        }
        json_object_put(records);
        FILE *f = fopen(path, "re");
        FUZZ_ASSERT(f);
        struct audit_verify v;
        audit_verify_init(&v);
        size_t lines = 0;
        for (size_t i = 0; i < size; i++)
                lines += data[i] == '\n';
        if (audit_verify_file(&v, f) == -EBADMSG)
                FUZZ_ASSERT(v.line >= 1 && v.line <= lines + 1 && v.why[0]);
        fclose(f);
        return 0;
}
