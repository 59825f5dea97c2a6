/*
 * lp-buildid - print the build id of a hypervisor image or payload (ELF note,
 * gzip'd ELF such as xen.gz, PE such as xen.efi), or write the ELF note that
 * carries an id, ready for `objcopy --add-section .livepatch.depends=FILE`.
 * livepatch-build uses it so that dependency ids are read, never typed.
 *
 * Not for: checking that a payload fits an image (livepatch-tool check does that).
 *
 * Exit codes: 0 success, 1 no id / unreadable input, 2 usage error.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "livepatch/buildid.h"
#include "livepatch/util.h"

static const char *const source_names[] = {
    [LP_BUILDID_ELF] = "elf-note",
    [LP_BUILDID_ELF_GZ] = "gzip-elf-note",
    [LP_BUILDID_PE] = "pe-codeview",
};

static void usage(FILE *f)
{
    fprintf(f,
            "usage: lp-buildid [--source] FILE\n"
            "       lp-buildid --note OUT (FILE | --id HEX)\n"
            "\n"
            "Print the build id of FILE in lower-case hex: the GNU build-id note of an ELF\n"
            "file (image or payload), of a gzip'd ELF (xen.gz), or the CodeView RSDS\n"
            "signature of a PE image (xen.efi).\n"
            "\n"
            "  --source      also print where the id came from (elf-note, gzip-elf-note,\n"
            "                pe-codeview) after the id\n"
            "  --note OUT    write an ELF note (name GNU, type NT_GNU_BUILD_ID) holding the\n"
            "                id of FILE, or the id given with --id, to OUT\n"
            "  --id HEX      the id to put in the note (with --note)\n"
            "  -h, --help    show this help\n"
            "  --version     show the version\n"
            "\n"
            "Exit status: 0 success, 1 no id or unreadable input, 2 usage error.\n");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "source", no_argument, NULL, 's' },
        { "note", required_argument, NULL, 'n' },
        { "id", required_argument, NULL, 'i' },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 },
    };
    const char *note = NULL, *hexid = NULL;
    struct lp_error err = { 0 };
    struct lp_buildid bid;
    int show_source = 0, c;

    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 's': show_source = 1; break;
        case 'n': note = optarg; break;
        case 'i': hexid = optarg; break;
        case 'h': usage(stdout); return 0;
        case 'V': printf("lp-buildid %s\n", LP_VERSION); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (hexid && !note) {
        fprintf(stderr, "lp-buildid: --id needs --note\n");
        return 2;
    }
    if ((hexid ? 0 : 1) != argc - optind) {
        fprintf(stderr, "lp-buildid: %s\n",
                hexid ? "give either FILE or --id, not both" : "expected one FILE");
        usage(stderr);
        return 2;
    }

    if (note && !hexid && lp_same_file(note, argv[optind])) {
        fprintf(stderr, "lp-buildid: --note %s: is the input FILE %s: an input is never "
                "overwritten (choose another OUT)\n", note, argv[optind]);
        return 2;
    }
    if (hexid) {
        long n = lp_unhex(hexid, bid.id, sizeof(bid.id));

        if (n <= 0) {
            fprintf(stderr, "lp-buildid: --id %s: not an even-length hex string of at most %d bytes\n",
                    hexid, LP_BUILDID_MAX);
            return 2;
        }
        bid.len = (size_t)n;
    } else if (lp_buildid_read(argv[optind], &bid, &err) < 0) {
        fprintf(stderr, "lp-buildid: %s\n", err.msg);
        return 1;
    }

    if (note) {
        unsigned char buf[16 + LP_BUILDID_MAX + 4];
        size_t len = lp_buildid_note(bid.id, bid.len, buf);

        if (lp_write_file(note, buf, len, 0644, &err) < 0) {
            fprintf(stderr, "lp-buildid: %s\n", err.msg);
            return 1;
        }
        return 0;
    }

    {
        char hex[2 * LP_BUILDID_MAX + 1];

        lp_hex(bid.id, bid.len, hex);
        if (show_source)
            printf("%s %s\n", hex, source_names[bid.source]);
        else
            printf("%s\n", hex);
    }
    return 0;
}
