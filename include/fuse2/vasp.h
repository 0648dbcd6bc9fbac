/* VASP: input writers (POSCAR, INCAR, KPOINTS, POTCAR) and output parsers
 * (OUTCAR, OSZICAR, vasprun.xml, CONTCAR) as pure library functions. No
 * process is started here: the driver runs VASP, these functions prepare its
 * directory and judge what it left (docs: ../shared/docs/calculators.md §7).
 *
 * Units: eV, Å, eV/Å, eV/Å^3. Stress uses the project's sign (fuse2/calc.h:
 * sigma = (1/V) dE/d(epsilon), negative for a compressed cell); VASP's
 * "in kB" line has the opposite sign and is converted (1 kB = 0.1 GPa,
 * 1 eV/Å^3 = 160.21766208 GPa).
 *
 * The parsers read plain text files (the driver never compresses them) and are
 * lenient by design: a truncated or damaged file is not a parse error but a
 * partial result with flags, so the run can be classified (fuse2_ext_output
 * outcome) rather than lost. They return an error status only when a file
 * cannot be read at all or memory runs out. */
#ifndef FUSE2_VASP_H
#define FUSE2_VASP_H

#include "fuse2/error.h"
#include "fuse2/external.h"
#include "fuse2/structure.h"

#ifdef __cplusplus
extern "C" {
#endif

enum { FUSE2_VASP_MAX_SPECIES = 64 };

/* eV/Å^3 in kB (kbar): 160.21766208 GPa * 10. */
#define FUSE2_VASP_EV_A3_IN_KBAR 1602.1766208

/* A key and value as text (INCAR tags from YAML, POTCAR setups). */
typedef struct fuse2_vasp_kv {
    const char *key;
    const char *value;
} fuse2_vasp_kv;

/* ===================================================================== */
/* Input writers                                                          */
/* ===================================================================== */

/* The species of s in the order VASP will see them (POSCAR and POTCAR):
 * first those of `preferred` (atomic numbers, may be NULL) that occur in s,
 * in that order, then the remaining ones in order of first appearance in s.
 * species_out needs room for FUSE2_VASP_MAX_SPECIES entries. */
fuse2_status fuse2_vasp_species_order(const fuse2_structure *s, const int *preferred,
                                      int npreferred, int *species_out, int *nspecies_out);

/* POSCAR (VASP 5: comment, scale 1.0, lattice, species line, counts, Direct)
 * with the atoms grouped by `species` (atomic numbers, each occurring in s,
 * every species of s listed; see fuse2_vasp_species_order), the order within
 * a species kept. perm (may be NULL) receives s->natoms entries: perm[k] is
 * the index in s of the k-th atom written, so results row k (forces,
 * CONTCAR atom k) belong to atom perm[k] of s. comment may be NULL. */
fuse2_status fuse2_vasp_write_poscar(const char *path, const fuse2_structure *s,
                                     const int *species, int nspecies, const char *comment,
                                     int *perm);

/* Reorders out's structure and forces, which follow the POSCAR order, back to
 * the order of the original structure: row k goes to perm[k]. natoms must
 * equal out's number of atoms (when it has a structure or forces). */
fuse2_status fuse2_vasp_unpermute_output(fuse2_ext_output *out, const int *perm, int natoms);

/* KPOINTS file or none (then KSPACING in INCAR, or VASP's default). */
typedef enum fuse2_vasp_kpoints_mode {
    FUSE2_VASP_KPOINTS_NONE = 0,   /* no KPOINTS file is written */
    FUSE2_VASP_KPOINTS_GAMMA,      /* Gamma-centred mesh */
    FUSE2_VASP_KPOINTS_MONKHORST,  /* Monkhorst-Pack mesh */
    FUSE2_VASP_KPOINTS_EXPLICIT    /* listed points, reciprocal (fractional) coordinates */
} fuse2_vasp_kpoints_mode;

typedef struct fuse2_vasp_kpoints {
    fuse2_vasp_kpoints_mode mode;
    /* Meshes: spacing > 0 gives the mesh from the lattice like VASP's
     * KSPACING (N_i = max(1, ceil(|b_i| / spacing)), |b_i| with the 2 pi,
     * Å^-1); otherwise `mesh` is used as it is. */
    double spacing;
    int mesh[3];
    /* Explicit: npoints rows of fractional reciprocal coordinates and their
     * weights (NULL: all 1). */
    int npoints;
    const double (*points)[3];
    const double *weights;
} fuse2_vasp_kpoints;

/* The mesh VASP's KSPACING = spacing (Å^-1, > 0) gives for the lattice. */
fuse2_status fuse2_vasp_kspacing_mesh(const double lattice[3][3], double spacing, int mesh[3]);

/* Writes KPOINTS for k (mode NONE is an error: write nothing instead). The
 * lattice is used only for a mesh from a spacing. */
fuse2_status fuse2_vasp_write_kpoints(const char *path, const fuse2_vasp_kpoints *k,
                                      const double lattice[3][3]);

/* INCAR: one "KEY = value" line per pair, in the given order, keys upper
 * case. Keys must be letters, digits or '_' and unique (ignoring case);
 * values one non-empty line. kpoints is the KPOINTS file written alongside
 * (NULL or mode NONE: none): a KSPACING tag together with a KPOINTS file is
 * refused, because VASP silently ignores KSPACING when KPOINTS exists. */
fuse2_status fuse2_vasp_write_incar(const char *path, const fuse2_vasp_kv *pairs, int npairs,
                                    const fuse2_vasp_kpoints *kpoints);

/* The same check alone: an error if pairs have KSPACING and kpoints asks for
 * a KPOINTS file. */
fuse2_status fuse2_vasp_check_kpoints_conflict(const fuse2_vasp_kv *pairs, int npairs,
                                               const fuse2_vasp_kpoints *kpoints);

/* The POTCAR directory name of an element under a setup: the setup itself
 * when it names the element ("Ca_sv", pymatgen style), else symbol + setup
 * ("_sv", ASE style; "" = the bare symbol). A setup starting with the
 * symbol but followed by a letter is another element ("Cl" for C). */
void fuse2_vasp_potcar_name(const char *symbol, const char *setup, char *name, size_t size);

/* POTCAR: concatenates <pp_path>/<subdir>/<name>/POTCAR for each species in
 * order (the POSCAR species order), name = symbol + suffix from `setups`
 * (key: element symbol, value: a suffix such as "_sv", or a full directory
 * name starting with the symbol such as "Ca_sv"; no entry: the bare symbol).
 * pp_path NULL: $VASP_PP_PATH; subdir NULL: "potpaw_PBE". A missing or empty
 * file is an error naming its path. The file is written only when every part
 * was found. */
fuse2_status fuse2_vasp_write_potcar(const char *path, const int *species, int nspecies,
                                     const char *pp_path, const char *subdir,
                                     const fuse2_vasp_kv *setups, int nsetups);

/* ===================================================================== */
/* Output parsers                                                         */
/* ===================================================================== */

/* OUTCAR. Energies are those of the ionic-step summary ("free  energy
 * TOTEN  =" with exactly that spacing, which includes e.g. the IVDW
 * dispersion; the per-SCF "free energy    TOTEN" lines do not and are not
 * read) and of the "energy(sigma->0) =" on the line after it. */
typedef struct fuse2_vasp_outcar {
    char version[64];        /* first line's "vasp.5.4.4..." word, "" if none */
    int nions;               /* NIONS, -1 unknown */
    int nsw, ibrion, nelm;   /* from the parameter block, -1/-99 unknown */
    int nspecies;            /* TITEL lines and "ions per type" */
    int species[FUSE2_VASP_MAX_SPECIES];
    int counts[FUSE2_VASP_MAX_SPECIES];
    int ionic_steps;         /* ionic-step TOTEN lines */
    double free_energy;      /* last ionic TOTEN, NAN if none */
    double energy_sigma0;    /* its E(sigma->0), NAN if none */
    int energy_nonfinite;    /* the last ionic energy line had NaN/Inf/"****" */
    int reached_accuracy;    /* "reached required accuracy" */
    int normal_end;          /* "General timing and accounting" */
    /* last complete POSITION/TOTAL-FORCE block (nions rows, Cartesian Å and
     * eV/Å) and the lattice printed before it */
    int has_forces;
    double (*positions)[3];
    double (*forces)[3];
    int forces_nonfinite;    /* a block had NaN/"****" (has_forces is then 0) */
    int has_lattice;
    double lattice[3][3];    /* rows, Å */
    int has_stress;          /* last "in kB" line */
    double stress_kbar[6];   /* as printed: XX YY ZZ XY YZ ZX, VASP sign */
    double stress[3][3];     /* eV/Å^3, project sign */
    int stress_nonfinite;
    /* first recognised fatal error message (fuse2_vasp_find_error) */
    char signature[32];
    int error_line;          /* 1-based line of it, 0 if none */
} fuse2_vasp_outcar;

void fuse2_vasp_outcar_init(fuse2_vasp_outcar *o);
void fuse2_vasp_outcar_free(fuse2_vasp_outcar *o);
/* `o` is (re)initialised; name labels messages. */
fuse2_status fuse2_vasp_outcar_parse_string(const char *text, const char *name,
                                            fuse2_vasp_outcar *o);
fuse2_status fuse2_vasp_outcar_read(const char *path, fuse2_vasp_outcar *o);
/* The final structure of the OUTCAR: last lattice + last complete positions
 * block, species from TITEL/"ions per type". An error if any is missing.
 * `s` initialised or zeroed; replaced. */
fuse2_status fuse2_vasp_outcar_structure(const fuse2_vasp_outcar *o, fuse2_structure *s);

/* OSZICAR: "N F= ... E0= ..." per ionic step, "DAV:"/"RMM:"/... per SCF step. */
typedef struct fuse2_vasp_oszicar {
    int ionic_steps;
    double free_energy;      /* last F=, NAN if none */
    double energy_sigma0;    /* last E0=, NAN if none */
    int energy_nonfinite;
    int scf_steps_last;      /* SCF steps of the last ionic step (of the unfinished one if the file ends in it) */
    int scf_steps_total;
} fuse2_vasp_oszicar;

fuse2_status fuse2_vasp_oszicar_parse_string(const char *text, const char *name,
                                             fuse2_vasp_oszicar *o);
fuse2_status fuse2_vasp_oszicar_read(const char *path, fuse2_vasp_oszicar *o);

/* vasprun.xml, read as text. Only complete <calculation> blocks count; a
 * file without </modeling> is `truncated` (the job died while writing it).
 * Energies come from the last complete calculation's own <energy> block (not
 * the <scstep> ones, which exclude e.g. dispersion). VASP 5.4.4 mislabels
 * that block: "e_wo_entrp" holds E(sigma->0) and "e_0_energy" the entropy
 * term -TS. The rule: E(sigma->0) lies between the free energy and the energy
 * without entropy, so if e_0_energy does, the labels are right; otherwise
 * they are taken as mislabelled and E(sigma->0) = e_wo_entrp. Prefer the
 * OUTCAR's energy anyway. */
typedef struct fuse2_vasp_vasprun {
    int ionic_steps;         /* complete <calculation> blocks */
    int truncated;
    int mislabelled;         /* the rule above found the 5.4.4 labels */
    double free_energy;      /* e_fr_energy, NAN if none */
    double energy_sigma0;    /* after the rule, NAN if none */
    int energy_nonfinite;
} fuse2_vasp_vasprun;

fuse2_status fuse2_vasp_vasprun_parse_string(const char *text, const char *name,
                                             fuse2_vasp_vasprun *o);
fuse2_status fuse2_vasp_vasprun_read(const char *path, fuse2_vasp_vasprun *o);

/* ===================================================================== */
/* Failure classification                                                 */
/* ===================================================================== */

/* Scans text (OUTCAR or the captured stdout) for VASP's fatal error messages
 * (custodian's list) and returns the stable short signature of the first one
 * ("ZBRENT", "BRMIX", "EDDDAV", "ZHEGV", "HERMITIAN", "NBANDS", "PRICEL",
 * "POSMAP", "IBZKPT", "RHOSYG", "ROTATION_MATRIX", "TRIPLE_PRODUCT", "ZPOTRF",
 * ...), or NULL; *line (may be NULL) gets its 1-based line. */
const char *fuse2_vasp_find_error(const char *text, int *line);

/* What a configured retry could change for a signature. */
typedef enum fuse2_vasp_fix_class {
    FUSE2_VASP_FIX_NONE = 0,    /* unknown signature: no retry rule */
    FUSE2_VASP_FIX_SYMMETRY,    /* symmetry analysis failed: retry with ISYM=0 or larger SYMPREC */
    FUSE2_VASP_FIX_ELECTRONIC,  /* diagonalisation/mixing failed: another ALGO, mixing */
    FUSE2_VASP_FIX_IONIC,       /* line search failed: another IBRION/POTIM, restart from CONTCAR */
    FUSE2_VASP_FIX_BANDS,       /* too few bands: raise NBANDS */
    FUSE2_VASP_FIX_LATTICE      /* degenerate/skewed basis: reduce the cell (Niggli) */
} fuse2_vasp_fix_class;

fuse2_vasp_fix_class fuse2_vasp_signature_class(const char *signature);
/* "none", "symmetry", "electronic", "ionic", "bands", "lattice". */
const char *fuse2_vasp_fix_class_name(fuse2_vasp_fix_class c);
/* 1 if VASP continues after printing this message (a warning such as
 * "Sub-Space-Matrix is not hermitian"): a run that still ended normally with
 * "reached required accuracy" is then kept. */
int fuse2_vasp_signature_is_warning(const char *signature);

/* ===================================================================== */
/* A whole run directory                                                  */
/* ===================================================================== */

/* Judges the VASP run in `dir` (OUTCAR, OSZICAR, CONTCAR, vasprun.xml and
 * the captured stdout `stdout_name`, NULL: "vasp.out"; missing files are
 * allowed) into `out` (initialised; reset here). In this order:
 *  - a fatal error message in OUTCAR or stdout: CRASHED with its signature
 *    (a warning-class one only when the run did not end converged);
 *  - no OUTCAR, or no ionic energy in it: UNPARSABLE (NON_FINITE if the
 *    energy line had NaN/"****");
 *  - a non-finite final energy, forces or stress: NON_FINITE;
 *  - no "General timing" block at the end: UNPARSABLE (truncated: the job
 *    died; the driver, which knows the exit status, makes it CRASHED or
 *    TIMED_OUT); the last energy found is still reported;
 *  - "reached required accuracy", or a single point (NSW = 0 / IBRION = -1)
 *    whose last SCF did not hit NELM: CONVERGED; otherwise NOT_CONVERGED.
 * energy: OUTCAR's E(sigma->0) (fallback OSZICAR E0, then vasprun.xml);
 * ionic_steps: OUTCAR's count (fallback OSZICAR); structure: CONTCAR
 * (fallback the OUTCAR's last geometry), atoms in POSCAR order; forces and
 * stress: OUTCAR. Returns an error only for a NULL argument or no memory:
 * everything about the run itself goes into out. */
fuse2_status fuse2_vasp_parse_run(const char *dir, const char *stdout_name,
                                  fuse2_ext_output *out);

#ifdef __cplusplus
}
#endif
#endif
