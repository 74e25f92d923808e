"""Guardian documents and the parent committee with real accounts, messaging, broker, database and storage."""

from __future__ import annotations

import uuid

import pytest

from samen_common.errors import Forbidden, InvalidInput, NotFound

from tests.integration.messaging.storage import stored_pdf


def _number(world, name: str) -> str:
    """Return the account number that conftest's _seed gave the account `name`."""
    return f"7000{list(world.accounts).index(name) + 1:02d}"


def test_admin_uploads_invoice_for_guardian(services, world, call):
    key, size = stored_pdf()
    added = call("admin", "add_guardian_document", _number(world, "parent_a"), "invoice", " Factuur november ",
                 "2026-11", key, "factuur.pdf", size)
    assert added["title"] == "Factuur november"
    assert added["guardian_id"] == world.accounts["parent_a"]

    listed = call("parent_a", "list_my_documents")
    assert [document["id"] for document in listed] == [added["id"]]
    download = call("parent_a", "my_document_download", added["id"])
    assert download["key"] == key
    assert download["filename"] == "factuur.pdf"


def test_documents_listed_newest_first(services, world, call):
    first_key, first_size = stored_pdf()
    second_key, second_size = stored_pdf(b"%PDF-1.7\nsecond\n")
    guardian = world.accounts["parent_a"]
    first = call("admin", "add_guardian_document", guardian, "annual_statement", "Jaaropgave", "2025",
                 first_key, "jaaropgave.pdf", first_size)
    second = call("admin", "add_guardian_document", guardian, "invoice", "Factuur", "2026-12",
                  second_key, "factuur.pdf", second_size)
    assert [document["id"] for document in call("parent_a", "list_my_documents")] == [second["id"], first["id"]]
    assert [document["id"] for document in call("admin", "list_guardian_documents", guardian)] == [
        second["id"], first["id"]]


def test_other_guardian_gets_not_found(services, world, call):
    key, size = stored_pdf()
    added = call("admin", "add_guardian_document", world.accounts["parent_a"], "invoice", "Factuur", "2026-11",
                 key, "factuur.pdf", size)
    with pytest.raises(NotFound):
        call("parent_c", "my_document_download", added["id"])
    with pytest.raises(NotFound):
        call("parent_a", "my_document_download", str(uuid.uuid4()))
    with pytest.raises(NotFound):
        call("parent_a", "my_document_download", "not-an-id")
    assert call("parent_c", "list_my_documents") == []


def test_coordinator_limited_to_own_locations(services, world, call):
    key, size = stored_pdf()
    # parent_d's only child attends the south location; the coordinator manages north.
    with pytest.raises(NotFound):
        call("coordinator_north", "add_guardian_document", world.accounts["parent_d"], "invoice", "Factuur",
             "2026-11", key, "f.pdf", size)
    added = call("coordinator_north", "add_guardian_document", world.accounts["parent_c"], "invoice", "Factuur",
                 "2026-11", key, "f.pdf", size)
    assert added["guardian_id"] == world.accounts["parent_c"]


def test_upload_rejects_wrong_callers_and_targets(services, world, call):
    key, size = stored_pdf()
    with pytest.raises(Forbidden):
        call("staff_bears", "add_guardian_document", world.accounts["parent_a"], "invoice", "F", "2026-11",
             key, "f.pdf", size)
    with pytest.raises(NotFound):
        call("parent_a", "add_guardian_document", world.accounts["parent_a"], "invoice", "F", "2026-11",
             key, "f.pdf", size)
    with pytest.raises(NotFound):
        call("admin", "add_guardian_document", world.accounts["staff_bears"], "invoice", "F", "2026-11",
             key, "f.pdf", size)
    with pytest.raises(NotFound):
        call("admin", "add_guardian_document", "799999", "invoice", "F", "2026-11", key, "f.pdf", size)


@pytest.mark.parametrize("kind, period", [
    ("invoice", "2026"), ("invoice", "2026-13"), ("annual_statement", "2026-01"), ("annual_statement", "1999"),
    ("committee_minutes", "2026-11-05"), ("receipt", "2026"),
])
def test_upload_rejects_invalid_kind_or_period(services, world, call, kind, period):
    key, size = stored_pdf()
    with pytest.raises(InvalidInput):
        call("admin", "add_guardian_document", world.accounts["parent_a"], kind, "Titel", period, key, "f.pdf", size)


def test_upload_rejects_bad_storage_keys(services, world, call):
    key, size = stored_pdf()
    guardian = world.accounts["parent_a"]
    for bad_key in ("keepsakes/aa/bb/notebook.pdf", "documents/../etc/passwd", f"documents/{uuid.uuid4().hex}/x.pdf"):
        with pytest.raises(InvalidInput):
            call("admin", "add_guardian_document", guardian, "invoice", "F", "2026-11", bad_key, "f.pdf", size)
    with pytest.raises(InvalidInput):
        call("admin", "add_guardian_document", guardian, "invoice", "F", "2026-11", key, "f.pdf", size + 1)
    assert call("parent_a", "list_my_documents") == []


def test_delete_removes_row_and_file(services, world, call):
    from samen_media.settings import shared_storage

    key, size = stored_pdf()
    added = call("admin", "add_guardian_document", world.accounts["parent_a"], "invoice", "F", "2026-11",
                 key, "f.pdf", size)
    with pytest.raises(Forbidden):
        call("staff_bears", "delete_document", added["id"])
    with pytest.raises(NotFound):
        call("parent_a", "delete_document", added["id"])
    assert call("admin", "delete_document", added["id"])["deleted"] is True
    assert call("parent_a", "list_my_documents") == []
    assert not shared_storage().exists(key)
    with pytest.raises(NotFound):
        call("admin", "delete_document", added["id"])


def test_committee_visible_to_location_guardians(services, world, call):
    north = world.locations["north"]
    updated = call("coordinator_north", "update_parent_committee", north,
                   [{"name": " Sanne Bakker ", "role": "voorzitter"}, {"name": "Ahmed Yilmaz", "role": ""}],
                   "oc-noord@example.test")
    assert updated["members"] == [{"name": "Sanne Bakker", "role": "voorzitter"},
                                  {"name": "Ahmed Yilmaz", "role": ""}]
    key, size = stored_pdf()
    minutes = call("coordinator_north", "add_committee_minutes", north, "Verslag november", "2026-11-05",
                   key, "verslag.pdf", size)

    committee = call("parent_a", "parent_committee", north)
    assert committee["contact_email"] == "oc-noord@example.test"
    assert committee["location_name"] == "Locatie north"
    assert [document["id"] for document in committee["minutes"]] == [minutes["id"]]
    assert call("parent_a", "committee_minutes_download", north, minutes["id"])["key"] == key

    with pytest.raises(NotFound):
        call("parent_d", "parent_committee", north)
    with pytest.raises(NotFound):
        call("parent_d", "committee_minutes_download", north, minutes["id"])
    south = world.locations["south"]
    with pytest.raises(NotFound):
        call("parent_a", "committee_minutes_download", south, minutes["id"])
    assert call("parent_d", "parent_committee", south)["members"] == []


def test_committee_update_checks(services, world, call):
    north, south = world.locations["north"], world.locations["south"]
    with pytest.raises(NotFound):
        call("coordinator_north", "update_parent_committee", south, [], None)
    with pytest.raises(Forbidden):
        call("staff_bears", "update_parent_committee", north, [], None)
    with pytest.raises(InvalidInput):
        call("coordinator_north", "update_parent_committee", north, [{"name": ""}], None)
    with pytest.raises(InvalidInput):
        call("coordinator_north", "update_parent_committee", north, [], "not-an-address")
    with pytest.raises(InvalidInput):
        call("coordinator_north", "update_parent_committee", north, [{"name": "x"}] * 31, None)
    assert call("admin", "update_parent_committee", south, [], None)["contact_email"] is None


def _end_placement(url: str, child_id: str, end_date) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(text("UPDATE placements SET end_date = :end WHERE child_id = :child"),
                               {"end": end_date, "child": child_id})
    finally:
        engine.dispose()


def test_documents_after_care_ended_last_year(services, world, call, clean_db):
    from datetime import date

    # parent_d's only child left the south location in March of last year.
    _end_placement(clean_db["accounts"], world.children["dewi"], date(date.today().year - 1, 3, 31))
    key, size = stored_pdf()
    statement = call("admin", "add_guardian_document", world.accounts["parent_d"], "annual_statement",
                     "Jaaropgave", str(date.today().year - 1), key, "jaaropgave.pdf", size)
    assert statement["guardian_id"] == world.accounts["parent_d"]
    assert [d["id"] for d in call("parent_d", "list_my_documents")] == [statement["id"]]
    # The coordinator of another location still gets NotFound.
    with pytest.raises(NotFound):
        call("coordinator_north", "add_guardian_document", world.accounts["parent_d"], "annual_statement",
             "Jaaropgave", str(date.today().year - 1), key, "j.pdf", size)


def test_no_documents_when_care_ended_earlier(services, world, call, clean_db):
    from datetime import date

    _end_placement(clean_db["accounts"], world.children["dewi"], date(date.today().year - 2, 12, 31))
    key, size = stored_pdf()
    with pytest.raises(NotFound):
        call("admin", "add_guardian_document", world.accounts["parent_d"], "annual_statement",
             "Jaaropgave", str(date.today().year - 2), key, "jaaropgave.pdf", size)


def test_document_added_event_names_no_period(services, world, call, clean_db):
    from sqlalchemy import create_engine, text

    key, size = stored_pdf()
    added = call("admin", "add_guardian_document", world.accounts["parent_a"], "invoice", "Factuur november",
                 "2026-11", key, "factuur.pdf", size)
    engine = create_engine(clean_db["messaging"])
    try:
        with engine.connect() as connection:
            payloads = connection.execute(
                text("SELECT payload FROM outbox WHERE event_type = 'document_added'")
            ).scalars().all()
    finally:
        engine.dispose()
    assert len(payloads) == 1
    assert payloads[0]["document_id"] == added["id"]
    assert payloads[0]["guardian_id"] == world.accounts["parent_a"]
    assert payloads[0]["kind"] == "invoice"
    assert "title" not in payloads[0]
    assert "period" not in payloads[0]
