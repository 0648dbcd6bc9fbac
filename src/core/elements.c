/* Element table for Z = 1..103 and look-ups by symbol and by label.
 *
 * Column sources (data transcribed by hand from the published tables):
 *   name      IUPAC names and spellings (Aluminium, Caesium, Sulfur).
 *   mass      CIAAW/IUPAC standard atomic weights (2021 table); for elements
 *             given as an interval the IUPAC conventional value (H 1.008,
 *             Li 6.94, B 10.81, C 12.011, N 14.007, O 15.999, Mg 24.305,
 *             Si 28.085, S 32.06, Cl 35.45, Ar 39.95, Br 79.904, Tl 204.38,
 *             Pb 207.2). Elements without stable isotopes (Tc, Pm, Po and
 *             Z >= 84 except Th, Pa, U): mass number of the longest-lived
 *             isotope, as is customary (Tc 98, Pm 145, Po 209, Lr 266).
 *   covalent  Cordero et al., Dalton Trans. 2008, 2832 (Å). C is the sp3
 *             value 0.76; Mn, Fe, Co use the high-spin values 1.61, 1.52,
 *             1.50 (low spin 1.39, 1.32, 1.26). Cordero gives nothing for
 *             Z > 96: stored as 0 (ASE stores 0.2 as "missing").
 *   chi       Pauling electronegativity as tabulated by pymatgen
 *             (WebElements/CRC values); 0 for He, Ne, Ar where undefined.
 *   oxidation Common oxidation states as listed by pymatgen's
 *             Element.common_oxidation_states (none for the noble gases).
 *   radii     Shannon, Acta Cryst. A32, 751 (1976), effective ionic radii
 *             (Å) for those common oxidation states that Shannon tabulates:
 *             coordination 6 where tabulated, else the nearest tabulated
 *             coordination (stored beside the radius). High-spin values for
 *             Mn2+, Fe2+, Fe3+, Co2+, Co3+ (consistent with the covalent
 *             column). Shannon's H+ radius is negative (-0.18 Å at CN 2).
 *   fuse      FUSE2 bond_table.py, copied from the project's specification
 *             (docs/fuse2-algorithm.md §2): min/max coordination and VESTA
 *             atomic radius; the upstream placeholder radii 1.00 (Tm, Fr, Cm,
 *             Bk, Cf, No) are kept. He, Ne, Ar, Kr, Rn, Es, Fm, Md, Lr have
 *             no entry upstream: fuse_supported = 0. */
#include "fuse2/elements.h"

#include <ctype.h>
#include <stddef.h>
#include <string.h>

#define E(z_, sym_, name_, mass_, cov_, chi_)                                  \
    .z = (z_), .symbol = (sym_), .name = (name_), .mass = (mass_),             \
    .covalent_radius = (cov_), .electronegativity = (chi_)
#define OX(...)                                                                \
    .n_oxidation_states = (int)(sizeof((const int[]){__VA_ARGS__}) / sizeof(int)), \
    .oxidation_states = {__VA_ARGS__}
#define NO_OX .n_oxidation_states = 0
/* One Shannon radius: charge, radius (Å), coordination number. */
#define R(charge_, radius_, cn_) {(charge_), (radius_), (cn_)}
#define RADII(...)                                                             \
    .n_ionic_radii = (int)(sizeof((const fuse2_ionic_radius[]){__VA_ARGS__}) / \
                           sizeof(fuse2_ionic_radius)),                        \
    .ionic_radii = {__VA_ARGS__}
#define NO_RADII .n_ionic_radii = 0
/* FUSE2 bond_table.py entry in the spec's order: min CN, max CN, radius. */
#define FUSE(min_, max_, radius_)                                              \
    .fuse_supported = 1, .fuse_min_coordination = (min_),                      \
    .fuse_max_coordination = (max_), .fuse_atomic_radius = (radius_)
#define NO_FUSE .fuse_supported = 0

/* Row order is Z order: element_table[z - 1] is element z. */
static const fuse2_element element_table[FUSE2_MAX_Z] = {
    {E(1, "H", "Hydrogen", 1.008, 0.31, 2.20), OX(-1, 1), RADII(R(1, -0.18, 2)), FUSE(1, 2, 0.46)},
    {E(2, "He", "Helium", 4.002602, 0.28, 0.0), NO_OX, NO_RADII, NO_FUSE},
    {E(3, "Li", "Lithium", 6.94, 1.28, 0.98), OX(1), RADII(R(1, 0.76, 6)), FUSE(4, 12, 1.57)},
    {E(4, "Be", "Beryllium", 9.0121831, 0.96, 1.57), OX(2), RADII(R(2, 0.45, 6)), FUSE(3, 12, 1.12)},
    {E(5, "B", "Boron", 10.81, 0.84, 2.04), OX(3), RADII(R(3, 0.27, 6)), FUSE(3, 6, 0.81)},
    {E(6, "C", "Carbon", 12.011, 0.76, 2.55), OX(-4, 4), RADII(R(4, 0.16, 6)), FUSE(3, 6, 0.77)},
    {E(7, "N", "Nitrogen", 14.007, 0.71, 3.04), OX(-3, 3, 5),
     RADII(R(-3, 1.46, 4), R(3, 0.16, 6), R(5, 0.13, 6)), FUSE(3, 6, 0.74)},
    {E(8, "O", "Oxygen", 15.999, 0.66, 3.44), OX(-2), RADII(R(-2, 1.40, 6)), FUSE(2, 8, 0.74)},
    {E(9, "F", "Fluorine", 18.998403162, 0.57, 3.98), OX(-1), RADII(R(-1, 1.33, 6)), FUSE(2, 6, 0.72)},
    {E(10, "Ne", "Neon", 20.1797, 0.58, 0.0), NO_OX, NO_RADII, NO_FUSE},
    {E(11, "Na", "Sodium", 22.98976928, 1.66, 0.93), OX(1), RADII(R(1, 1.02, 6)), FUSE(4, 12, 1.91)},
    {E(12, "Mg", "Magnesium", 24.305, 1.41, 1.31), OX(2), RADII(R(2, 0.72, 6)), FUSE(4, 12, 1.60)},
    {E(13, "Al", "Aluminium", 26.9815384, 1.21, 1.61), OX(3), RADII(R(3, 0.535, 6)), FUSE(4, 12, 1.43)},
    {E(14, "Si", "Silicon", 28.085, 1.11, 1.90), OX(-4, 4), RADII(R(4, 0.40, 6)), FUSE(4, 6, 1.18)},
    {E(15, "P", "Phosphorus", 30.973761998, 1.07, 2.19), OX(-3, 3, 5),
     RADII(R(3, 0.44, 6), R(5, 0.38, 6)), FUSE(4, 6, 1.10)},
    {E(16, "S", "Sulfur", 32.06, 1.05, 2.58), OX(-2, 2, 4, 6),
     RADII(R(-2, 1.84, 6), R(4, 0.37, 6), R(6, 0.29, 6)), FUSE(4, 6, 1.04)},
    {E(17, "Cl", "Chlorine", 35.45, 1.02, 3.16), OX(-1, 1, 3, 5, 7),
     RADII(R(-1, 1.81, 6), R(5, 0.12, 3), R(7, 0.27, 6)), FUSE(3, 6, 0.99)},
    {E(18, "Ar", "Argon", 39.95, 1.06, 0.0), NO_OX, NO_RADII, NO_FUSE},
    {E(19, "K", "Potassium", 39.0983, 2.03, 0.82), OX(1), RADII(R(1, 1.38, 6)), FUSE(4, 12, 2.35)},
    {E(20, "Ca", "Calcium", 40.078, 1.76, 1.00), OX(2), RADII(R(2, 1.00, 6)), FUSE(5, 12, 1.97)},
    {E(21, "Sc", "Scandium", 44.955907, 1.70, 1.36), OX(3), RADII(R(3, 0.745, 6)), FUSE(6, 12, 1.64)},
    {E(22, "Ti", "Titanium", 47.867, 1.60, 1.54), OX(4), RADII(R(4, 0.605, 6)), FUSE(4, 12, 1.47)},
    {E(23, "V", "Vanadium", 50.9415, 1.53, 1.63), OX(5), RADII(R(5, 0.54, 6)), FUSE(4, 12, 1.35)},
    {E(24, "Cr", "Chromium", 51.9961, 1.39, 1.66), OX(3, 6),
     RADII(R(3, 0.615, 6), R(6, 0.44, 6)), FUSE(4, 12, 1.29)},
    {E(25, "Mn", "Manganese", 54.938043, 1.61, 1.55), OX(2, 4, 7),
     RADII(R(2, 0.83, 6), R(4, 0.53, 6), R(7, 0.46, 6)), FUSE(4, 12, 1.37)},
    {E(26, "Fe", "Iron", 55.845, 1.52, 1.83), OX(2, 3),
     RADII(R(2, 0.78, 6), R(3, 0.645, 6)), FUSE(4, 12, 1.26)},
    {E(27, "Co", "Cobalt", 58.933194, 1.50, 1.88), OX(2, 3),
     RADII(R(2, 0.745, 6), R(3, 0.61, 6)), FUSE(4, 12, 1.25)},
    {E(28, "Ni", "Nickel", 58.6934, 1.24, 1.91), OX(2), RADII(R(2, 0.69, 6)), FUSE(4, 12, 1.25)},
    {E(29, "Cu", "Copper", 63.546, 1.32, 1.90), OX(2), RADII(R(2, 0.73, 6)), FUSE(2, 12, 1.28)},
    {E(30, "Zn", "Zinc", 65.38, 1.22, 1.65), OX(2), RADII(R(2, 0.74, 6)), FUSE(4, 12, 1.37)},
    {E(31, "Ga", "Gallium", 69.723, 1.22, 1.81), OX(3), RADII(R(3, 0.62, 6)), FUSE(4, 12, 1.53)},
    {E(32, "Ge", "Germanium", 72.630, 1.20, 2.01), OX(-4, 2, 4),
     RADII(R(2, 0.73, 6), R(4, 0.53, 6)), FUSE(4, 6, 1.22)},
    {E(33, "As", "Arsenic", 74.921595, 1.19, 2.18), OX(-3, 3, 5),
     RADII(R(3, 0.58, 6), R(5, 0.46, 6)), FUSE(4, 6, 1.21)},
    {E(34, "Se", "Selenium", 78.971, 1.20, 2.55), OX(-2, 2, 4, 6),
     RADII(R(-2, 1.98, 6), R(4, 0.50, 6), R(6, 0.42, 6)), FUSE(4, 6, 1.04)},
    {E(35, "Br", "Bromine", 79.904, 1.20, 2.96), OX(-1, 1, 3, 5, 7),
     RADII(R(-1, 1.96, 6), R(3, 0.59, 4), R(5, 0.31, 3), R(7, 0.39, 6)), FUSE(3, 6, 1.14)},
    {E(36, "Kr", "Krypton", 83.798, 1.16, 3.00), NO_OX, NO_RADII, NO_FUSE},
    {E(37, "Rb", "Rubidium", 85.4678, 2.20, 0.82), OX(1), RADII(R(1, 1.52, 6)), FUSE(6, 14, 2.50)},
    {E(38, "Sr", "Strontium", 87.62, 1.95, 0.95), OX(2), RADII(R(2, 1.18, 6)), FUSE(6, 12, 2.15)},
    {E(39, "Y", "Yttrium", 88.905838, 1.90, 1.22), OX(3), RADII(R(3, 0.90, 6)), FUSE(6, 12, 1.82)},
    {E(40, "Zr", "Zirconium", 91.224, 1.75, 1.33), OX(4), RADII(R(4, 0.72, 6)), FUSE(4, 12, 1.60)},
    {E(41, "Nb", "Niobium", 92.90637, 1.64, 1.60), OX(5), RADII(R(5, 0.64, 6)), FUSE(6, 12, 1.47)},
    {E(42, "Mo", "Molybdenum", 95.95, 1.54, 2.16), OX(4, 6),
     RADII(R(4, 0.65, 6), R(6, 0.59, 6)), FUSE(4, 12, 1.40)},
    {E(43, "Tc", "Technetium", 98.0, 1.47, 1.90), OX(4, 7),
     RADII(R(4, 0.645, 6), R(7, 0.56, 6)), FUSE(4, 12, 1.35)},
    {E(44, "Ru", "Ruthenium", 101.07, 1.46, 2.20), OX(3, 4),
     RADII(R(3, 0.68, 6), R(4, 0.62, 6)), FUSE(4, 12, 1.34)},
    {E(45, "Rh", "Rhodium", 102.90549, 1.42, 2.28), OX(3), RADII(R(3, 0.665, 6)), FUSE(6, 12, 1.34)},
    {E(46, "Pd", "Palladium", 106.42, 1.39, 2.20), OX(2, 4),
     RADII(R(2, 0.86, 6), R(4, 0.615, 6)), FUSE(2, 12, 1.37)},
    {E(47, "Ag", "Silver", 107.8682, 1.45, 1.93), OX(1), RADII(R(1, 1.15, 6)), FUSE(2, 12, 1.44)},
    {E(48, "Cd", "Cadmium", 112.414, 1.44, 1.69), OX(2), RADII(R(2, 0.95, 6)), FUSE(4, 12, 1.52)},
    {E(49, "In", "Indium", 114.818, 1.42, 1.78), OX(3), RADII(R(3, 0.80, 6)), FUSE(4, 12, 1.67)},
    {E(50, "Sn", "Tin", 118.710, 1.39, 1.96), OX(-4, 2, 4), RADII(R(4, 0.69, 6)), FUSE(4, 12, 1.58)},
    {E(51, "Sb", "Antimony", 121.760, 1.39, 2.05), OX(-3, 3, 5),
     RADII(R(3, 0.76, 6), R(5, 0.60, 6)), FUSE(4, 12, 1.41)},
    {E(52, "Te", "Tellurium", 127.60, 1.38, 2.10), OX(-2, 2, 4, 6),
     RADII(R(-2, 2.21, 6), R(4, 0.97, 6), R(6, 0.56, 6)), FUSE(3, 12, 1.37)},
    {E(53, "I", "Iodine", 126.90447, 1.39, 2.66), OX(-1, 1, 3, 5, 7),
     RADII(R(-1, 2.20, 6), R(5, 0.95, 6), R(7, 0.53, 6)), FUSE(3, 6, 1.33)},
    {E(54, "Xe", "Xenon", 131.293, 1.40, 2.60), NO_OX, NO_RADII, FUSE(4, 6, 2.18)},
    {E(55, "Cs", "Caesium", 132.90545196, 2.44, 0.79), OX(1), RADII(R(1, 1.67, 6)), FUSE(6, 12, 2.72)},
    {E(56, "Ba", "Barium", 137.327, 2.15, 0.89), OX(2), RADII(R(2, 1.35, 6)), FUSE(6, 12, 2.24)},
    {E(57, "La", "Lanthanum", 138.90547, 2.07, 1.10), OX(3), RADII(R(3, 1.032, 6)), FUSE(6, 12, 1.88)},
    {E(58, "Ce", "Cerium", 140.116, 2.04, 1.12), OX(3, 4),
     RADII(R(3, 1.01, 6), R(4, 0.87, 6)), FUSE(6, 12, 1.82)},
    {E(59, "Pr", "Praseodymium", 140.90766, 2.03, 1.13), OX(3), RADII(R(3, 0.99, 6)), FUSE(6, 12, 1.82)},
    {E(60, "Nd", "Neodymium", 144.242, 2.01, 1.14), OX(3), RADII(R(3, 0.983, 6)), FUSE(6, 12, 1.82)},
    {E(61, "Pm", "Promethium", 145.0, 1.99, 1.13), OX(3), RADII(R(3, 0.97, 6)), FUSE(6, 12, 1.81)},
    {E(62, "Sm", "Samarium", 150.36, 1.98, 1.17), OX(3), RADII(R(3, 0.958, 6)), FUSE(6, 12, 1.81)},
    {E(63, "Eu", "Europium", 151.964, 1.98, 1.20), OX(2, 3),
     RADII(R(2, 1.17, 6), R(3, 0.947, 6)), FUSE(6, 12, 2.06)},
    {E(64, "Gd", "Gadolinium", 157.249, 1.96, 1.20), OX(3), RADII(R(3, 0.938, 6)), FUSE(6, 12, 1.79)},
    {E(65, "Tb", "Terbium", 158.925354, 1.94, 1.10), OX(3), RADII(R(3, 0.923, 6)), FUSE(6, 12, 1.77)},
    {E(66, "Dy", "Dysprosium", 162.500, 1.92, 1.22), OX(3), RADII(R(3, 0.912, 6)), FUSE(6, 12, 1.77)},
    {E(67, "Ho", "Holmium", 164.930329, 1.92, 1.23), OX(3), RADII(R(3, 0.901, 6)), FUSE(6, 12, 1.76)},
    {E(68, "Er", "Erbium", 167.259, 1.89, 1.24), OX(3), RADII(R(3, 0.89, 6)), FUSE(6, 12, 1.75)},
    {E(69, "Tm", "Thulium", 168.934219, 1.90, 1.25), OX(3), RADII(R(3, 0.88, 6)), FUSE(6, 12, 1.00)},
    {E(70, "Yb", "Ytterbium", 173.045, 1.87, 1.10), OX(3), RADII(R(3, 0.868, 6)), FUSE(6, 12, 1.94)},
    {E(71, "Lu", "Lutetium", 174.9668, 1.87, 1.27), OX(3), RADII(R(3, 0.861, 6)), FUSE(6, 12, 1.72)},
    {E(72, "Hf", "Hafnium", 178.486, 1.75, 1.30), OX(4), RADII(R(4, 0.71, 6)), FUSE(4, 12, 1.59)},
    {E(73, "Ta", "Tantalum", 180.94788, 1.70, 1.50), OX(5), RADII(R(5, 0.64, 6)), FUSE(6, 12, 1.47)},
    {E(74, "W", "Tungsten", 183.84, 1.62, 2.36), OX(4, 6),
     RADII(R(4, 0.66, 6), R(6, 0.60, 6)), FUSE(4, 12, 1.41)},
    {E(75, "Re", "Rhenium", 186.207, 1.51, 1.90), OX(4), RADII(R(4, 0.63, 6)), FUSE(4, 12, 1.37)},
    {E(76, "Os", "Osmium", 190.23, 1.44, 2.20), OX(4), RADII(R(4, 0.63, 6)), FUSE(4, 12, 1.35)},
    {E(77, "Ir", "Iridium", 192.217, 1.41, 2.20), OX(3, 4),
     RADII(R(3, 0.68, 6), R(4, 0.625, 6)), FUSE(6, 12, 1.36)},
    {E(78, "Pt", "Platinum", 195.084, 1.36, 2.28), OX(2, 4),
     RADII(R(2, 0.80, 6), R(4, 0.625, 6)), FUSE(4, 12, 1.39)},
    {E(79, "Au", "Gold", 196.966570, 1.36, 2.54), OX(3), RADII(R(3, 0.85, 6)), FUSE(4, 12, 1.44)},
    {E(80, "Hg", "Mercury", 200.592, 1.32, 2.00), OX(1, 2),
     RADII(R(1, 1.19, 6), R(2, 1.02, 6)), FUSE(2, 12, 1.55)},
    {E(81, "Tl", "Thallium", 204.38, 1.45, 1.62), OX(1, 3),
     RADII(R(1, 1.50, 6), R(3, 0.885, 6)), FUSE(6, 12, 1.71)},
    {E(82, "Pb", "Lead", 207.2, 1.46, 2.33), OX(2, 4),
     RADII(R(2, 1.19, 6), R(4, 0.775, 6)), FUSE(4, 12, 1.75)},
    {E(83, "Bi", "Bismuth", 208.98040, 1.48, 2.02), OX(3), RADII(R(3, 1.03, 6)), FUSE(5, 12, 1.82)},
    {E(84, "Po", "Polonium", 209.0, 1.40, 2.00), OX(-2, 2, 4), RADII(R(4, 0.94, 6)), FUSE(6, 12, 1.77)},
    {E(85, "At", "Astatine", 210.0, 1.50, 2.20), OX(-1, 1), NO_RADII, FUSE(6, 6, 0.62)},
    {E(86, "Rn", "Radon", 222.0, 1.50, 2.20), NO_OX, NO_RADII, NO_FUSE},
    {E(87, "Fr", "Francium", 223.0, 2.60, 0.70), OX(1), RADII(R(1, 1.80, 6)), FUSE(6, 6, 1.00)},
    {E(88, "Ra", "Radium", 226.0, 2.21, 0.90), OX(2), RADII(R(2, 1.48, 8)), FUSE(8, 12, 2.35)},
    {E(89, "Ac", "Actinium", 227.0, 2.15, 1.10), OX(3), RADII(R(3, 1.12, 6)), FUSE(6, 12, 2.03)},
    {E(90, "Th", "Thorium", 232.0377, 2.06, 1.30), OX(4), RADII(R(4, 0.94, 6)), FUSE(6, 12, 1.80)},
    {E(91, "Pa", "Protactinium", 231.03588, 2.00, 1.50), OX(5), RADII(R(5, 0.78, 6)), FUSE(6, 12, 1.63)},
    {E(92, "U", "Uranium", 238.02891, 1.96, 1.38), OX(6), RADII(R(6, 0.73, 6)), FUSE(2, 12, 1.56)},
    {E(93, "Np", "Neptunium", 237.0, 1.90, 1.36), OX(5), RADII(R(5, 0.75, 6)), FUSE(6, 12, 1.56)},
    {E(94, "Pu", "Plutonium", 244.0, 1.87, 1.28), OX(4), RADII(R(4, 0.86, 6)), FUSE(6, 12, 1.64)},
    {E(95, "Am", "Americium", 243.0, 1.80, 1.30), OX(3), RADII(R(3, 0.975, 6)), FUSE(6, 12, 1.73)},
    {E(96, "Cm", "Curium", 247.0, 1.69, 1.30), OX(3), RADII(R(3, 0.97, 6)), FUSE(6, 12, 1.00)},
    {E(97, "Bk", "Berkelium", 247.0, 0.0, 1.30), OX(3), RADII(R(3, 0.96, 6)), FUSE(6, 12, 1.00)},
    {E(98, "Cf", "Californium", 251.0, 0.0, 1.30), OX(3), RADII(R(3, 0.95, 6)), FUSE(6, 12, 1.00)},
    {E(99, "Es", "Einsteinium", 252.0, 0.0, 1.30), OX(3), NO_RADII, NO_FUSE},
    {E(100, "Fm", "Fermium", 257.0, 0.0, 1.30), OX(3), NO_RADII, NO_FUSE},
    {E(101, "Md", "Mendelevium", 258.0, 0.0, 1.30), OX(3), NO_RADII, NO_FUSE},
    {E(102, "No", "Nobelium", 259.0, 0.0, 1.30), OX(3), NO_RADII, FUSE(6, 12, 1.00)},
    {E(103, "Lr", "Lawrencium", 266.0, 0.0, 1.30), OX(3), NO_RADII, NO_FUSE},
};

#undef E
#undef OX
#undef NO_OX
#undef R
#undef RADII
#undef NO_RADII
#undef FUSE
#undef NO_FUSE

const fuse2_element *fuse2_element_by_z(int z)
{
    if (z < 1 || z > FUSE2_MAX_Z)
        return NULL;
    return &element_table[z - 1];
}

int fuse2_element_z_from_symbol(const char *symbol)
{
    if (symbol == NULL)
        return 0;
    for (int i = 0; i < FUSE2_MAX_Z; ++i)
        if (strcmp(element_table[i].symbol, symbol) == 0)
            return element_table[i].z;
    return 0;
}

int fuse2_element_z_from_label(const char *label)
{
    if (label == NULL)
        return 0;
    unsigned char first = (unsigned char)label[0];
    if (!isalpha(first))
        return 0;
    /* Normalise to symbol capitalisation ("CA", "ca" -> "Ca") and prefer the
     * two-letter reading, so "Co" and "CO" are cobalt while "C1" is carbon. */
    char candidate[3] = {(char)toupper(first), '\0', '\0'};
    unsigned char second = (unsigned char)label[1];
    if (isalpha(second)) {
        candidate[1] = (char)tolower(second);
        int z = fuse2_element_z_from_symbol(candidate);
        if (z != 0)
            return z;
        candidate[1] = '\0';
    }
    return fuse2_element_z_from_symbol(candidate);
}

double fuse2_element_ionic_radius(int z, int charge)
{
    const fuse2_element *element = fuse2_element_by_z(z);
    if (element == NULL)
        return 0.0;
    for (int i = 0; i < element->n_ionic_radii; ++i)
        if (element->ionic_radii[i].charge == charge)
            return element->ionic_radii[i].radius;
    return 0.0;
}
