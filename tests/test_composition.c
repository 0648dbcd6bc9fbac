/* Formula parsing for the FUSE2 benchmark compositions and bad formulas. */
#include "testutil.h"

#include <math.h>
#include <string.h>

#include "fuse2/composition.h"
#include "fuse2/elements.h"

static int count_of(const fuse2_composition *c, const char *sym)
{
    return fuse2_composition_count(c, fuse2_element_z_from_symbol(sym));
}

static void test_parses_ca3ti2o7(void **state)
{
    (void)state;
    fuse2_composition c;
    ASSERT_OK(fuse2_composition_parse("Ca3Ti2O7", &c));
    assert_int_equal(c.nelements, 3);
    assert_int_equal(count_of(&c, "Ca"), 3);
    assert_int_equal(count_of(&c, "Ti"), 2);
    assert_int_equal(count_of(&c, "O"), 7);
    assert_int_equal(fuse2_composition_atoms_per_formula(&c), 12);
    char buf[64];
    fuse2_composition_format(&c, buf, sizeof buf);
    assert_string_equal(buf, "Ca3Ti2O7");
}

static void test_parses_long_and_single_element_formulas(void **state)
{
    (void)state;
    fuse2_composition c;
    ASSERT_OK(fuse2_composition_parse("Si6Al6B3Fe3NaO30F", &c));
    assert_int_equal(c.nelements, 7);
    assert_int_equal(count_of(&c, "Na"), 1);
    assert_int_equal(count_of(&c, "O"), 30);
    assert_int_equal(count_of(&c, "F"), 1);
    assert_int_equal(fuse2_composition_atoms_per_formula(&c), 50);
    ASSERT_OK(fuse2_composition_parse("Li4OBrCl", &c));
    assert_int_equal(c.nelements, 4);
    assert_int_equal(count_of(&c, "Li"), 4);
    assert_int_equal(count_of(&c, "Br"), 1);
    assert_int_equal(count_of(&c, "Cl"), 1);
    ASSERT_OK(fuse2_composition_parse("Mn", &c));
    assert_int_equal(c.nelements, 1);
    assert_int_equal(c.count[0], 1);
    ASSERT_OK(fuse2_composition_parse("  Pb5As3O12Cl \n", &c));
    assert_int_equal(fuse2_composition_atoms_per_formula(&c), 21);
}

static void test_groups_and_repeats_add(void **state)
{
    (void)state;
    fuse2_composition c;
    ASSERT_OK(fuse2_composition_parse("Ca5(PO4)3(OH)", &c));
    assert_int_equal(count_of(&c, "P"), 3);
    assert_int_equal(count_of(&c, "O"), 13);
    assert_int_equal(count_of(&c, "H"), 1);
    ASSERT_OK(fuse2_composition_parse("OSrO2Ti", &c));
    assert_int_equal(count_of(&c, "O"), 3);
    ASSERT_OK(fuse2_composition_parse("Sr2Ti2O6", &c));
    fuse2_composition_reduce(&c);
    assert_int_equal(count_of(&c, "Sr"), 1);
    assert_int_equal(count_of(&c, "O"), 3);
}

static void test_bad_formulas_are_errors(void **state)
{
    (void)state;
    fuse2_composition c;
    const char *bad[] = {"", "   ", "ca3Ti", "Xx2O", "Ca0O", "Ca3Ti2O7)", "Ca(O", "()2", "Ca-O",
                         "3CaO", "Q"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        fuse2_error_clear();
        if (fuse2_composition_parse(bad[i], &c) == FUSE2_OK) fail_msg("'%s' was accepted", bad[i]);
        assert_true(strlen(fuse2_error_message()) > 0);
    }
    fuse2_composition_parse("Xx2O", &c);
    test_assert_error_contains("unknown element 'Xx'");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parses_ca3ti2o7),
        cmocka_unit_test(test_parses_long_and_single_element_formulas),
        cmocka_unit_test(test_groups_and_repeats_add),
        cmocka_unit_test(test_bad_formulas_are_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
