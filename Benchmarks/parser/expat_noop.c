/* The baseline for the parser benchmark: raw Expat (namespace-aware, as
   Parley uses it) with callbacks that only track depth and count stanzas,
   fed in the same 4 KiB chunks. */
#include <expat.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static int depth = 0;
static long stanzas = 0;

static void on_start(void *data, const XML_Char *name, const XML_Char **atts) {
    (void)data; (void)name; (void)atts;
    depth++;
}

static void on_end(void *data, const XML_Char *name) {
    (void)data; (void)name;
    depth--;
    if (depth == 1) stanzas++;
}

static void on_text(void *data, const XML_Char *s, int len) {
    (void)data; (void)s; (void)len;
}

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: expat_noop FILE [RUNS]\n"); return 2; }
    int runs = argc > 2 ? atoi(argv[2]) : 5;
    FILE *f = fopen(argv[1], "rb");
    if (!f) { perror(argv[1]); return 1; }
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *bytes = malloc(size);
    if (fread(bytes, 1, size, f) != (size_t)size) { perror("read"); return 1; }
    fclose(f);
    double best = 1e9;
    for (int run = 0; run < runs; run++) {
        XML_Parser p = XML_ParserCreateNS("UTF-8", '\x1F');
        XML_SetElementHandler(p, on_start, on_end);
        XML_SetCharacterDataHandler(p, on_text);
        depth = 0; stanzas = 0;
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        for (long off = 0; off < size; off += 4096) {
            int n = (size - off) < 4096 ? (int)(size - off) : 4096;
            if (XML_Parse(p, bytes + off, n, 0) == XML_STATUS_ERROR) {
                fprintf(stderr, "parse error: %s\n", XML_ErrorString(XML_GetErrorCode(p)));
                return 1;
            }
        }
        clock_gettime(CLOCK_MONOTONIC, &t1);
        XML_ParserFree(p);
        double s = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
        if (s < best) best = s;
    }
    double mib = size / 1048576.0;
    printf("raw-expat-noop: %.1f MiB/s, %.0f stanzas/s (%ld stanzas, best of %d: %.3f s)\n",
           mib / best, stanzas / best, stanzas, runs, best);
    free(bytes);
    return 0;
}
