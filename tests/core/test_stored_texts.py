"""translate_stored looks a text's template up by its literal start or end instead of trying
every registered template: it must pick the same template the plain search did."""

from __future__ import annotations

import pytest
from django.utils import translation
from django.utils.translation import gettext

import amazon_settings.selectors
import amazon_settings.stored_texts  # noqa: F401
import api.stored_texts  # noqa: F401
import core.audit  # noqa: F401
import orders.stored_texts  # noqa: F401
import reports.stored_texts  # noqa: F401
from core import stored_texts
from core.stored_texts import register, stored_text, translate_stored


def every_template_tried(text: str) -> str:
    """The search before the index: each registered template in turn, the first that
    matches wins (plural and moment texts are left to translate_stored itself)."""
    for template in stored_texts._TEMPLATES:
        match = stored_texts._pattern(template).fullmatch(text)
        if match:
            verbatim = stored_texts._VERBATIM.get(template, ())
            values = {
                name: value if name in verbatim else translate_stored(value)
                for name, value in match.groupdict().items()
            }
            return gettext(template) % values
    return gettext(text)


def sample_texts() -> list[str]:
    templates = list(stored_texts._TEMPLATES)
    assert len(templates) > 50
    inner = stored_text(templates[0], **dict.fromkeys(_names(templates[0]), "7"))
    texts = []
    for template in templates:
        for value in ("7", "Amazon said: no", inner):
            values = dict.fromkeys(_names(template), value)
            texts.append(stored_text(template, **values))
            # A placeholder limited to other templates' texts, holding one of them.
            for name, options in stored_texts._CHOICES.get(template, {}).items():
                option = options[-1]
                values[name] = stored_text(option, **dict.fromkeys(_names(option), value))
            texts.append(stored_text(template, **values))
    texts += ["", "Amazon's own words.", "x", "Step 1.", "→", "; read as labelled."]
    return texts


def _names(template: str) -> list[str]:
    return stored_texts._PLACEHOLDER.findall(template)


@pytest.mark.parametrize("language", ["en", "de"])
def test_every_registered_template_is_found_as_before(language):
    texts = sample_texts()
    with translation.override(language):
        for text in texts:
            assert translate_stored(text) == every_template_tried(text), text
        if language == "de":
            assert sum(translate_stored(t) != t for t in texts) > len(texts) // 2


def test_a_template_registered_later_is_found():
    text = "Bench template 4711 was seen 3 times."
    assert translate_stored(text) == text
    template = "Bench template %(name)s was seen %(count)s times."
    register(template)
    try:
        match = stored_texts._candidate_templates(text)
        assert template in match
    finally:
        stored_texts._TEMPLATES.remove(template)
        stored_texts._template_index.cache_clear()
    assert template not in stored_texts._candidate_templates(text)
