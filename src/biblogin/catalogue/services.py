"""Writing the catalogue: the search columns, and bulk loading (demo, benchmarks)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.db import transaction

from biblogin.catalogue.models import Holding, Manifestation, OnlineAccess, Work
from biblogin.catalogue.search.text import index_text, sort_key


def manifestation_search_fields_set(*, manifestation: Manifestation) -> None:
    """Fill the search columns from the bibliographic fields (before saving)."""
    m = manifestation
    m.search_title = index_text(f"{m.title} {m.subtitle}")
    m.search_creators = index_text(" ".join(c.get("name", "") for c in m.creators))
    m.search_body = index_text(
        " ".join([*m.subjects, m.publisher, m.description, m.isbn, m.issn, m.edition])
    )
    m.sort_title = sort_key(m.title)


def manifestation_save(*, manifestation: Manifestation) -> Manifestation:
    """Save one manifestation with its search columns (the search index follows in the DB)."""
    manifestation_search_fields_set(manifestation=manifestation)
    manifestation.full_clean()
    manifestation.save()
    return manifestation


@transaction.atomic
def catalogue_bulk_insert(
    *,
    works: Sequence[Work],
    manifestations: Iterable[Manifestation],
    holdings: Iterable[Holding] = (),
    online_access: Iterable[OnlineAccess] = (),
    batch_size: int = 2000,
) -> int:
    """Insert new rows in bulk; manifestations get their search columns here. Returns the
    number of manifestations. Works must be saved first or be in ``works``."""
    Work.objects.bulk_create(list(works), batch_size=batch_size)
    ms = list(manifestations)
    for m in ms:
        manifestation_search_fields_set(manifestation=m)
    Manifestation.objects.bulk_create(ms, batch_size=batch_size)
    Holding.objects.bulk_create(list(holdings), batch_size=batch_size)
    OnlineAccess.objects.bulk_create(list(online_access), batch_size=batch_size)
    return len(ms)
