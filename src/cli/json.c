#include "json.h"

#include <math.h>

static void escaped(FILE *out, const char *s)
{
    fputc('"', out);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') fprintf(out, "\\%c", c);
        else if (c == '\n') fputs("\\n", out);
        else if (c == '\t') fputs("\\t", out);
        else if (c < 0x20) fprintf(out, "\\u%04x", c);
        else fputc(c, out);
    }
    fputc('"', out);
}

static void item(json_writer *w, const char *key)
{
    if (w->depth > 0) {
        if (w->need_comma[w->depth]) fputc(',', w->out);
        fputc('\n', w->out);
        for (int i = 0; i < w->depth; i++) fputs("  ", w->out);
        w->need_comma[w->depth] = 1;
    }
    if (key) {
        escaped(w->out, key);
        fputs(": ", w->out);
    }
}

void json_begin_object(json_writer *w, const char *key)
{
    item(w, key);
    fputc('{', w->out);
    w->need_comma[++w->depth] = 0;
}

void json_end_object(json_writer *w)
{
    int had = w->need_comma[w->depth--];
    if (had) {
        fputc('\n', w->out);
        for (int i = 0; i < w->depth; i++) fputs("  ", w->out);
    }
    fputc('}', w->out);
    if (w->depth == 0) fputc('\n', w->out);
}

void json_begin_array(json_writer *w, const char *key)
{
    item(w, key);
    fputc('[', w->out);
    w->need_comma[++w->depth] = 0;
}

void json_end_array(json_writer *w)
{
    w->depth--;
    fputc(']', w->out);
}

void json_string(json_writer *w, const char *key, const char *value)
{
    item(w, key);
    escaped(w->out, value);
}

void json_number(json_writer *w, const char *key, double value)
{
    item(w, key);
    if (isfinite(value)) fprintf(w->out, "%.12g", value);
    else fputs("null", w->out); /* JSON has no NaN or infinity */
}

void json_int(json_writer *w, const char *key, long value)
{
    item(w, key);
    fprintf(w->out, "%ld", value);
}

void json_bool(json_writer *w, const char *key, int value)
{
    item(w, key);
    fputs(value ? "true" : "false", w->out);
}

void json_null(json_writer *w, const char *key)
{
    item(w, key);
    fputs("null", w->out);
}
