/* Formula parsing: element symbols with counts and parenthesised groups. */
#include "fuse2/composition.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "fuse2/elements.h"

enum { MAX_GROUP_DEPTH = 8 };

static fuse2_status add_element(fuse2_composition *c, int z, long count, const char *formula)
{
    for (int i = 0; i < c->nelements; i++)
        if (c->z[i] == z) {
            if (c->count[i] + count > 1000000)
                return FUSE2_RAISE(FUSE2_ERR_PARSE, "formula '%s': count too large", formula);
            c->count[i] += (int)count;
            return FUSE2_OK;
        }
    if (c->nelements == FUSE2_COMPOSITION_MAX_ELEMENTS)
        return FUSE2_RAISE(FUSE2_ERR_UNSUPPORTED, "formula '%s': more than %d elements", formula,
                           FUSE2_COMPOSITION_MAX_ELEMENTS);
    c->z[c->nelements] = z;
    c->count[c->nelements] = (int)count;
    c->nelements++;
    return FUSE2_OK;
}

/* Reads an optional positive integer at *p; 1 when absent. */
static fuse2_status read_count(const char **p, long *count, const char *formula)
{
    if (!isdigit((unsigned char)**p)) {
        *count = 1;
        return FUSE2_OK;
    }
    long n = 0;
    while (isdigit((unsigned char)**p)) {
        n = n * 10 + (**p - '0');
        if (n > 1000000) return FUSE2_RAISE(FUSE2_ERR_PARSE, "formula '%s': count too large", formula);
        (*p)++;
    }
    if (n == 0)
        return FUSE2_RAISE(FUSE2_ERR_PARSE, "formula '%s': zero count at position %ld", formula,
                           (long)(*p - formula));
    *count = n;
    return FUSE2_OK;
}

/* Parses up to the matching ')' (or end when depth == 0), multiplying by mult. */
static fuse2_status parse_group(const char **p, int depth, long mult, fuse2_composition *c,
                                const char *formula)
{
    /* First pass collects the group's contents so the trailing multiplier can apply. */
    fuse2_composition group = {0};
    while (**p && **p != ')') {
        if (**p == '(') {
            if (depth + 1 >= MAX_GROUP_DEPTH)
                return FUSE2_RAISE(FUSE2_ERR_PARSE, "formula '%s': groups nested too deeply", formula);
            (*p)++;
            fuse2_composition inner = {0};
            FUSE2_CALL(parse_group(p, depth + 1, 1, &inner, formula));
            if (**p != ')')
                return FUSE2_RAISE(FUSE2_ERR_PARSE, "formula '%s': missing ')'", formula);
            (*p)++;
            long n;
            FUSE2_CALL(read_count(p, &n, formula));
            if (inner.nelements == 0)
                return FUSE2_RAISE(FUSE2_ERR_PARSE, "formula '%s': empty group '()'", formula);
            for (int i = 0; i < inner.nelements; i++)
                FUSE2_CALL(add_element(&group, inner.z[i], inner.count[i] * n, formula));
            continue;
        }
        if (!isupper((unsigned char)**p))
            return FUSE2_RAISE(FUSE2_ERR_PARSE,
                               "formula '%s': unexpected character '%c' at position %ld "
                               "(element symbols start with a capital letter)",
                               formula, **p, (long)(*p - formula) + 1);
        char symbol[3] = {**p, 0, 0};
        (*p)++;
        if (islower((unsigned char)**p)) {
            symbol[1] = **p;
            (*p)++;
        }
        int z = fuse2_element_z_from_symbol(symbol);
        if (!z)
            return FUSE2_RAISE(FUSE2_ERR_PARSE, "formula '%s': unknown element '%s'", formula, symbol);
        long n;
        FUSE2_CALL(read_count(p, &n, formula));
        FUSE2_CALL(add_element(&group, z, n, formula));
    }
    for (int i = 0; i < group.nelements; i++)
        FUSE2_CALL(add_element(c, group.z[i], group.count[i] * mult, formula));
    return FUSE2_OK;
}

fuse2_status fuse2_composition_parse(const char *formula, fuse2_composition *out)
{
    memset(out, 0, sizeof *out);
    if (!formula) return FUSE2_RAISE(FUSE2_ERR_ARG, "no formula given");
    char trimmed[256];
    size_t len = strlen(formula);
    while (len && isspace((unsigned char)formula[len - 1])) len--;
    while (len && isspace((unsigned char)*formula)) formula++, len--;
    if (len == 0) return FUSE2_RAISE(FUSE2_ERR_PARSE, "empty formula");
    if (len >= sizeof trimmed) return FUSE2_RAISE(FUSE2_ERR_PARSE, "formula too long");
    memcpy(trimmed, formula, len);
    trimmed[len] = '\0';
    const char *p = trimmed;
    FUSE2_CALL(parse_group(&p, 0, 1, out, trimmed));
    if (*p == ')')
        return FUSE2_RAISE(FUSE2_ERR_PARSE, "formula '%s': unmatched ')'", trimmed);
    if (out->nelements == 0) return FUSE2_RAISE(FUSE2_ERR_PARSE, "formula '%s': no elements", trimmed);
    return FUSE2_OK;
}

int fuse2_composition_atoms_per_formula(const fuse2_composition *c)
{
    int n = 0;
    for (int i = 0; i < c->nelements; i++) n += c->count[i];
    return n;
}

int fuse2_composition_count(const fuse2_composition *c, int z)
{
    for (int i = 0; i < c->nelements; i++)
        if (c->z[i] == z) return c->count[i];
    return 0;
}

static int gcd(int a, int b)
{
    while (b) {
        int t = a % b;
        a = b;
        b = t;
    }
    return a;
}

void fuse2_composition_reduce(fuse2_composition *c)
{
    int g = 0;
    for (int i = 0; i < c->nelements; i++) g = gcd(g, c->count[i]);
    if (g > 1)
        for (int i = 0; i < c->nelements; i++) c->count[i] /= g;
}

void fuse2_composition_format(const fuse2_composition *c, char *buf, int bufsize)
{
    int used = 0;
    if (bufsize > 0) buf[0] = '\0';
    for (int i = 0; i < c->nelements && used < bufsize; i++) {
        const fuse2_element *e = fuse2_element_by_z(c->z[i]);
        int n = c->count[i] > 1
                    ? snprintf(buf + used, (size_t)(bufsize - used), "%s%d", e->symbol, c->count[i])
                    : snprintf(buf + used, (size_t)(bufsize - used), "%s", e->symbol);
        if (n < 0) break;
        used += n;
    }
}
