/* VASP input files: POSCAR in POTCAR species order, INCAR from key/value
 * text, KPOINTS, POTCAR by concatenation (fuse2/vasp.h). Formats:
 * https://www.vasp.at/wiki/index.php/POSCAR, .../INCAR, .../KPOINTS, .../POTCAR. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuse2/elements.h"
#include "fuse2/structure_io.h"
#include "fuse2/vasp.h"

fuse2_status fuse2_vasp_species_order(const fuse2_structure *s, const int *preferred,
                                      int npreferred, int *species_out, int *nspecies_out)
{
    if (!s || !species_out || !nspecies_out || (npreferred > 0 && !preferred))
        return FUSE2_RAISE(FUSE2_ERR_ARG, "fuse2_vasp_species_order: NULL argument");
    int present[FUSE2_MAX_Z + 1] = {0};
    for (int i = 0; i < s->natoms; i++) {
        int z = s->species[i];
        if (z < 1 || z > FUSE2_MAX_Z)
            return FUSE2_RAISE(FUSE2_ERR_ARG, "fuse2_vasp_species_order: atom %d has atomic number %d",
                               i + 1, z);
        present[z] = 1;
    }
    int used[FUSE2_MAX_Z + 1] = {0};
    int n = 0;
    for (int k = 0; k < npreferred; k++) {
        int z = preferred[k];
        if (z < 1 || z > FUSE2_MAX_Z || !present[z] || used[z]) continue;
        if (n == FUSE2_VASP_MAX_SPECIES)
            return FUSE2_RAISE(FUSE2_ERR_UNSUPPORTED, "more than %d species", FUSE2_VASP_MAX_SPECIES);
        used[z] = 1;
        species_out[n++] = z;
    }
    for (int i = 0; i < s->natoms; i++) {
        int z = s->species[i];
        if (used[z]) continue;
        if (n == FUSE2_VASP_MAX_SPECIES)
            return FUSE2_RAISE(FUSE2_ERR_UNSUPPORTED, "more than %d species", FUSE2_VASP_MAX_SPECIES);
        used[z] = 1;
        species_out[n++] = z;
    }
    *nspecies_out = n;
    return FUSE2_OK;
}

fuse2_status fuse2_vasp_write_poscar(const char *path, const fuse2_structure *s,
                                     const int *species, int nspecies, const char *comment,
                                     int *perm)
{
    if (!path || !s || !species || nspecies < 1)
        return FUSE2_RAISE(FUSE2_ERR_ARG, "fuse2_vasp_write_poscar: NULL argument or no species");
    int slot[FUSE2_MAX_Z + 1];
    for (int z = 0; z <= FUSE2_MAX_Z; z++) slot[z] = -1;
    for (int k = 0; k < nspecies; k++) {
        int z = species[k];
        if (z < 1 || z > FUSE2_MAX_Z)
            return FUSE2_RAISE(FUSE2_ERR_ARG, "%s: species %d has atomic number %d", path, k + 1, z);
        if (slot[z] >= 0)
            return FUSE2_RAISE(FUSE2_ERR_ARG, "%s: species %s listed twice", path,
                               fuse2_element_by_z(z)->symbol);
        slot[z] = k;
    }
    int counts[FUSE2_VASP_MAX_SPECIES] = {0};
    if (nspecies > FUSE2_VASP_MAX_SPECIES)
        return FUSE2_RAISE(FUSE2_ERR_UNSUPPORTED, "%s: more than %d species", path,
                           FUSE2_VASP_MAX_SPECIES);
    for (int i = 0; i < s->natoms; i++) {
        int z = s->species[i];
        if (z < 1 || z > FUSE2_MAX_Z || slot[z] < 0)
            return FUSE2_RAISE(FUSE2_ERR_ARG, "%s: atom %d (Z = %d) has a species not in the POTCAR order",
                               path, i + 1, z);
        counts[slot[z]]++;
    }
    for (int k = 0; k < nspecies; k++)
        if (counts[k] == 0)
            /* a POTCAR part without atoms would shift every later species */
            return FUSE2_RAISE(FUSE2_ERR_ARG, "%s: species %s is listed but has no atoms", path,
                               fuse2_element_by_z(species[k])->symbol);

    /* A copy with atoms grouped by species in the given order: the shared
     * POSCAR writer groups by first appearance, which is then this order. */
    fuse2_structure sorted = {0};
    int *order = malloc(sizeof *order * (size_t)(s->natoms > 0 ? s->natoms : 1));
    if (!order) return FUSE2_RAISE(FUSE2_ERR_NOMEM, "%s: out of memory", path);
    fuse2_status status = FUSE2_OK;
    FUSE2_CALL_GOTO(status, fuse2_structure_init(&sorted, s->natoms), done);
    memcpy(sorted.lattice, s->lattice, sizeof sorted.lattice);
    int n = 0;
    for (int k = 0; k < nspecies; k++)
        for (int i = 0; i < s->natoms; i++)
            if (s->species[i] == species[k]) {
                order[n++] = i;
                FUSE2_CALL_GOTO(status, fuse2_structure_add_atom(&sorted, s->species[i], s->frac[i]),
                                done);
            }
    FUSE2_CALL_GOTO(status, fuse2_poscar_write(path, &sorted, comment), done);
    if (perm) memcpy(perm, order, sizeof *perm * (size_t)s->natoms);
done:
    fuse2_structure_free(&sorted);
    free(order);
    return status;
}

fuse2_status fuse2_vasp_unpermute_output(fuse2_ext_output *out, const int *perm, int natoms)
{
    if (!out || (natoms > 0 && !perm))
        return FUSE2_RAISE(FUSE2_ERR_ARG, "fuse2_vasp_unpermute_output: NULL argument");
    if (!out->has_structure && !out->has_forces) return FUSE2_OK;
    if (out->has_structure && out->structure.natoms != natoms)
        return FUSE2_RAISE(FUSE2_ERR_ARG,
                           "fuse2_vasp_unpermute_output: the output has %d atoms, the permutation %d",
                           out->structure.natoms, natoms);
    /* perm must be a permutation, or rows would be lost silently */
    char *seen = calloc((size_t)(natoms > 0 ? natoms : 1), 1);
    if (!seen) return FUSE2_RAISE(FUSE2_ERR_NOMEM, "out of memory");
    for (int k = 0; k < natoms; k++) {
        if (perm[k] < 0 || perm[k] >= natoms || seen[perm[k]]) {
            free(seen);
            return FUSE2_RAISE(FUSE2_ERR_ARG, "fuse2_vasp_unpermute_output: entry %d (%d) is not a permutation",
                               k, perm[k]);
        }
        seen[perm[k]] = 1;
    }
    free(seen);
    double (*tmp)[3] = malloc(sizeof *tmp * (size_t)(natoms > 0 ? natoms : 1));
    int *ztmp = malloc(sizeof *ztmp * (size_t)(natoms > 0 ? natoms : 1));
    if (!tmp || !ztmp) {
        free(tmp);
        free(ztmp);
        return FUSE2_RAISE(FUSE2_ERR_NOMEM, "out of memory");
    }
    if (out->has_structure) {
        for (int k = 0; k < natoms; k++) {
            memcpy(tmp[perm[k]], out->structure.frac[k], sizeof tmp[0]);
            ztmp[perm[k]] = out->structure.species[k];
        }
        memcpy(out->structure.frac, tmp, sizeof *tmp * (size_t)natoms);
        memcpy(out->structure.species, ztmp, sizeof *ztmp * (size_t)natoms);
    }
    if (out->has_forces && out->forces) {
        for (int k = 0; k < natoms; k++) memcpy(tmp[perm[k]], out->forces[k], sizeof tmp[0]);
        memcpy(out->forces, tmp, sizeof *tmp * (size_t)natoms);
    }
    free(tmp);
    free(ztmp);
    return FUSE2_OK;
}

/* ---- KPOINTS ---- */

fuse2_status fuse2_vasp_kspacing_mesh(const double lattice[3][3], double spacing, int mesh[3])
{
    if (!lattice || !mesh) return FUSE2_RAISE(FUSE2_ERR_ARG, "fuse2_vasp_kspacing_mesh: NULL argument");
    if (!(spacing > 0) || !isfinite(spacing))
        return FUSE2_RAISE(FUSE2_ERR_ARG, "k-point spacing %g must be positive (1/A, with 2 pi)",
                           spacing);
    double volume = fuse2_lattice_volume(lattice);
    if (!(fabs(volume) > 1e-8))
        return FUSE2_RAISE(FUSE2_ERR_ARG, "k-point mesh: the lattice has zero volume");
    double recip[3][3];
    fuse2_lattice_reciprocal(lattice, recip);
    for (int i = 0; i < 3; i++) {
        double b = sqrt(recip[i][0] * recip[i][0] + recip[i][1] * recip[i][1] +
                        recip[i][2] * recip[i][2]);
        /* VASP: N_i = max(1, ceiling(|b_i| / KSPACING)); a tiny tolerance so
         * that an exact multiple printed with rounding is not pushed up by one */
        double n = ceil(b / spacing - 1e-9);
        if (n > 1000)
            return FUSE2_RAISE(FUSE2_ERR_ARG, "k-point spacing %g gives %g points along b%d", spacing,
                               n, i + 1);
        mesh[i] = n < 1 ? 1 : (int)n;
    }
    return FUSE2_OK;
}

fuse2_status fuse2_vasp_write_kpoints(const char *path, const fuse2_vasp_kpoints *k,
                                      const double lattice[3][3])
{
    if (!path || !k) return FUSE2_RAISE(FUSE2_ERR_ARG, "fuse2_vasp_write_kpoints: NULL argument");
    int mesh[3] = {0, 0, 0};
    switch (k->mode) {
    case FUSE2_VASP_KPOINTS_NONE:
        return FUSE2_RAISE(FUSE2_ERR_ARG, "%s: k-point mode 'none' has no KPOINTS file", path);
    case FUSE2_VASP_KPOINTS_GAMMA:
    case FUSE2_VASP_KPOINTS_MONKHORST:
        if (k->spacing > 0) {
            if (!lattice)
                return FUSE2_RAISE(FUSE2_ERR_ARG, "%s: a mesh from a spacing needs the lattice", path);
            FUSE2_CALL(fuse2_vasp_kspacing_mesh(lattice, k->spacing, mesh));
        } else {
            for (int i = 0; i < 3; i++) {
                if (k->mesh[i] < 1 || k->mesh[i] > 1000)
                    return FUSE2_RAISE(FUSE2_ERR_ARG, "%s: k-point mesh %d %d %d is invalid", path,
                                       k->mesh[0], k->mesh[1], k->mesh[2]);
                mesh[i] = k->mesh[i];
            }
        }
        break;
    case FUSE2_VASP_KPOINTS_EXPLICIT:
        if (k->npoints < 1 || !k->points)
            return FUSE2_RAISE(FUSE2_ERR_ARG, "%s: explicit k-points without points", path);
        for (int i = 0; i < k->npoints; i++) {
            double w = k->weights ? k->weights[i] : 1.0;
            if (!isfinite(k->points[i][0]) || !isfinite(k->points[i][1]) ||
                !isfinite(k->points[i][2]) || !(w > 0) || !isfinite(w))
                return FUSE2_RAISE(FUSE2_ERR_ARG, "%s: k-point %d or its weight is invalid", path,
                                   i + 1);
        }
        break;
    default:
        return FUSE2_RAISE(FUSE2_ERR_ARG, "%s: unknown k-point mode %d", path, (int)k->mode);
    }

    FILE *f = fopen(path, "w");
    if (!f) return FUSE2_RAISE(FUSE2_ERR_IO, "%s: cannot open for writing: %s", path, strerror(errno));
    if (k->mode == FUSE2_VASP_KPOINTS_EXPLICIT) {
        fprintf(f, "Explicit k-points (fuse2)\n%d\nReciprocal\n", k->npoints);
        for (int i = 0; i < k->npoints; i++)
            fprintf(f, " %18.14f %18.14f %18.14f %.10g\n", k->points[i][0], k->points[i][1],
                    k->points[i][2], k->weights ? k->weights[i] : 1.0);
    } else {
        if (k->spacing > 0)
            fprintf(f, "Mesh from k-point spacing %g 1/A (fuse2)\n", k->spacing);
        else
            fprintf(f, "Mesh (fuse2)\n");
        fprintf(f, "0\n%s\n%d %d %d\n0 0 0\n",
                k->mode == FUSE2_VASP_KPOINTS_GAMMA ? "Gamma" : "Monkhorst-Pack", mesh[0], mesh[1],
                mesh[2]);
    }
    int failed = ferror(f);
    if (fclose(f) != 0 || failed) return FUSE2_RAISE(FUSE2_ERR_IO, "%s: write failed", path);
    return FUSE2_OK;
}

/* ---- INCAR ---- */

static int key_equals_nocase(const char *a, const char *b)
{
    for (; *a && *b; a++, b++)
        if (toupper((unsigned char)*a) != toupper((unsigned char)*b)) return 0;
    return *a == *b;
}

fuse2_status fuse2_vasp_check_kpoints_conflict(const fuse2_vasp_kv *pairs, int npairs,
                                               const fuse2_vasp_kpoints *kpoints)
{
    if (npairs > 0 && !pairs)
        return FUSE2_RAISE(FUSE2_ERR_ARG, "fuse2_vasp_check_kpoints_conflict: NULL argument");
    if (!kpoints || kpoints->mode == FUSE2_VASP_KPOINTS_NONE) return FUSE2_OK;
    for (int i = 0; i < npairs; i++)
        if (pairs[i].key && key_equals_nocase(pairs[i].key, "KSPACING"))
            return FUSE2_RAISE(FUSE2_ERR_ARG,
                               "INCAR has KSPACING = %s and a KPOINTS file is requested: VASP would "
                               "ignore KSPACING; choose one (remove KSPACING or the k-point mesh)",
                               pairs[i].value ? pairs[i].value : "");
    return FUSE2_OK;
}

fuse2_status fuse2_vasp_write_incar(const char *path, const fuse2_vasp_kv *pairs, int npairs,
                                    const fuse2_vasp_kpoints *kpoints)
{
    if (!path || npairs < 0 || (npairs > 0 && !pairs))
        return FUSE2_RAISE(FUSE2_ERR_ARG, "fuse2_vasp_write_incar: NULL argument");
    for (int i = 0; i < npairs; i++) {
        const char *key = pairs[i].key, *value = pairs[i].value;
        if (!key || !key[0])
            return FUSE2_RAISE(FUSE2_ERR_ARG, "%s: INCAR tag %d has no name", path, i + 1);
        for (const char *c = key; *c; c++)
            if (!isalnum((unsigned char)*c) && *c != '_')
                return FUSE2_RAISE(FUSE2_ERR_ARG, "%s: INCAR tag '%s' has a character other than "
                                                  "letters, digits or '_'", path, key);
        if (!value) return FUSE2_RAISE(FUSE2_ERR_ARG, "%s: INCAR tag %s has no value", path, key);
        int blank = 1;
        for (const char *c = value; *c; c++) {
            if (*c == '\n' || *c == '\r')
                return FUSE2_RAISE(FUSE2_ERR_ARG, "%s: the value of INCAR tag %s spans lines",
                                   path, key);
            if (!isspace((unsigned char)*c)) blank = 0;
        }
        if (blank) return FUSE2_RAISE(FUSE2_ERR_ARG, "%s: INCAR tag %s has an empty value", path, key);
        for (int j = 0; j < i; j++)
            if (key_equals_nocase(pairs[j].key, key))
                /* VASP reads the first occurrence and ignores the rest silently */
                return FUSE2_RAISE(FUSE2_ERR_ARG, "%s: INCAR tag %s is given twice", path, key);
    }
    FUSE2_CALL(fuse2_vasp_check_kpoints_conflict(pairs, npairs, kpoints));

    FILE *f = fopen(path, "w");
    if (!f) return FUSE2_RAISE(FUSE2_ERR_IO, "%s: cannot open for writing: %s", path, strerror(errno));
    for (int i = 0; i < npairs; i++) {
        for (const char *c = pairs[i].key; *c; c++) fputc(toupper((unsigned char)*c), f);
        fprintf(f, " = %s\n", pairs[i].value);
    }
    int failed = ferror(f);
    if (fclose(f) != 0 || failed) return FUSE2_RAISE(FUSE2_ERR_IO, "%s: write failed", path);
    return FUSE2_OK;
}

/* ---- POTCAR ---- */


void fuse2_vasp_potcar_name(const char *symbol, const char *setup, char *name, size_t size)
{
    size_t symlen = strlen(symbol);
    if (strncmp(setup, symbol, symlen) == 0 && !isalpha((unsigned char)setup[symlen]))
        snprintf(name, size, "%s", setup);
    else
        snprintf(name, size, "%s%s", symbol, setup);
}

fuse2_status fuse2_vasp_write_potcar(const char *path, const int *species, int nspecies,
                                     const char *pp_path, const char *subdir,
                                     const fuse2_vasp_kv *setups, int nsetups)
{
    if (!path || !species || nspecies < 1 || (nsetups > 0 && !setups))
        return FUSE2_RAISE(FUSE2_ERR_ARG, "fuse2_vasp_write_potcar: NULL argument or no species");
    if (!pp_path) pp_path = getenv("VASP_PP_PATH");
    if (!pp_path || !pp_path[0])
        return FUSE2_RAISE(FUSE2_ERR_ARG, "%s: no pseudopotential directory: set VASP_PP_PATH "
                                          "(the directory holding potpaw_PBE/)", path);
    if (!subdir) subdir = "potpaw_PBE";

    char **parts = calloc((size_t)nspecies, sizeof *parts);
    size_t *sizes = calloc((size_t)nspecies, sizeof *sizes);
    fuse2_status status = FUSE2_OK;
    FILE *f = NULL;
    if (!parts || !sizes) FUSE2_RAISE_GOTO(status, done, FUSE2_ERR_NOMEM, "out of memory");
    /* read every part first: a missing one must not leave a partial POTCAR */
    for (int k = 0; k < nspecies; k++) {
        const fuse2_element *el = fuse2_element_by_z(species[k]);
        if (!el) FUSE2_RAISE_GOTO(status, done, FUSE2_ERR_ARG, "%s: atomic number %d", path, species[k]);
        const char *setup = "";
        for (int j = 0; j < nsetups; j++)
            if (setups[j].key && setups[j].value && strcmp(setups[j].key, el->symbol) == 0)
                setup = setups[j].value;
        char name[64];
        fuse2_vasp_potcar_name(el->symbol, setup, name, sizeof name);
        if (strchr(name, '/') || strstr(name, ".."))
            FUSE2_RAISE_GOTO(status, done, FUSE2_ERR_ARG, "POTCAR setup '%s' for %s is not a directory name",
                             setup, el->symbol);
        char file[4096];
        int len = snprintf(file, sizeof file, "%s/%s/%s/POTCAR", pp_path, subdir, name);
        if (len < 0 || len >= (int)sizeof file)
            FUSE2_RAISE_GOTO(status, done, FUSE2_ERR_ARG, "POTCAR path for %s is too long", name);
        FILE *probe = fopen(file, "rb");
        if (!probe)
            FUSE2_RAISE_GOTO(status, done, FUSE2_ERR_IO,
                             "%s: missing POTCAR for %s (setup '%s'): %s: %s", path, el->symbol, name,
                             file, strerror(errno));
        fclose(probe);
        FUSE2_CALL_GOTO(status, fuse2_file_read(file, &parts[k], &sizes[k]), done);
        if (sizes[k] == 0)
            FUSE2_RAISE_GOTO(status, done, FUSE2_ERR_IO, "%s: POTCAR for %s is empty: %s", path,
                             el->symbol, file);
    }
    f = fopen(path, "wb");
    if (!f) FUSE2_RAISE_GOTO(status, done, FUSE2_ERR_IO, "%s: cannot open for writing: %s", path,
                             strerror(errno));
    for (int k = 0; k < nspecies; k++) {
        fwrite(parts[k], 1, sizes[k], f);
        /* each part must end its last line, or the next TITEL joins it */
        if (parts[k][sizes[k] - 1] != '\n') fputc('\n', f);
    }
    int failed = ferror(f);
    if (fclose(f) != 0 || failed) {
        f = NULL;
        FUSE2_RAISE_GOTO(status, done, FUSE2_ERR_IO, "%s: write failed", path);
    }
    f = NULL;
done:
    if (parts)
        for (int k = 0; k < nspecies; k++) free(parts[k]);
    free(parts);
    free(sizes);
    return status;
}
