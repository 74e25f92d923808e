"""Notebook entries, reactions, saves, bulk entries, the organisation setting and the keepsake PDF."""

import io
import uuid
from datetime import date

import pytest
from pypdf import PdfReader

from samen_common.errors import Forbidden, InvalidInput, NotFound


def _pdf_text(result: dict) -> str:
    """Read the keepsake from object storage, where messaging put it, and return its text."""
    from samen_media.settings import shared_storage

    assert set(result) == {"filename", "key", "size"}
    assert result["key"].startswith("keepsakes/")
    content = shared_storage().get(result["key"])
    assert len(content) == result["size"]
    reader = PdfReader(io.BytesIO(content))
    return "\n".join(page.extract_text() for page in reader.pages)


def test_staff_entry_visible_to_guardians_only(services, world, call):
    entry = call("staff_bears", "add_notebook_entry", world.children["anna"], "Played outside",
                 {"eating": "All of the bread", "sleeping": "12:30-14:00"})

    entries = call("parent_a2", "notebook", world.children["anna"])
    assert [e["id"] for e in entries] == [entry["id"]]
    assert entries[0]["items"]["eating"] == "All of the bread"
    assert entries[0]["author_name"] == "Staff Bears"
    with pytest.raises(NotFound):
        call("parent_c", "notebook", world.children["anna"])
    with pytest.raises(NotFound):
        call("parent_c", "get_notebook_entry", entry["id"])
    with pytest.raises(NotFound):
        call("staff_foxes", "add_notebook_entry", world.children["anna"], "Not my group")


def test_entry_validation(services, world, call):
    with pytest.raises(InvalidInput) as empty:
        call("staff_bears", "add_notebook_entry", world.children["anna"], "  ", {})
    assert empty.value.code == "notebook_entry_empty"
    with pytest.raises(InvalidInput) as unknown:
        call("staff_bears", "add_notebook_entry", world.children["anna"], "x", {"dancing": "yes"})
    assert unknown.value.code == "notebook_item_unknown"
    with pytest.raises(InvalidInput) as naive:
        call("staff_bears", "add_notebook_entry", world.children["anna"], "x", {}, [], "2026-12-04T10:00:00")
    assert naive.value.code == "naive_timestamp"


def test_guardian_entries_follow_setting(services, world, call):
    with pytest.raises(Forbidden):
        call("parent_a", "add_notebook_entry", world.children["anna"], "Weekend at the zoo")
    with pytest.raises(Forbidden):
        call("staff_bears", "update_settings", True)

    assert call("admin", "update_settings", True) == {"guardian_notebook_entries": True}
    entry = call("parent_a", "add_notebook_entry", world.children["anna"], "Weekend at the zoo")
    assert entry["author_kind"] == "guardian"


def test_group_entries_one_per_child(services, world, call):
    result = call("staff_bears", "add_group_notebook_entries", world.groups["bears"],
                  [world.children["anna"], world.children["cas"]], "Painted with fingers", {"activities": "painting"})

    assert len(result["entries"]) == 2
    assert len(call("parent_a", "notebook", world.children["anna"])) == 1
    assert len(call("parent_c", "notebook", world.children["cas"])) == 1
    with pytest.raises(NotFound):
        call("staff_bears", "add_group_notebook_entries", world.groups["bears"], [world.children["bram"]], "x")
    with pytest.raises(NotFound):
        call("staff_foxes", "add_group_notebook_entries", world.groups["bears"], [world.children["anna"]], "x")

    day = call("staff_bears", "group_day", world.groups["bears"])
    counts = {child["child_id"]: child["notebook_entries"] for child in day["children"]}
    assert counts == {world.children["anna"]: 1, world.children["cas"]: 1}


def test_reactions_and_saves(services, world, call):
    entry = call("staff_bears", "add_notebook_entry", world.children["anna"], "Sang a song")
    call("parent_a", "react_to_notebook_entry", entry["id"], "Lovely!")
    call("parent_a", "save_notebook_entry", entry["id"], True)
    call("parent_a", "save_notebook_entry", entry["id"], True)

    mine = call("parent_a", "notebook", world.children["anna"], None, None, True)
    assert [e["id"] for e in mine] == [entry["id"]]
    assert mine[0]["reactions"][0]["text"] == "Lovely!"
    assert call("parent_a2", "notebook", world.children["anna"], None, None, True) == []
    call("parent_a", "save_notebook_entry", entry["id"], False)
    assert call("parent_a", "notebook", world.children["anna"], None, None, True) == []


def test_keepsake_pdf_in_guardian_language(services, world, call):
    today = date.today().isoformat()
    call("staff_bears", "add_notebook_entry", world.children["cas"], "Built a tower of blocks")
    english = _pdf_text(call("parent_c", "notebook_keepsake", world.children["cas"], today, today))
    assert "Notebook of Cas Jansen" in english
    assert "Built a tower of blocks" in english

    call("staff_bears", "add_notebook_entry", world.children["anna"], "Bouwde een toren")
    dutch = _pdf_text(call("parent_a", "notebook_keepsake", world.children["anna"], today, today))
    assert "Schriftje van Anna Jansen" in dutch
    with pytest.raises(NotFound):
        call("parent_c", "notebook_keepsake", world.children["anna"], today, today)
    with pytest.raises(InvalidInput):
        call("parent_a", "notebook_keepsake", world.children["anna"], "2026-12-10", "2026-12-01")


def test_notebook_event_in_outbox(services, world, call, clean_db):
    from sqlalchemy import create_engine, text

    entry = call("staff_bears", "add_notebook_entry", world.children["anna"], "Ate well")
    engine = create_engine(clean_db["messaging"])
    with engine.connect() as connection:
        payload = connection.execute(
            text("SELECT payload FROM outbox WHERE event_type = 'notebook_entry_added'")
        ).scalar_one()
    engine.dispose()
    assert payload["entry_id"] == entry["id"]
    assert payload["group_id"] == world.groups["bears"]
    assert set(payload) >= {"entry_id", "child_id", "group_id", "author_id", "event_id"}
    assert uuid.UUID(payload["author_id"]) == uuid.UUID(world.accounts["staff_bears"])
