"""Registry reads for the web app, scoped CSV uploads and rights documents (writes of marks,
products, sellers and watches go through ``db.registry``)."""


import csv
import hashlib
import io
from typing import Any

import sqlalchemy as sa

from db.enforcement import (
    RightsDocument,
)
from db.models import (
    AuthorisedSeller,
    Mark,
    Marketplace,
    Product,
    Watch,
)
from db.tenancy import Scope

SELLERS_PAGE = 200  # authorised sellers per registry page (a holder may have 200,000)


def registry_view(scope: Scope, *, seller_q: str = "", seller_page: int = 1) -> dict[str, Any]:
    """The registry of one holder; authorised sellers a page at a time, optionally those whose
    name contains ``seller_q``."""
    s = scope.session
    sellers = scope.select(AuthorisedSeller)
    if seller_q:
        like = "%" + seller_q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        sellers = sellers.where(AuthorisedSeller.seller_name.ilike(like, escape="\\"))
    total = s.scalar(sellers.with_only_columns(sa.func.count()).order_by(None)) or 0
    pages = max(1, -(-total // SELLERS_PAGE))
    page = min(max(1, seller_page), pages)
    return {
        "marks": list(s.scalars(scope.select(Mark).order_by(Mark.word_mark, Mark.id))),
        "products": list(s.scalars(scope.select(Product).order_by(Product.name))),
        "sellers": list(s.scalars(sellers.order_by(AuthorisedSeller.seller_name, AuthorisedSeller.id)
                                  .offset((page - 1) * SELLERS_PAGE).limit(SELLERS_PAGE))),
        "sellers_total": total, "seller_page": page, "seller_pages": pages, "seller_q": seller_q,
        "watches": list(s.scalars(scope.select(Watch).order_by(Watch.id))),
        "documents": list(s.scalars(scope.select(RightsDocument).order_by(RightsDocument.id))),
        "marketplaces": list(s.scalars(sa.select(Marketplace).order_by(Marketplace.code))),
    }


def scoped_csv(text: str, slug: str, *, column: str = "rights_holder", name: str = "upload") -> str:
    """A registry CSV made to name only this rights holder: an empty or missing column is
    filled in, another holder's slug is an error (reported with its line)."""
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = list(reader.fieldnames or [])
    if column not in header:
        header.insert(0, column)
    out = io.StringIO()
    w = csv.DictWriter(out, fieldnames=header, extrasaction="ignore")
    w.writeheader()
    errors = []
    for row in reader:
        if None in row:
            errors.append((reader.line_num, "more fields than the header has columns"))
            continue
        given = (row.get(column) or "").strip()
        if given and given != slug:
            errors.append((reader.line_num, f"rights_holder must be {slug!r} (yours), got {given[:80]!r}"))
            continue
        row[column] = slug
        w.writerow(row)
    if errors:
        from db.registry import RegistryImportError

        raise RegistryImportError(name, errors)
    return out.getvalue()


def add_document(scope: Scope, *, title: str, filename: str, content_type: str, body: bytes,
                 mark_id: int | None) -> RightsDocument:
    if mark_id is not None:
        scope.get(Mark, mark_id)
    doc = RightsDocument(
        rights_holder_id=scope.rights_holder_id, mark_id=mark_id, title=title,
        filename=filename, content_type=content_type, sha256=hashlib.sha256(body).hexdigest(),
        size=len(body), body=body, uploaded_by=scope.actor,
    )
    scope.session.add(doc)
    scope.session.flush()
    return doc


