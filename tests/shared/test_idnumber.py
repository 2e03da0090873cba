from datetime import date

import pytest

from shared import idnumber


def test_valid_number_tells_birth_date_and_sex() -> None:
    facts = idnumber.parse("11010519491231002X")
    assert facts.birth_date == date(1949, 12, 31)
    assert facts.sex == "female"
    assert facts.area_code == "110105"


def test_x_check_character_is_accepted_in_lower_case() -> None:
    assert idnumber.parse("11010519491231002x").sex == "female"


FULL_WIDTH = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


def test_full_width_digits_typed_with_a_chinese_input_method_become_ascii() -> None:
    typed = "11010519491231002X".translate(FULL_WIDTH)
    assert idnumber.normalize(typed) == "11010519491231002X"
    assert idnumber.parse(typed).sex == "female"


def test_digits_of_other_scripts_are_not_digits_of_an_id_number() -> None:
    # Python's \d and int() take them: without the ASCII rule "X" would pass unchanged beside
    # them, and one person could be registered under two spellings of the same number.
    with pytest.raises(idnumber.InvalidIdNumber, match="17 digits"):
        idnumber.parse("11010519491231002X".translate(ARABIC_INDIC))


def test_generated_numbers_are_valid_and_odd_sequence_is_male() -> None:
    number = idnumber.make("522301", date(1980, 5, 17), 123)
    facts = idnumber.parse(number)
    assert facts.sex == "male"
    assert facts.birth_date == date(1980, 5, 17)


@pytest.mark.parametrize(
    ("number", "reason"),
    [
        ("110105194912310021", "check character does not match (expected X)"),
        ("11010519491331002X", "is not a real date"),
        ("1101051949123100", "must be 18 characters"),
        ("11010519491231002Y", "17 digits followed by a digit or X"),
        ("110105" + "2999" + "0101" + "0011", "out of range"),
    ],
)
def test_bad_numbers_say_why(number: str, reason: str) -> None:
    with pytest.raises(
        idnumber.InvalidIdNumber, match=reason.replace("(", r"\(").replace(")", r"\)")
    ):
        idnumber.parse(number)


def test_mask_shows_first_four_and_last_four() -> None:
    assert idnumber.mask("522301198005171235") == "5223*************5"
