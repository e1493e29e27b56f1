"""What an editor reads before publishing (the draft's differences, per field and item by item)
and what the console's edit form does to a document it did not touch (nothing)."""

from __future__ import annotations

import copy

from multidict import MultiDict

from bot.config import PROJECT_ROOT
from bot.console.guide_form import Table, examples_of, fields, read_form
from bot.knowledge.documents import read_folder
from bot.knowledge.editing import diff

DOCUMENTS = read_folder(PROJECT_ROOT / "knowledge")


def _posted(items, values: MultiDict) -> MultiDict:
    """What a browser posts for the form as shown, nothing changed."""
    for item in items:
        if isinstance(item, Table):
            for row in item.rows:
                _posted(row, values)
        elif item.type == "levels":
            for level in item.value:
                values.add(item.name, level)
        else:
            values.add(item.name, item.value)
    return values


def test_every_guide_and_life_event_saved_unchanged_from_the_form_is_the_same_document():
    assert {kind for kind, _ in DOCUMENTS} == {"guide", "bundle"}
    for kind, document in DOCUMENTS:
        posted = _posted(fields(kind, document), MultiDict(examples=examples_of(document)))
        assert read_form(kind, document["name"], posted) == document, document["name"]


def test_a_situations_material_typed_as_words_stays_as_typed_for_the_check_to_name():
    kind, document = next((k, d) for k, d in DOCUMENTS if d.get("situations"))
    posted = _posted(fields(kind, document), MultiDict(examples=examples_of(document)))
    posted["situations.1.materials.0.copies"] = "两份"
    posted["situations.0.remove"] = "1"
    read = read_form(kind, document["name"], posted)
    assert len(read["situations"]) == len(document["situations"]) - 1
    assert read["situations"][0]["materials"][0]["copies"] == "两份"


def test_the_differences_name_each_changed_field_and_each_material_added_changed_or_removed():
    _, published = next((k, d) for k, d in DOCUMENTS if d["name"] == "丧葬补助金和抚恤金申领")
    draft = copy.deepcopy(published)
    draft["fee"] = "工本费 10 元"
    draft["aliases"] = [*draft["aliases"][1:], "领丧葬补助"]
    draft["materials"][0]["form"] = "原件"
    draft["materials"].append({"name": "户口簿", "form": "原件", "copies": 1, "required": False})
    del draft["materials"][1]
    draft["faq"] = list(reversed(draft["faq"]))
    changes = {(c.field, c.item): c for c in diff(published, draft)}
    assert set(changes) == {("fee", ""), ("aliases", ""), ("materials", "死亡证明"), ("materials", "户口簿"),
                            ("materials", "户口注销证明或已注销的户口簿"), ("faq", "")}
    assert changes[("fee", "")].before == "不收费" and changes[("fee", "")].after == "工本费 10 元"
    assert changes[("aliases", "")].removed == ("丧葬补助金",) and changes[("aliases", "")].added == ("领丧葬补助",)
    assert changes[("materials", "死亡证明")].what == "changed"
    assert changes[("materials", "户口簿")].what == "added"
    assert changes[("materials", "户口注销证明或已注销的户口簿")].what == "removed"
    assert changes[("faq", "")].what == "changed"          # the same questions, in another order
    assert diff(published, copy.deepcopy(published)) == [] and diff(published, None) == []


def test_a_material_renamed_in_place_is_one_change_of_that_material():
    _, published = next((k, d) for k, d in DOCUMENTS if d["name"] == "丧葬补助金和抚恤金申领")
    draft = copy.deepcopy(published)
    draft["materials"][0]["name"] = "居民死亡医学证明书"
    (change,) = diff(published, draft)
    assert (change.field, change.item, change.what) == ("materials", "死亡证明 → 居民死亡医学证明书", "changed")
    assert list(change.after)[:2] == ["name", "form"]      # shown as the form shows a material
