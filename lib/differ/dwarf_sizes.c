/*
 * dwarf_sizes.c - the special-section entry sizes of the running hypervisor, read
 * from its own debug information (struct bug_frame, struct exception_table_entry,
 * struct alt_instr), so a payload matches the image it is built for even when a
 * release changed a table's layout.
 *
 * Only complete types count: a unit that merely declares `struct
 * exception_table_entry;` has a DIE without a size, and the first such DIE in an
 * image is often that forward declaration.
 */
#include <elfutils/libdw.h>
#include <dwarf.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "differ_internal.h"

int diff_dwarf_struct_sizes(const char *image, const char *const *names, size_t *sizes, size_t n)
{
    Dwarf_Off off = 0, next;
    size_t hsize, found = 0, i;
    Dwarf *dw;
    int fd = open(image, O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return 0;
    dw = dwarf_begin(fd, DWARF_C_READ);
    if (!dw) {
        close(fd);
        return 0;
    }
    while (found < n && dwarf_nextcu(dw, off, &next, &hsize, NULL, NULL, NULL) == 0) {
        Dwarf_Die cu, die;

        if (dwarf_offdie(dw, off + hsize, &cu) && dwarf_child(&cu, &die) == 0) {
            do {
                const char *name;
                Dwarf_Attribute decl;
                int size;

                if (dwarf_tag(&die) != DW_TAG_structure_type ||
                    dwarf_attr(&die, DW_AT_declaration, &decl) || !(name = dwarf_diename(&die)))
                    continue;
                size = dwarf_bytesize(&die);
                for (i = 0; i < n; i++)
                    if (!sizes[i] && size > 0 && strcmp(name, names[i]) == 0) {
                        sizes[i] = (size_t)size;
                        found++;
                    }
            } while (dwarf_siblingof(&die, &die) == 0);
        }
        off = next;
    }
    dwarf_end(dw);
    close(fd);
    return (int)found;
}
