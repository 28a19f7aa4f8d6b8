"""`{% filter_bar form %}`: a list page's GET filter bar (`core.forms.filter_bar`), laid out by
crispy-forms as `{% crispy form %}` does, and kept once rendered.

crispy-forms renders each field through half a dozen templates: some 8 ms of CPU for a bar of
seven fields, a quarter of an Orders page, on every view. A GET filter bar's HTML follows from
what the key below holds: the form's class, the active language and time zone, each field's
value as sent (or its initial value), each select's choices (the accounts and marketplaces come
from the database) and the notice a search form shows. It carries no CSRF token and nothing of
the user, so one rendering serves every view with the same key. The kept renderings are this
process's, at most `KEPT` of them, the least recently used dropped first.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

from crispy_forms.templatetags.crispy_forms_tags import CrispyFormNode
from django import forms, template
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language

register = template.Library()

KEPT = 256
_rendered: OrderedDict[Hashable, SafeString] = OrderedDict()
_lock = threading.Lock()


def _values(form: forms.Form) -> tuple[Hashable, ...]:
    """What the form shows in its fields: the submitted values of its fields (a widget's
    sub-fields `name_0`, `name_1` included; other parameters such as `page` left out), or
    its initial values when unbound."""
    if not form.is_bound:
        return tuple(
            (name, repr(form.get_initial_for_field(field, name)))
            for name, field in form.fields.items()
        )
    names = [form.add_prefix(name) for name in form.fields]
    return tuple(
        sorted(
            (key, tuple(values))
            for key, values in form.data.lists()
            if any(key == name or key.startswith(f"{name}_") for name in names)
        )
    )


def _choices(form: forms.Form) -> tuple[Hashable, ...]:
    """The choices of every select, a field's or only its widget's (Data exchange » Log's
    operations). Choices read from the database (an account field's) are read once: kept as
    a list on this form's own widget, the rendering does not query them again."""
    found = []
    for name, field in form.fields.items():
        choices = getattr(field.widget, "choices", None)
        if choices is None:
            continue
        if not isinstance(choices, list | tuple):
            # iter(): list() of the iterator itself would ask its len(), a COUNT query.
            choices = field.widget.choices = list(iter(choices))
        found.append((name, tuple((str(value), str(label)) for value, label in choices)))
    return tuple(found)


def cache_key(form: forms.Form) -> Hashable:
    """Everything a GET filter bar's HTML depends on."""
    return (
        type(form).__module__,
        type(form).__qualname__,
        get_language(),
        timezone.get_current_timezone_name(),
        form.is_bound,
        _values(form),
        _choices(form),
        str(getattr(form, "search_notice", "") or ""),
    )


def forget_rendered() -> None:
    """Drop every kept rendering (tests)."""
    with _lock:
        _rendered.clear()


@register.simple_tag(takes_context=True)
def filter_bar(context: template.Context, form: forms.Form) -> SafeString:
    """The form as `{% crispy form %}` renders it; a form whose helper does not send GET (a
    form with a CSRF token) is rendered every time."""
    helper: Any = getattr(form, "helper", None)
    if helper is None or getattr(helper, "form_method", "").lower() != "get":
        return mark_safe(_render(context, form))  # noqa: S308 (crispy's own HTML)
    key = cache_key(form)
    with _lock:
        html = _rendered.get(key)
        if html is not None:
            _rendered.move_to_end(key)
            return html
    html = mark_safe(_render(context, form))  # noqa: S308 (crispy's own HTML)
    with _lock:
        _rendered[key] = html
        while len(_rendered) > KEPT:
            _rendered.popitem(last=False)
    return html


def _render(context: template.Context, form: forms.Form) -> str:
    with context.push(form=form):
        return CrispyFormNode("form", None).render(context)
