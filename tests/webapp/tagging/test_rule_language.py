"""The group rule language: parsing, errors with positions, and evaluation on real rows."""

import re

import pytest

from webapp.core.errors import ServiceError
from webapp.slides.models import Slide
from webapp.tagging.rule_language import RuleError, parse
from webapp.tagging.services.groups import rule_condition
from webapp.tagging.services.tags import tags_change


@pytest.mark.parametrize(
    ("text", "tree"),
    [
        ('stain = "H&E"', ("has", "stain", ("H&E",))),
        (
            "stain = H&E AND tissue = colon",
            ("and", [("has", "stain", ("H&E",)), ("has", "tissue", ("colon",))]),
        ),
        (
            "tissue IN (colon, 'small intestine') OR NOT lab = x",
            (
                "or",
                [("has", "tissue", ("colon", "small intestine")), ("not", ("has", "lab", ("x",)))],
            ),
        ),
        ("indication != Normal", ("not", ("has", "indication", ("Normal",)))),
        ("fixation is not set", ("not", ("set", "fixation"))),
        (
            "(a = 1 OR b = 2) and c is set",
            ("and", [("or", [("has", "a", ("1",)), ("has", "b", ("2",))]), ("set", "c")]),
        ),
    ],
)
def test_parse(text, tree):
    assert parse(text) == tree


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("stain =", "Expected a term at 8"),
        ("stain == x", "Expected a term at 8"),
        ("(stain = x", "Expected ')' at 11"),
        ("stain = x AND", "Expected a category at 14"),
        ("stain IS x", "Expected SET"),
        ('stain = "open', "Unexpected character"),
        ("stain = x y", "Unexpected 'y' at 11"),
    ],
)
def test_parse_errors_name_the_position(text, message):
    with pytest.raises(RuleError, match=re.escape(message)):
        parse(text)


def test_evaluation_matches_hand_built_expectations(slides, term):
    admin = None
    he, pas = term("stain", "H&E"), term("stain", "PAS")
    colon, lung = term("tissue", "Colon"), term("tissue", "Lung")
    ffpe = term("fixation", "FFPE")
    s = slides
    tags_change(actor=admin, slide_ids=[s[0].pk, s[1].pk, s[3].pk], add=[he, colon])
    tags_change(actor=admin, slide_ids=[s[2].pk], add=[he, lung, ffpe])
    tags_change(actor=admin, slide_ids=[s[4].pk], add=[pas])

    def ids(rule):
        return set(Slide.objects.filter(rule_condition(rule)).values_list("pk", flat=True))

    assert ids('stain = "H&E" AND tissue = colon') == {s[0].pk, s[1].pk, s[3].pk}
    assert ids("stain = he") == {s[0].pk, s[1].pk, s[2].pk, s[3].pk}  # synonym, any case
    assert ids("tissue IN (colon, lung) AND NOT fixation IS SET") == {s[0].pk, s[1].pk, s[3].pk}
    assert ids("stain != H&E") == {s[4].pk, s[5].pk}
    assert ids("stain IS NOT SET") == {s[5].pk}
    assert ids("stain = PAS OR tissue = lung") == {s[2].pk, s[4].pk}


def test_unknown_names_are_clear_errors(slides):
    with pytest.raises(ServiceError, match="Unknown category 'organ'"):
        rule_condition("organ = colon")
    with pytest.raises(ServiceError, match="No term 'Colonn' in category 'tissue'"):
        rule_condition("tissue = Colonn")
