"""Invoices, annual statements and the parent committee through the gateway with the demo data."""

import io
import time
import uuid

import pytest
import requests
from pypdf import PdfReader
from reportlab.pdfgen import canvas

ADMIN, COORDINATOR_CENTRUM, STAFF = "900003", "900002", "900001"
ANOUK, MARK = "100001", "100002"


def pdf_with_text(text: str) -> bytes:
    buffer = io.BytesIO()
    document = canvas.Canvas(buffer)
    document.drawString(72, 720, text)
    document.save()
    return buffer.getvalue()


@pytest.fixture(scope="module")
def tokens(platform):
    return {number: platform.login(number)["access_token"]
            for number in (ADMIN, COORDINATOR_CENTRUM, STAFF, ANOUK, MARK)}


def upload(platform, token, guardian, content, kind="invoice", period="2026-11", title="Factuur november 2026",
           filename="factuur-2026-11.pdf"):
    return platform.post(f"/api/v1/guardians/{guardian}/documents", token,
                         data={"kind": kind, "title": title, "period": period},
                         files={"file": (filename, content, "application/pdf")})


def delete(platform, token, path):
    return requests.delete(f"{platform.url}{path}", headers={"Authorization": f"Bearer {token}"}, timeout=15)


def document_files(platform):
    return [path for path in (platform.data_dir / "storage" / "documents").rglob("*") if path.is_file()]


def test_admin_invoice_reaches_only_its_guardian(platform, tokens):
    created = upload(platform, tokens[ADMIN], ANOUK, pdf_with_text("Factuur voor 100001"))
    assert created.status_code == 201, created.text
    document = created.json()
    assert document["kind"] == "invoice"
    assert document["period"] == "2026-11"

    mine = platform.get("/api/v1/me/documents", tokens[ANOUK]).json()
    assert mine[0]["id"] == document["id"]
    download = platform.get(f"/api/v1/me/documents/{document['id']}/download", tokens[ANOUK])
    assert download.status_code == 200
    assert download.headers["Content-Type"] == "application/pdf"
    assert "factuur-2026-11.pdf" in download.headers["Content-Disposition"]
    text = PdfReader(io.BytesIO(download.content)).pages[0].extract_text()
    assert "Factuur voor 100001" in text

    assert document["id"] not in [d["id"] for d in platform.get("/api/v1/me/documents", tokens[MARK]).json()]
    assert platform.get(f"/api/v1/me/documents/{document['id']}/download", tokens[MARK]).status_code == 404
    assert platform.get(f"/api/v1/me/documents/{uuid.uuid4()}/download", tokens[ANOUK]).status_code == 404
    assert "document.not_found" in platform.logs()


def test_upload_checks_file_and_caller(platform, tokens):
    files_before = len(document_files(platform))
    not_pdf = upload(platform, tokens[ADMIN], ANOUK, b"GIF89a not a pdf")
    assert not_pdf.status_code == 415
    too_large = upload(platform, tokens[ADMIN], ANOUK, b"%PDF-" + b"0" * (10 * 1024 * 1024))
    assert too_large.status_code == 413
    bad_period = upload(platform, tokens[ADMIN], ANOUK, pdf_with_text("x"), kind="annual_statement", period="2026-11")
    assert bad_period.status_code == 400
    assert bad_period.json()["error"]["code"] == "document_period_invalid"
    assert upload(platform, tokens[STAFF], ANOUK, pdf_with_text("x")).status_code == 403
    assert upload(platform, tokens[MARK], ANOUK, pdf_with_text("x")).status_code == 404
    assert upload(platform, tokens[ADMIN], "999999", pdf_with_text("x")).status_code == 404
    # A rejected upload leaves no file behind in storage.
    assert len(document_files(platform)) == files_before


def test_annual_statement_deleted_by_admin(platform, tokens):
    created = upload(platform, tokens[ADMIN], MARK, pdf_with_text("Jaaropgave 2025"), kind="annual_statement",
                     period="2025", title="Jaaropgave 2025", filename="jaaropgave-2025.pdf").json()
    assert platform.get("/api/v1/me/documents", tokens[MARK]).json()[0]["id"] == created["id"]
    assert delete(platform, tokens[MARK], f"/api/v1/documents/{created['id']}").status_code == 404
    assert delete(platform, tokens[ADMIN], f"/api/v1/documents/{created['id']}").status_code == 204
    assert platform.get(f"/api/v1/me/documents/{created['id']}/download", tokens[MARK]).status_code == 404


def test_parent_committee_with_minutes(platform, tokens):
    children = platform.get("/api/v1/me", tokens[ANOUK]).json()["children"]
    centrum = next(child for child in children if child["group_name"] == "Vlinders")["location_id"]
    oost = next(child for child in children if child["group_name"] == "Avonturiers")["location_id"]

    path = f"/api/v1/locations/{centrum}/parent-committee"
    updated = platform.put(path, tokens[COORDINATOR_CENTRUM], json={
        "members": [{"name": "Sanne Bakker", "role": "voorzitter"}, {"name": "Ahmed Yilmaz"}],
        "contact_email": "oc-centrum@example.org"})
    assert updated.status_code == 200, updated.text
    assert platform.put(f"/api/v1/locations/{oost}/parent-committee", tokens[COORDINATOR_CENTRUM],
                        json={"members": []}).status_code == 404
    assert platform.put(path, tokens[COORDINATOR_CENTRUM],
                        json={"members": [], "contact_email": "geen adres"}).status_code == 400

    minutes = platform.post(f"{path}/minutes", tokens[COORDINATOR_CENTRUM],
                            data={"title": "Verslag november", "period": "2026-11-05"},
                            files={"file": ("verslag.pdf", pdf_with_text("Verslag oudercommissie"), "application/pdf")})
    assert minutes.status_code == 201, minutes.text

    committee = platform.get(path, tokens[ANOUK]).json()
    assert committee["members"][0] == {"name": "Sanne Bakker", "role": "voorzitter"}
    assert committee["contact_email"] == "oc-centrum@example.org"
    assert committee["minutes"][0]["id"] == minutes.json()["id"]
    download = platform.get(f"{path}/minutes/{minutes.json()['id']}/download", tokens[ANOUK])
    assert "Verslag oudercommissie" in PdfReader(io.BytesIO(download.content)).pages[0].extract_text()

    # Mark's only child attends Zonnebloem Centrum too, so he reads its committee. Oost stays hidden from him.
    mark_location = platform.get("/api/v1/me", tokens[MARK]).json()["children"][0]["location_id"]
    assert mark_location == centrum
    assert platform.get(f"/api/v1/locations/{oost}/parent-committee", tokens[MARK]).status_code == 404
    assert platform.get(f"/api/v1/locations/{oost}/parent-committee/minutes/{minutes.json()['id']}/download",
                        tokens[ANOUK]).status_code == 404


def test_news_attachment_stored_and_streamed(platform, tokens):
    created = platform.post("/api/v1/news", tokens[ADMIN],
                            json={"title": "Nieuwsbrief december", "body": "Zie de bijlage.", "kind": "newsletter"})
    assert created.status_code == 201, created.text
    news_id = created.json()["id"]
    path = f"/api/v1/news/{news_id}/attachments"
    files_before = len(document_files(platform))

    content = pdf_with_text("Nieuwsbrief december")
    attached = platform.post(path, tokens[ADMIN], files={"file": ("nieuwsbrief.pdf", content, "application/pdf")})
    assert attached.status_code == 201, attached.text
    raw = platform.post(f"{path}?filename=rooster.pdf", tokens[ADMIN], data=pdf_with_text("Rooster"),
                        headers={"Content-Type": "application/pdf"})
    assert raw.status_code == 201, raw.text
    assert raw.json()["filename"] == "rooster.pdf"
    assert len(document_files(platform)) == files_before + 2

    not_pdf = platform.post(path, tokens[ADMIN], files={"file": ("x.pdf", b"GIF89a", "application/pdf")})
    assert not_pdf.status_code == 415
    assert not_pdf.json()["error"]["code"] == "attachment_not_pdf"
    # The administrator's language setting is Dutch, and it wins over Accept-Language.
    assert not_pdf.json()["error"]["message"] == "De bijlage is geen PDF-bestand."
    assert platform.post(path, tokens[ADMIN], data=b"").status_code == 400
    assert platform.post(path, tokens[MARK], files={"file": ("x.pdf", content, "application/pdf")}).status_code == 404
    # Rejected uploads leave no file behind in storage.
    assert len(document_files(platform)) == files_before + 2

    item = platform.get(f"/api/v1/news/{news_id}", tokens[ANOUK]).json()
    assert [a["filename"] for a in item["attachments"]] == ["nieuwsbrief.pdf", "rooster.pdf"]
    download = platform.get(f"{path}/{attached.json()['id']}", tokens[ANOUK])
    assert download.status_code == 200
    assert download.headers["Content-Type"] == "application/pdf"
    assert "nieuwsbrief.pdf" in download.headers["Content-Disposition"]
    assert download.content == content
    assert platform.get(f"{path}/{uuid.uuid4()}", tokens[ANOUK]).status_code == 404


def test_invoice_notifies_its_guardian(platform, tokens):
    created = upload(platform, tokens[ADMIN], MARK, pdf_with_text("Factuur voor 100002"))
    assert created.status_code == 201, created.text
    document_id = created.json()["id"]

    def inbox_item(token):
        items = platform.get("/api/v1/me/notifications?limit=50", token).json()["items"]
        return next((item for item in items if item["item_id"] == document_id), None)

    deadline = time.monotonic() + 20
    while inbox_item(tokens[MARK]) is None and time.monotonic() < deadline:
        time.sleep(0.3)
    item = inbox_item(tokens[MARK])
    assert item is not None
    assert item["subject"] == "documents"
    assert inbox_item(tokens[ANOUK]) is None
    platform.wait_for_mail(lambda message: "nieuw document" in message["Subject"])
