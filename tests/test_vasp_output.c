/* VASP: output parsers on the real shared run (../shared/testdata/vasp/
 * nboc-relax, VASP 5.4.4, Nb16C8O8) and on edited copies of it (fatal
 * errors, no convergence, truncation, NaN), failure classification, and the
 * input writers (POSCAR order, INCAR, KPOINTS, POTCAR from fake files). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "testutil.h"

#include "fuse2/external.h"
#include "fuse2/structure_io.h"
#include "fuse2/vasp.h"

#define RUN "testdata/vasp/nboc-relax/"

/* Values printed in the shared OUTCAR (last ionic step) */
static const double E0_REF = -253.79850546;
static const double TOTEN_REF = -253.88059011;

/* ---- helpers ---- */

static const char *tmp_path(const char *name)
{
    static char buf[4][1024];
    static int next;
    char *p = buf[next++ % 4];
    snprintf(p, sizeof buf[0], "%s/%s", test_tmpdir(), name);
    return p;
}

/* The shared .gz files, unpacked once into the test directory. */
static const char *unpacked(const char *file)
{
    const char *out = tmp_path(file);
    struct stat st;
    if (stat(out, &st) != 0) {
        char cmd[4096];
        snprintf(cmd, sizeof cmd, "gzip -dc '%s%s.gz' > '%s'", test_shared_path(RUN), file, out);
        if (test_run_capture(cmd, NULL) != 0) fail_msg("cannot run: %s", cmd);
    }
    return out;
}

static char *read_or_fail(const char *path)
{
    char *t = test_read_file(path);
    if (!t) fail_msg("cannot read %s", path);
    return t;
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f) fail_msg("cannot write %s", path);
    fputs(text, f);
    fclose(f);
}

/* A run directory tmp/<name> with copies of the shared run; outcar (NULL:
 * the original) replaces the OUTCAR text, stdout_text (NULL: none) is
 * vasp.out, contcar 0 leaves CONTCAR out. */
static const char *make_run(const char *name, const char *outcar, const char *stdout_text,
                            int contcar)
{
    static char dir[1024];
    snprintf(dir, sizeof dir, "%s/%s", test_tmpdir(), name);
    mkdir(dir, 0700);
    char path[1200], cmd[4096];
    char *full = NULL;
    if (!outcar) outcar = full = read_or_fail(unpacked("OUTCAR"));
    snprintf(path, sizeof path, "%s/OUTCAR", dir);
    write_text(path, outcar);
    free(full);
    snprintf(cmd, sizeof cmd, "cp '%s' '%s/vasprun.xml' && cp '%sOSZICAR' '%s/'",
             unpacked("vasprun.xml"), dir, test_shared_path(RUN), dir);
    if (test_run_capture(cmd, NULL) != 0) fail_msg("cannot run: %s", cmd);
    if (contcar) {
        snprintf(cmd, sizeof cmd, "cp '%sCONTCAR' '%s/'", test_shared_path(RUN), dir);
        if (test_run_capture(cmd, NULL) != 0) fail_msg("cannot run: %s", cmd);
    }
    if (stdout_text) {
        snprintf(path, sizeof path, "%s/vasp.out", dir);
        write_text(path, stdout_text);
    }
    return dir;
}

/* text with the last occurrence of `from` replaced by `to` (malloc'ed). */
static char *replace_last(const char *text, const char *from, const char *to)
{
    const char *hit = NULL, *p = text;
    while ((p = strstr(p, from))) hit = p++;
    if (!hit) fail_msg("'%s' not found", from);
    size_t head = (size_t)(hit - text), n = strlen(text) - strlen(from) + strlen(to) + 1;
    char *out = malloc(n);
    memcpy(out, text, head);
    strcpy(out + head, to);
    strcat(out, hit + strlen(from));
    return out;
}

/* text cut before the last occurrence of `marker` (malloc'ed). */
static char *cut_before_last(const char *text, const char *marker)
{
    const char *hit = NULL, *p = text;
    while ((p = strstr(p, marker))) hit = p++;
    if (!hit) fail_msg("'%s' not found", marker);
    size_t n = (size_t)(hit - text);
    char *out = malloc(n + 1);
    memcpy(out, text, n);
    out[n] = '\0';
    return out;
}

/* ---- OUTCAR / OSZICAR / vasprun.xml / CONTCAR on the real run ---- */

static void test_outcar_real_run(void **state)
{
    (void)state;
    fuse2_vasp_outcar o;
    ASSERT_OK(fuse2_vasp_outcar_read(unpacked("OUTCAR"), &o));
    assert_string_equal(o.version, "vasp.5.4.4.18Apr17-6-g9f103f2a35");
    assert_int_equal(o.nions, 32);
    assert_int_equal(o.nsw, 60);
    assert_int_equal(o.ibrion, 2);
    assert_int_equal(o.nelm, 100);
    assert_int_equal(o.ionic_steps, 49);
    /* the ionic-step line with dispersion, not the per-SCF -243.19755354 */
    ASSERT_NEAR(o.free_energy, TOTEN_REF, 1e-9);
    ASSERT_NEAR(o.energy_sigma0, E0_REF, 1e-9);
    assert_false(o.energy_nonfinite);
    assert_true(o.reached_accuracy);
    assert_true(o.normal_end);
    assert_string_equal(o.signature, "");
    assert_int_equal(o.nspecies, 3);
    assert_int_equal(o.species[0], 41);
    assert_int_equal(o.species[1], 6);
    assert_int_equal(o.species[2], 8);
    assert_int_equal(o.counts[0], 16);
    assert_int_equal(o.counts[1], 8);
    assert_int_equal(o.counts[2], 8);
    /* last TOTAL-FORCE block: rows 5 and 32 */
    assert_true(o.has_forces);
    ASSERT_NEAR(o.forces[4][0], 0.0, 1e-12);
    ASSERT_NEAR(o.forces[4][1], -0.034504, 1e-12);
    ASSERT_NEAR(o.forces[4][2], 0.026586, 1e-12);
    ASSERT_NEAR(o.forces[31][0], 0.039107, 1e-12);
    ASSERT_NEAR(o.forces[31][1], -0.039107, 1e-12);
    ASSERT_NEAR(o.positions[4][1], 6.93322, 1e-12);
    /* last lattice: "5.503416441  5.503416441  5.503416441" */
    assert_true(o.has_lattice);
    ASSERT_NEAR(o.lattice[1][1], -5.503416441, 1e-12);
    /* "in kB 0.57230 0.57230 0.57230 -0.00000 0.00000 0.00000": a pressure
     * of +0.5723 kbar (cell wants to expand) is sigma = -0.5723 / 1602.1766208
     * = -3.572015672743e-4 eV/A^3 on the diagonal */
    assert_true(o.has_stress);
    ASSERT_NEAR(o.stress_kbar[0], 0.57230, 1e-12);
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            ASSERT_NEAR(o.stress[i][j], i == j ? -3.572015672743e-4 : 0.0, 1e-15);
    fuse2_vasp_outcar_free(&o);
}

static void test_contcar_equals_last_outcar_geometry(void **state)
{
    (void)state;
    fuse2_vasp_outcar o;
    ASSERT_OK(fuse2_vasp_outcar_read(unpacked("OUTCAR"), &o));
    fuse2_structure from_outcar = {0}, contcar = {0};
    ASSERT_OK(fuse2_vasp_outcar_structure(&o, &from_outcar));
    ASSERT_OK(fuse2_poscar_read(test_shared_path(RUN "CONTCAR"), &contcar));
    assert_int_equal(contcar.natoms, 32);
    assert_int_equal(from_outcar.natoms, 32);
    /* the OUTCAR prints the lattice with 9 decimals */
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) ASSERT_NEAR(from_outcar.lattice[i][j], contcar.lattice[i][j], 1e-9);
    /* and positions with 5 decimals (Cartesian, not wrapped): compare modulo
     * lattice vectors */
    for (int a = 0; a < 32; a++) {
        assert_int_equal(from_outcar.species[a], contcar.species[a]);
        double df[3], dc[3] = {0, 0, 0};
        for (int d = 0; d < 3; d++) {
            df[d] = from_outcar.frac[a][d] - contcar.frac[a][d];
            df[d] -= round(df[d]);
        }
        for (int d = 0; d < 3; d++)
            for (int k = 0; k < 3; k++) dc[d] += df[k] * contcar.lattice[k][d];
        ASSERT_NEAR(sqrt(dc[0] * dc[0] + dc[1] * dc[1] + dc[2] * dc[2]), 0.0, 1e-5);
    }
    fuse2_structure_free(&from_outcar);
    fuse2_structure_free(&contcar);
    fuse2_vasp_outcar_free(&o);
}

static void test_oszicar_real_run(void **state)
{
    (void)state;
    fuse2_vasp_oszicar o;
    ASSERT_OK(fuse2_vasp_oszicar_read(test_shared_path(RUN "OSZICAR"), &o));
    assert_int_equal(o.ionic_steps, 49);
    /* "49 F= -.25388059E+03 E0= -.25379851E+03" */
    ASSERT_NEAR(o.free_energy, -253.88059, 1e-9);
    ASSERT_NEAR(o.energy_sigma0, -253.79851, 1e-9);
    ASSERT_NEAR(o.energy_sigma0, E0_REF, 1e-5);
    assert_int_equal(o.scf_steps_last, 5);  /* OUTCAR: Iteration 49(5) */
    assert_int_equal(o.scf_steps_total, 455); /* grep -c 'DAV:' */
    assert_false(o.energy_nonfinite);
}

static void test_vasprun_real_run_mislabelled_energy(void **state)
{
    (void)state;
    fuse2_vasp_vasprun v;
    ASSERT_OK(fuse2_vasp_vasprun_read(unpacked("vasprun.xml"), &v));
    assert_int_equal(v.ionic_steps, 49);
    assert_false(v.truncated);
    /* e_wo_entrp holds E(sigma->0), e_0_energy holds -TS = -0.16416931 */
    assert_true(v.mislabelled);
    ASSERT_NEAR(v.free_energy, TOTEN_REF, 1e-9);
    ASSERT_NEAR(v.energy_sigma0, E0_REF, 1e-9);
}

static void test_vasprun_truncated_and_correctly_labelled(void **state)
{
    (void)state;
    char *text = read_or_fail(unpacked("vasprun.xml"));
    size_t n = strlen(text);
    /* cut in the middle: only complete <calculation> blocks count */
    text[n / 2] = '\0';
    fuse2_vasp_vasprun v;
    ASSERT_OK(fuse2_vasp_vasprun_parse_string(text, "vasprun.xml", &v));
    assert_true(v.truncated);
    assert_true(v.ionic_steps > 0 && v.ionic_steps < 49);
    assert_true(isfinite(v.energy_sigma0));
    assert_true(v.mislabelled);
    /* cut inside the first calculation: nothing complete */
    char *first = strstr(text, "</calculation>");
    assert_non_null(first);
    first[-1] = '\0';
    ASSERT_OK(fuse2_vasp_vasprun_parse_string(text, "vasprun.xml", &v));
    assert_true(v.truncated);
    assert_int_equal(v.ionic_steps, 0);
    assert_true(isnan(v.energy_sigma0));
    free(text);
    /* a correctly labelled block (E0 between F and E): taken as it is */
    const char *ok = "<modeling><calculation><scstep><energy><i name=\"e_fr_energy\"> 1 </i>"
                     "</energy></scstep><energy>\n"
                     "<i name=\"e_fr_energy\">  -10.2 </i>\n<i name=\"e_wo_entrp\">  -10.0 </i>\n"
                     "<i name=\"e_0_energy\">  -10.1 </i>\n</energy></calculation></modeling>\n";
    ASSERT_OK(fuse2_vasp_vasprun_parse_string(ok, "x.xml", &v));
    assert_false(v.truncated);
    assert_false(v.mislabelled);
    assert_int_equal(v.ionic_steps, 1);
    ASSERT_NEAR(v.energy_sigma0, -10.1, 1e-12);
    ASSERT_NEAR(v.free_energy, -10.2, 1e-12);
}

/* ---- a whole run directory ---- */

static void test_parse_run_real(void **state)
{
    (void)state;
    const char *dir = make_run("real", NULL, NULL, 1);
    fuse2_ext_output out;
    fuse2_ext_output_init(&out);
    ASSERT_OK(fuse2_vasp_parse_run(dir, NULL, &out));
    assert_string_equal(fuse2_ext_outcome_name(out.outcome), "converged");
    assert_string_equal(out.reason, "");
    assert_string_equal(out.signature, "");
    ASSERT_NEAR(out.energy, E0_REF, 1e-9);
    assert_int_equal(out.ionic_steps, 49);
    assert_true(out.has_structure);
    assert_int_equal(out.structure.natoms, 32);
    char formula[64];
    fuse2_structure_formula(&out.structure, formula, sizeof formula);
    assert_string_equal(formula, "C8Nb16O8");
    ASSERT_NEAR(fuse2_structure_volume(&out.structure), 666.740938425626, 1e-9);
    assert_true(out.has_forces);
    ASSERT_NEAR(out.forces[16][2], 0.040620, 1e-12);
    assert_true(out.has_stress);
    ASSERT_NEAR(out.stress[2][2], -0.57230 / 1602.1766208, 1e-15);
    fuse2_ext_output_free(&out);
}

static void test_parse_run_without_contcar_uses_outcar_geometry(void **state)
{
    (void)state;
    const char *dir = make_run("no-contcar", NULL, NULL, 0);
    fuse2_ext_output out;
    fuse2_ext_output_init(&out);
    ASSERT_OK(fuse2_vasp_parse_run(dir, NULL, &out));
    assert_int_equal(out.outcome, FUSE2_EXT_CONVERGED);
    assert_true(out.has_structure);
    assert_int_equal(out.structure.natoms, 32);
    ASSERT_NEAR(fuse2_structure_volume(&out.structure), 666.74, 0.005);
    fuse2_ext_output_free(&out);
}

static void expect_outcome(const char *name, const char *outcar, const char *stdout_text,
                           fuse2_ext_outcome outcome, const char *signature, const char *reason_part)
{
    const char *dir = make_run(name, outcar, stdout_text, 1);
    fuse2_ext_output out;
    fuse2_ext_output_init(&out);
    ASSERT_OK(fuse2_vasp_parse_run(dir, NULL, &out));
    if (out.outcome != outcome)
        fail_msg("%s: outcome %s (%s), expected %s", name, fuse2_ext_outcome_name(out.outcome),
                 out.reason, fuse2_ext_outcome_name(outcome));
    assert_string_equal(out.signature, signature);
    if (reason_part && !strstr(out.reason, reason_part))
        fail_msg("%s: reason '%s' lacks '%s'", name, out.reason, reason_part);
    fuse2_ext_output_free(&out);
}

static void test_parse_run_failure_variants(void **state)
{
    (void)state;
    char *outcar = read_or_fail(unpacked("OUTCAR"));
    char *t;

    /* a fatal message in the OUTCAR */
    t = replace_last(outcar, " reached required accuracy",
                     " ZBRENT: fatal error in bracketing\n reached required accuracy");
    expect_outcome("zbrent", t, NULL, FUSE2_EXT_CRASHED, "ZBRENT", "OUTCAR line");
    free(t);

    /* a symmetry error seen only in stdout, with a truncated OUTCAR */
    t = cut_before_last(outcar, "free  energy   TOTEN");
    expect_outcome("pricel", t, "running on 4 nodes\n VERY BAD NEWS! internal error in subroutine PRICEL "
                                "(number of k-points):\n",
                   FUSE2_EXT_CRASHED, "PRICEL", "vasp.out line 2");
    free(t);

    /* NSW ran out: normal end without "reached required accuracy" */
    t = replace_last(outcar, " reached required accuracy - stopping structural energy minimisation",
                     "");
    expect_outcome("nsw", t, NULL, FUSE2_EXT_NOT_CONVERGED, "", "without 'reached required accuracy'");
    free(t);

    /* cut before the final energy: truncated */
    t = cut_before_last(outcar, "free  energy   TOTEN");
    expect_outcome("cut", t, NULL, FUSE2_EXT_UNPARSABLE, "", "truncated");
    free(t);

    /* only the header left (the OSZICAR energy is then reported, but the
     * run is still truncated) */
    t = cut_before_last(outcar, "POSITION");
    t[20000] = '\0';
    expect_outcome("header-only", t, NULL, FUSE2_EXT_UNPARSABLE, "", NULL);
    free(t);

    /* NaN and Fortran overflow in the final energies */
    t = replace_last(outcar, "-253.88059011 eV", "NaN eV");
    char *t2 = replace_last(t, "-253.79850546", "NaN");
    expect_outcome("nan", t2, NULL, FUSE2_EXT_NON_FINITE, "", "non-finite");
    free(t);
    free(t2);
    t = replace_last(outcar, "-253.79850546", "**************");
    expect_outcome("stars", t, NULL, FUSE2_EXT_NON_FINITE, "", "non-finite");
    free(t);
    t = replace_last(outcar, "  in kB       0.57230", "  in kB  ***********");
    expect_outcome("stress-stars", t, NULL, FUSE2_EXT_NON_FINITE, "", "stress");
    free(t);

    /* a warning VASP survives: kept when the run converged and finished */
    t = replace_last(outcar, " reached required accuracy",
                     " WARNING: Sub-Space-Matrix is not hermitian in DAV\n reached required accuracy");
    expect_outcome("hermitian", t, NULL, FUSE2_EXT_CONVERGED, "HERMITIAN", "warning");
    char *t3 = cut_before_last(t, " General timing");
    expect_outcome("hermitian-cut", t3, NULL, FUSE2_EXT_CRASHED, "HERMITIAN", NULL);
    free(t3);
    free(t);

    /* the last ionic step's SCF hit NELM (5 DAV steps in the shared run) */
    t = replace_last(outcar, "NELM   =    100;", "NELM   =      5;");
    expect_outcome("nelm", t, NULL, FUSE2_EXT_NOT_CONVERGED, "", "NELM");
    free(t);

    /* empty file and missing OUTCAR */
    expect_outcome("empty", "", NULL, FUSE2_EXT_UNPARSABLE, "", NULL);
    free(outcar);

    const char *dir = tmp_path("nothing");
    mkdir(dir, 0700);
    fuse2_ext_output out;
    fuse2_ext_output_init(&out);
    ASSERT_OK(fuse2_vasp_parse_run(dir, NULL, &out));
    assert_int_equal(out.outcome, FUSE2_EXT_UNPARSABLE);
    assert_true(isnan(out.energy));
    assert_int_equal(out.ionic_steps, -1);
    assert_non_null(strstr(out.reason, "OUTCAR is missing"));
    fuse2_ext_output_free(&out);
}

static void test_error_signatures_and_classes(void **state)
{
    (void)state;
    static const struct {
        const char *line, *signature;
        fuse2_vasp_fix_class fix;
    } cases[] = {
        {" ZBRENT: fatal error in bracketing", "ZBRENT", FUSE2_VASP_FIX_IONIC},
        {" BRMIX: very serious problems", "BRMIX", FUSE2_VASP_FIX_ELECTRONIC},
        {"Error EDDDAV: Call to ZHEGV failed. Returncode = 8 1 16", "EDDDAV", FUSE2_VASP_FIX_ELECTRONIC},
        {"WARNING in EDDRMM: call to ZHEGV failed, returncode = 6 3 16", "ZHEGV", FUSE2_VASP_FIX_ELECTRONIC},
        {" WARNING: Sub-Space-Matrix is not hermitian in DAV   4", "HERMITIAN", FUSE2_VASP_FIX_ELECTRONIC},
        {" ERROR: TOO FEW BANDS !!", "NBANDS", FUSE2_VASP_FIX_BANDS},
        {" internal error in subroutine PRICEL", "PRICEL", FUSE2_VASP_FIX_SYMMETRY},
        {" POSMAP internal error: symmetry equivalent atom not found,", "POSMAP", FUSE2_VASP_FIX_SYMMETRY},
        {" VERY BAD NEWS! internal error in subroutine IBZKPT:", "IBZKPT", FUSE2_VASP_FIX_SYMMETRY},
        {" RHOSYG internal error: stars are not distinct", "RHOSYG", FUSE2_VASP_FIX_SYMMETRY},
        {" Found some non-integer element in rotation matrix", "ROTATION_MATRIX", FUSE2_VASP_FIX_SYMMETRY},
        {" ERROR: the triple product of the basis vectors", "TRIPLE_PRODUCT", FUSE2_VASP_FIX_LATTICE},
        {" LAPACK: Routine ZPOTRF failed!", "ZPOTRF", FUSE2_VASP_FIX_ELECTRONIC},
        {" BRIONS problems: POTIM should be increased", "BRIONS", FUSE2_VASP_FIX_IONIC},
        {" EDWAV: internal error, the gradient is not orthogonal", "EDWAV", FUSE2_VASP_FIX_ELECTRONIC},
        {"forrtl: severe (174): SIGSEGV, segmentation fault occurred", "SEGFAULT", FUSE2_VASP_FIX_NONE},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char text[256];
        snprintf(text, sizeof text, "first line\n\n%s\nlast line", cases[k].line);
        int line = 0;
        const char *sig = fuse2_vasp_find_error(text, &line);
        if (!sig || strcmp(sig, cases[k].signature) != 0)
            fail_msg("'%s' gave %s, expected %s", cases[k].line, sig ? sig : "NULL",
                     cases[k].signature);
        assert_int_equal(line, 3);
        assert_int_equal(fuse2_vasp_signature_class(sig), cases[k].fix);
    }
    assert_null(fuse2_vasp_find_error("all fine\n", NULL));
    assert_null(fuse2_vasp_find_error(NULL, NULL));
    assert_string_equal(fuse2_vasp_fix_class_name(fuse2_vasp_signature_class("PRICEL")), "symmetry");
    assert_int_equal(fuse2_vasp_signature_class("nonsense"), FUSE2_VASP_FIX_NONE);
    assert_true(fuse2_vasp_signature_is_warning("HERMITIAN"));
    assert_false(fuse2_vasp_signature_is_warning("ZBRENT"));
    /* the real OUTCAR has none of the messages (no false positives) */
    char *outcar = read_or_fail(unpacked("OUTCAR"));
    assert_null(fuse2_vasp_find_error(outcar, NULL));
    free(outcar);
}

/* ---- writers ---- */

static void test_poscar_writer_species_order_round_trip(void **state)
{
    (void)state;
    fuse2_structure s = {0}, back = {0};
    ASSERT_OK(fuse2_poscar_read(test_shared_path(RUN "POSCAR"), &s));
    /* shuffle: move the first Nb to the end so the order is not trivial */
    fuse2_structure shuffled = {0};
    ASSERT_OK(fuse2_structure_init(&shuffled, s.natoms));
    memcpy(shuffled.lattice, s.lattice, sizeof s.lattice);
    for (int i = 1; i < s.natoms; i++) ASSERT_OK(fuse2_structure_add_atom(&shuffled, s.species[i], s.frac[i]));
    ASSERT_OK(fuse2_structure_add_atom(&shuffled, s.species[0], s.frac[0]));

    const int preferred[] = {8, 41, 6, 26}; /* O Nb C, Fe absent */
    int species[FUSE2_VASP_MAX_SPECIES], nspecies = 0;
    ASSERT_OK(fuse2_vasp_species_order(&shuffled, preferred, 4, species, &nspecies));
    assert_int_equal(nspecies, 3);
    assert_int_equal(species[0], 8);
    assert_int_equal(species[1], 41);
    assert_int_equal(species[2], 6);

    int perm[32];
    const char *path = tmp_path("POSCAR.written");
    ASSERT_OK(fuse2_vasp_write_poscar(path, &shuffled, species, nspecies, "test", perm));
    char *text = read_or_fail(path);
    assert_non_null(strstr(text, "\n    O   Nb    C\n    8   16    8\nDirect\n"));
    free(text);
    ASSERT_OK(fuse2_poscar_read(path, &back));
    assert_int_equal(back.natoms, 32);
    for (int k = 0; k < 32; k++) {
        int i = perm[k];
        assert_int_equal(back.species[k], shuffled.species[i]);
        for (int d = 0; d < 3; d++) {
            double df = back.frac[k][d] - shuffled.frac[i][d];
            ASSERT_NEAR(df - round(df), 0.0, 1e-15);
        }
    }
    assert_int_equal(perm[0], 23); /* first O of the shuffled list (Nb 15, C 8 before) */
    assert_int_equal(perm[8 + 15], 31); /* the moved Nb ends the Nb group */
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) ASSERT_NEAR(back.lattice[i][j], shuffled.lattice[i][j], 1e-15);

    /* results in POSCAR order map back to the shuffled order */
    fuse2_ext_output out;
    fuse2_ext_output_init(&out);
    ASSERT_OK(fuse2_structure_copy(&out.structure, &back));
    out.has_structure = 1;
    out.forces = calloc(32, sizeof *out.forces);
    out.has_forces = 1;
    for (int k = 0; k < 32; k++) out.forces[k][0] = k;
    ASSERT_OK(fuse2_vasp_unpermute_output(&out, perm, 32));
    for (int k = 0; k < 32; k++) {
        assert_int_equal(out.structure.species[perm[k]], shuffled.species[perm[k]]);
        ASSERT_NEAR(out.forces[perm[k]][0], k, 0);
    }
    fuse2_ext_output_free(&out);

    /* a species of the structure missing from the list is refused */
    const int only_o[] = {8};
    assert_int_equal(fuse2_vasp_write_poscar(path, &shuffled, only_o, 1, NULL, NULL), FUSE2_ERR_ARG);
    test_assert_error_contains("not in the POTCAR order");
    fuse2_structure_free(&s);
    fuse2_structure_free(&back);
    fuse2_structure_free(&shuffled);
}

static void test_incar_and_kpoints(void **state)
{
    (void)state;
    const fuse2_vasp_kv tags[] = {{"PREC", "Fast"}, {"encut", "520"}, {"EDIFFG", "-0.03"},
                                  {"KSPACING", "0.5"}, {"KGAMMA", ".TRUE."}};
    const char *incar = tmp_path("INCAR");
    ASSERT_OK(fuse2_vasp_write_incar(incar, tags, 5, NULL));
    char *text = read_or_fail(incar);
    assert_string_equal(text, "PREC = Fast\nENCUT = 520\nEDIFFG = -0.03\nKSPACING = 0.5\nKGAMMA = .TRUE.\n");
    free(text);

    /* KSPACING and a KPOINTS file: VASP would ignore KSPACING */
    fuse2_vasp_kpoints mesh = {.mode = FUSE2_VASP_KPOINTS_MONKHORST, .mesh = {2, 2, 2}};
    assert_int_equal(fuse2_vasp_write_incar(incar, tags, 5, &mesh), FUSE2_ERR_ARG);
    test_assert_error_contains("KSPACING");
    assert_int_equal(fuse2_vasp_check_kpoints_conflict(tags, 5, &mesh), FUSE2_ERR_ARG);
    fuse2_vasp_kpoints none = {.mode = FUSE2_VASP_KPOINTS_NONE};
    ASSERT_OK(fuse2_vasp_check_kpoints_conflict(tags, 5, &none));
    ASSERT_OK(fuse2_vasp_write_incar(incar, tags, 3, &mesh)); /* without KSPACING */

    const fuse2_vasp_kv dup[] = {{"ISYM", "0"}, {"isym", "2"}};
    assert_int_equal(fuse2_vasp_write_incar(incar, dup, 2, NULL), FUSE2_ERR_ARG);
    test_assert_error_contains("twice");
    const fuse2_vasp_kv bad[] = {{"EN CUT", "520"}};
    assert_int_equal(fuse2_vasp_write_incar(incar, bad, 1, NULL), FUSE2_ERR_ARG);
    const fuse2_vasp_kv empty[] = {{"ENCUT", "  "}};
    assert_int_equal(fuse2_vasp_write_incar(incar, empty, 1, NULL), FUSE2_ERR_ARG);

    /* KPOINTS: the shared run's 2x2x2 Monkhorst file */
    const char *kp = tmp_path("KPOINTS");
    ASSERT_OK(fuse2_vasp_write_kpoints(kp, &mesh, NULL));
    text = read_or_fail(kp);
    assert_string_equal(text, "Mesh (fuse2)\n0\nMonkhorst-Pack\n2 2 2\n0 0 0\n");
    free(text);

    /* from a spacing: cubic a = 4 A, |b| = 2 pi / 4 = 1.5708 1/A; 0.5 ->
     * ceil(3.14) = 4; orthorhombic c = 9 A: |b3| = 0.6981 -> 2 */
    double lattice[3][3] = {{4, 0, 0}, {0, 4, 0}, {0, 0, 9}};
    int m[3];
    ASSERT_OK(fuse2_vasp_kspacing_mesh(lattice, 0.5, m));
    assert_int_equal(m[0], 4);
    assert_int_equal(m[1], 4);
    assert_int_equal(m[2], 2);
    ASSERT_OK(fuse2_vasp_kspacing_mesh(lattice, 10.0, m)); /* at least 1 */
    assert_int_equal(m[2], 1);
    assert_int_equal(fuse2_vasp_kspacing_mesh(lattice, 0.0, m), FUSE2_ERR_ARG);
    fuse2_vasp_kpoints gamma = {.mode = FUSE2_VASP_KPOINTS_GAMMA, .spacing = 0.5};
    ASSERT_OK(fuse2_vasp_write_kpoints(kp, &gamma, (const double(*)[3])lattice));
    text = read_or_fail(kp);
    assert_non_null(strstr(text, "\n0\nGamma\n4 4 2\n0 0 0\n"));
    free(text);

    const double pts[2][3] = {{0, 0, 0}, {0.5, 0.5, 0.5}};
    const double w[2] = {1, 8};
    fuse2_vasp_kpoints expl = {.mode = FUSE2_VASP_KPOINTS_EXPLICIT, .npoints = 2, .points = pts, .weights = w};
    ASSERT_OK(fuse2_vasp_write_kpoints(kp, &expl, NULL));
    text = read_or_fail(kp);
    assert_non_null(strstr(text, "\n2\nReciprocal\n"));
    assert_non_null(strstr(text, "0.50000000000000 8\n"));
    free(text);
    assert_int_equal(fuse2_vasp_write_kpoints(kp, &none, NULL), FUSE2_ERR_ARG);
}

static void write_fake_potcar(const char *dir_name, const char *content)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/pp/potpaw_PBE", test_tmpdir());
    mkdir(tmp_path("pp"), 0700);
    mkdir(path, 0700);
    snprintf(path, sizeof path, "%s/pp/potpaw_PBE/%s", test_tmpdir(), dir_name);
    mkdir(path, 0700);
    strcat(path, "/POTCAR");
    write_text(path, content);
}

static void test_potcar_concatenation(void **state)
{
    (void)state;
    /* fake files only: a real POTCAR must never be committed */
    write_fake_potcar("Nb_sv", "  PAW_PBE Nb_sv 25May2007\n fake Nb_sv\n End of Dataset\n");
    write_fake_potcar("Nb", "  PAW_PBE Nb 25May2007\n");
    write_fake_potcar("C", "  PAW_PBE C 08Apr2002\n End of Dataset\n");
    write_fake_potcar("O", "  PAW_PBE O 08Apr2002\n End of Dataset"); /* no final newline */
    write_fake_potcar("Ca_sv", "  PAW_PBE Ca_sv 06Sep2000\n");
    const char *pp = tmp_path("pp");
    const char *out = tmp_path("POTCAR");

    const int nbco[] = {41, 6, 8};
    const fuse2_vasp_kv setups[] = {{"Nb", "_sv"}, {"Ca", "Ca_sv"}};
    ASSERT_OK(fuse2_vasp_write_potcar(out, nbco, 3, pp, NULL, setups, 2));
    char *text = read_or_fail(out);
    assert_string_equal(text, "  PAW_PBE Nb_sv 25May2007\n fake Nb_sv\n End of Dataset\n"
                              "  PAW_PBE C 08Apr2002\n End of Dataset\n"
                              "  PAW_PBE O 08Apr2002\n End of Dataset\n");
    free(text);

    /* order follows the species list; "Ca_sv" as a full name; no setup: bare */
    const int order2[] = {8, 20, 41};
    ASSERT_OK(fuse2_vasp_write_potcar(out, order2, 3, pp, "potpaw_PBE", setups + 1, 1));
    text = read_or_fail(out);
    assert_string_equal(text, "  PAW_PBE O 08Apr2002\n End of Dataset\n"
                              "  PAW_PBE Ca_sv 06Sep2000\n  PAW_PBE Nb 25May2007\n");
    free(text);

    /* a missing element names the file it looked for; nothing is written */
    remove(out);
    const int sr[] = {8, 38};
    assert_int_equal(fuse2_vasp_write_potcar(out, sr, 2, pp, NULL, NULL, 0), FUSE2_ERR_IO);
    test_assert_error_contains("missing POTCAR for Sr");
    test_assert_error_contains("potpaw_PBE/Sr/POTCAR");
    struct stat st;
    assert_int_not_equal(stat(out, &st), 0);
    /* a suffix naming a missing setup */
    const fuse2_vasp_kv pv[] = {{"O", "_h"}};
    assert_int_equal(fuse2_vasp_write_potcar(out, nbco + 2, 1, pp, NULL, pv, 1), FUSE2_ERR_IO);
    test_assert_error_contains("O_h/POTCAR");

    /* VASP_PP_PATH when no directory is given */
    setenv("VASP_PP_PATH", pp, 1);
    ASSERT_OK(fuse2_vasp_write_potcar(out, nbco + 1, 1, NULL, NULL, NULL, 0));
    text = read_or_fail(out);
    assert_string_equal(text, "  PAW_PBE C 08Apr2002\n End of Dataset\n");
    free(text);
    unsetenv("VASP_PP_PATH");
    assert_int_equal(fuse2_vasp_write_potcar(out, nbco, 3, NULL, NULL, NULL, 0), FUSE2_ERR_ARG);
    test_assert_error_contains("VASP_PP_PATH");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_outcar_real_run),
        cmocka_unit_test(test_contcar_equals_last_outcar_geometry),
        cmocka_unit_test(test_oszicar_real_run),
        cmocka_unit_test(test_vasprun_real_run_mislabelled_energy),
        cmocka_unit_test(test_vasprun_truncated_and_correctly_labelled),
        cmocka_unit_test(test_parse_run_real),
        cmocka_unit_test(test_parse_run_without_contcar_uses_outcar_geometry),
        cmocka_unit_test(test_parse_run_failure_variants),
        cmocka_unit_test(test_error_signatures_and_classes),
        cmocka_unit_test(test_poscar_writer_species_order_round_trip),
        cmocka_unit_test(test_incar_and_kpoints),
        cmocka_unit_test(test_potcar_concatenation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
