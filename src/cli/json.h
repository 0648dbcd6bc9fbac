/* Minimal JSON writer for the command-line tool's --json output. */
#ifndef FUSE2_CLI_JSON_H
#define FUSE2_CLI_JSON_H

#include <stdio.h>

typedef struct json_writer {
    FILE *out;
    int depth;
    int need_comma[16];
} json_writer;

void json_begin_object(json_writer *w, const char *key);
void json_end_object(json_writer *w);
void json_begin_array(json_writer *w, const char *key);
void json_end_array(json_writer *w);
void json_string(json_writer *w, const char *key, const char *value);
void json_number(json_writer *w, const char *key, double value);
void json_int(json_writer *w, const char *key, long value);
void json_bool(json_writer *w, const char *key, int value);
void json_null(json_writer *w, const char *key);

#endif
