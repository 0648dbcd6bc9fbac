/* Crystal structure container and lattice helpers. Rows are lattice vectors. */
#include "fuse2/structure.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>

#include "fuse2/elements.h"

fuse2_status fuse2_structure_init(fuse2_structure *s, int capacity)
{
    memset(s, 0, sizeof *s);
    if (capacity < 0) return FUSE2_RAISE(FUSE2_ERR_ARG, "negative structure capacity %d", capacity);
    return fuse2_structure_reserve(s, capacity);
}

void fuse2_structure_free(fuse2_structure *s)
{
    if (!s) return;
    free(s->frac);
    free(s->species);
    memset(s, 0, sizeof *s);
}

fuse2_status fuse2_structure_reserve(fuse2_structure *s, int capacity)
{
    if (capacity <= s->capacity) return FUSE2_OK;
    double(*frac)[3] = realloc(s->frac, (size_t)capacity * sizeof *frac);
    if (!frac) return FUSE2_RAISE(FUSE2_ERR_NOMEM, "cannot allocate %d atoms", capacity);
    s->frac = frac;
    int *species = realloc(s->species, (size_t)capacity * sizeof *species);
    if (!species) return FUSE2_RAISE(FUSE2_ERR_NOMEM, "cannot allocate %d atoms", capacity);
    s->species = species;
    s->capacity = capacity;
    return FUSE2_OK;
}

fuse2_status fuse2_structure_copy(fuse2_structure *dst, const fuse2_structure *src)
{
    if (dst == src) return FUSE2_OK;
    FUSE2_CALL(fuse2_structure_reserve(dst, src->natoms));
    memcpy(dst->lattice, src->lattice, sizeof dst->lattice);
    if (src->natoms) {
        memcpy(dst->frac, src->frac, (size_t)src->natoms * sizeof *src->frac);
        memcpy(dst->species, src->species, (size_t)src->natoms * sizeof *src->species);
    }
    dst->natoms = src->natoms;
    return FUSE2_OK;
}

fuse2_status fuse2_structure_add_atom(fuse2_structure *s, int z, const double frac[3])
{
    if (s->natoms == s->capacity)
        FUSE2_CALL(fuse2_structure_reserve(s, s->capacity ? 2 * s->capacity : 8));
    s->species[s->natoms] = z;
    memcpy(s->frac[s->natoms], frac, sizeof s->frac[0]);
    s->natoms++;
    return FUSE2_OK;
}

void fuse2_structure_remove_atom(fuse2_structure *s, int index)
{
    if (index < 0 || index >= s->natoms) return;
    memmove(s->frac + index, s->frac + index + 1,
            (size_t)(s->natoms - index - 1) * sizeof *s->frac);
    memmove(s->species + index, s->species + index + 1,
            (size_t)(s->natoms - index - 1) * sizeof *s->species);
    s->natoms--;
}

double fuse2_lattice_volume(const double L[3][3])
{
    return L[0][0] * (L[1][1] * L[2][2] - L[1][2] * L[2][1]) -
           L[0][1] * (L[1][0] * L[2][2] - L[1][2] * L[2][0]) +
           L[0][2] * (L[1][0] * L[2][1] - L[1][1] * L[2][0]);
}

double fuse2_structure_volume(const fuse2_structure *s) { return fuse2_lattice_volume(s->lattice); }

void fuse2_structure_cartesian(const fuse2_structure *s, int atom, double cart[3])
{
    const double *f = s->frac[atom];
    for (int k = 0; k < 3; k++)
        cart[k] = f[0] * s->lattice[0][k] + f[1] * s->lattice[1][k] + f[2] * s->lattice[2][k];
}

void fuse2_structure_wrap_positions(fuse2_structure *s)
{
    for (int i = 0; i < s->natoms; i++)
        for (int k = 0; k < 3; k++) {
            double x = s->frac[i][k] - floor(s->frac[i][k]);
            /* floor can give exactly 1.0 for tiny negative inputs */
            s->frac[i][k] = x >= 1.0 ? 0.0 : x;
        }
}

fuse2_status fuse2_structure_validate(const fuse2_structure *s, const char *what)
{
    const char *name = what ? what : "structure";
    if (s->natoms <= 0) return FUSE2_RAISE(FUSE2_ERR_ARG, "%s: no atoms", name);
    for (int i = 0; i < 3; i++)
        for (int k = 0; k < 3; k++)
            if (!isfinite(s->lattice[i][k]))
                return FUSE2_RAISE(FUSE2_ERR_NUMERIC, "%s: lattice vector %d is not finite", name,
                                   i + 1);
    double v = fuse2_structure_volume(s);
    if (!(fabs(v) > 1e-6 * s->natoms) || !isfinite(v))
        return FUSE2_RAISE(FUSE2_ERR_ARG, "%s: cell volume %.6g A^3 is zero or degenerate", name, v);
    if (v < 0)
        return FUSE2_RAISE(FUSE2_ERR_ARG,
                           "%s: lattice vectors are left-handed (volume %.6g A^3)", name, v);
    for (int i = 0; i < s->natoms; i++) {
        if (!fuse2_element_by_z(s->species[i]))
            return FUSE2_RAISE(FUSE2_ERR_ARG, "%s: atom %d has unknown atomic number %d", name,
                               i + 1, s->species[i]);
        for (int k = 0; k < 3; k++)
            if (!isfinite(s->frac[i][k]))
                return FUSE2_RAISE(FUSE2_ERR_NUMERIC, "%s: atom %d has a non-finite coordinate",
                                   name, i + 1);
    }
    return FUSE2_OK;
}

fuse2_status fuse2_structure_sort_by_species(fuse2_structure *s)
{
    /* insertion sort: stable, and structures are small */
    for (int i = 1; i < s->natoms; i++) {
        int z = s->species[i];
        double f[3];
        memcpy(f, s->frac[i], sizeof f);
        int j = i - 1;
        while (j >= 0 && s->species[j] > z) {
            s->species[j + 1] = s->species[j];
            memcpy(s->frac[j + 1], s->frac[j], sizeof f);
            j--;
        }
        s->species[j + 1] = z;
        memcpy(s->frac[j + 1], f, sizeof f);
    }
    return FUSE2_OK;
}

void fuse2_structure_formula(const fuse2_structure *s, char *buf, int bufsize)
{
    int counts[FUSE2_MAX_Z + 1] = {0};
    for (int i = 0; i < s->natoms; i++)
        if (s->species[i] >= 1 && s->species[i] <= FUSE2_MAX_Z) counts[s->species[i]]++;
    int used = 0;
    buf[0] = '\0';
    /* alphabetical by symbol, as pymatgen's alphabetical_formula */
    int done[FUSE2_MAX_Z + 1] = {0};
    for (;;) {
        int best = 0;
        for (int z = 1; z <= FUSE2_MAX_Z; z++)
            if (counts[z] && !done[z] &&
                (!best || strcmp(fuse2_element_by_z(z)->symbol, fuse2_element_by_z(best)->symbol) < 0))
                best = z;
        if (!best) break;
        done[best] = 1;
        int n = counts[best] > 1
                    ? snprintf(buf + used, (size_t)(bufsize - used), "%s%d",
                               fuse2_element_by_z(best)->symbol, counts[best])
                    : snprintf(buf + used, (size_t)(bufsize - used), "%s",
                               fuse2_element_by_z(best)->symbol);
        if (n < 0 || used + n >= bufsize) break;
        used += n;
    }
}

fuse2_status fuse2_lattice_inverse(const double L[3][3], double inv[3][3])
{
    double det = fuse2_lattice_volume(L);
    double scale = 0;
    for (int i = 0; i < 3; i++)
        for (int k = 0; k < 3; k++) scale = fmax(scale, fabs(L[i][k]));
    if (!isfinite(det) || fabs(det) <= 1e-12 * scale * scale * scale || scale == 0)
        return FUSE2_RAISE(FUSE2_ERR_NUMERIC, "singular lattice (volume %.3g A^3)", det);
    inv[0][0] = (L[1][1] * L[2][2] - L[1][2] * L[2][1]) / det;
    inv[0][1] = (L[0][2] * L[2][1] - L[0][1] * L[2][2]) / det;
    inv[0][2] = (L[0][1] * L[1][2] - L[0][2] * L[1][1]) / det;
    inv[1][0] = (L[1][2] * L[2][0] - L[1][0] * L[2][2]) / det;
    inv[1][1] = (L[0][0] * L[2][2] - L[0][2] * L[2][0]) / det;
    inv[1][2] = (L[0][2] * L[1][0] - L[0][0] * L[1][2]) / det;
    inv[2][0] = (L[1][0] * L[2][1] - L[1][1] * L[2][0]) / det;
    inv[2][1] = (L[0][1] * L[2][0] - L[0][0] * L[2][1]) / det;
    inv[2][2] = (L[0][0] * L[1][1] - L[0][1] * L[1][0]) / det;
    return FUSE2_OK;
}

static void cross(const double a[3], const double b[3], double c[3])
{
    c[0] = a[1] * b[2] - a[2] * b[1];
    c[1] = a[2] * b[0] - a[0] * b[2];
    c[2] = a[0] * b[1] - a[1] * b[0];
}

void fuse2_lattice_reciprocal(const double L[3][3], double recip[3][3])
{
    double v = fuse2_lattice_volume(L);
    for (int i = 0; i < 3; i++) {
        cross(L[(i + 1) % 3], L[(i + 2) % 3], recip[i]);
        for (int k = 0; k < 3; k++) recip[i][k] *= 2.0 * M_PI / v;
    }
}

void fuse2_lattice_plane_spacings(const double L[3][3], double h[3])
{
    double v = fabs(fuse2_lattice_volume(L));
    for (int i = 0; i < 3; i++) {
        double c[3];
        cross(L[(i + 1) % 3], L[(i + 2) % 3], c);
        double n = sqrt(c[0] * c[0] + c[1] * c[1] + c[2] * c[2]);
        h[i] = n > 0 ? v / n : 0.0;
    }
}

fuse2_status fuse2_lattice_from_parameters(const double p[6], double L[3][3])
{
    for (int i = 0; i < 6; i++)
        if (!isfinite(p[i]) || p[i] <= 0)
            return FUSE2_RAISE(FUSE2_ERR_ARG, "cell parameter %d is %g (must be > 0)", i + 1, p[i]);
    for (int i = 3; i < 6; i++)
        if (p[i] >= 180.0)
            return FUSE2_RAISE(FUSE2_ERR_ARG, "cell angle %g is not below 180 degrees", p[i]);
    double rad = M_PI / 180.0;
    /* exact 90 degrees gives exact zeros, as ASE does */
    double ca = p[3] == 90.0 ? 0.0 : cos(p[3] * rad);
    double cb = p[4] == 90.0 ? 0.0 : cos(p[4] * rad);
    double cg = p[5] == 90.0 ? 0.0 : cos(p[5] * rad);
    double sg = p[5] == 90.0 ? 1.0 : sin(p[5] * rad);
    double cx = cb, cy = (ca - cb * cg) / sg;
    double cz2 = 1.0 - cx * cx - cy * cy;
    if (cz2 <= 0)
        return FUSE2_RAISE(FUSE2_ERR_ARG, "impossible cell angles %g %g %g", p[3], p[4], p[5]);
    double a = p[0], b = p[1], c = p[2];
    L[0][0] = a; L[0][1] = 0; L[0][2] = 0;
    L[1][0] = b * cg; L[1][1] = b * sg; L[1][2] = 0;
    L[2][0] = c * cx; L[2][1] = c * cy; L[2][2] = c * sqrt(cz2);
    return FUSE2_OK;
}

void fuse2_lattice_to_parameters(const double L[3][3], double p[6])
{
    double len[3];
    for (int i = 0; i < 3; i++) len[i] = sqrt(L[i][0] * L[i][0] + L[i][1] * L[i][1] + L[i][2] * L[i][2]);
    for (int i = 0; i < 3; i++) p[i] = len[i];
    for (int i = 0; i < 3; i++) {
        int j = (i + 1) % 3, k = (i + 2) % 3;
        double d = L[j][0] * L[k][0] + L[j][1] * L[k][1] + L[j][2] * L[k][2];
        double c = d / (len[j] * len[k]);
        c = c > 1 ? 1 : c < -1 ? -1 : c;
        p[3 + i] = acos(c) * 180.0 / M_PI;
    }
}

fuse2_status fuse2_structure_set_lattice_keep_cartesian(fuse2_structure *s, const double lattice[3][3])
{
    double inv[3][3];
    FUSE2_CALL(fuse2_lattice_inverse(lattice, inv));
    for (int i = 0; i < s->natoms; i++) {
        double c[3];
        fuse2_structure_cartesian(s, i, c);
        for (int k = 0; k < 3; k++)
            s->frac[i][k] = c[0] * inv[0][k] + c[1] * inv[1][k] + c[2] * inv[2][k];
    }
    memcpy(s->lattice, lattice, sizeof s->lattice);
    return FUSE2_OK;
}
