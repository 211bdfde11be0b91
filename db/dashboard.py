"""The per-rights-holder dashboard: alerts over time, reviewer precision, takedowns, dismiss
reasons and the cleanliness of each watch."""


from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa

from db.alert_queue import status_counts
from db.alerts import matched_mark
from db.enforcement import (
    AnswerOutcome,
    MarketplaceAnswer,
    Notice,
    NoticeStatus,
)
from db.models import (
    Alert,
    AlertEvent,
    AlertStatus,
    CrawlRun,
    CrawlSighting,
    CrawlStatus,
    Mark,
    Marketplace,
    Watch,
)
from db.tenancy import Scope
from db.types import utcnow
from db.verdicts import dismiss_reason_counts


@dataclass
class Dashboard:
    days: list[date]
    by_day: dict[str, list[int]]  # to_status -> counts per day
    counts: dict[str, int]
    precision: float | None
    per_reviewer: list[tuple[str, int, int, float]]
    detection_to_notice_hours: list[float]
    takedown: list[tuple[str, int, int, float | None]]  # marketplace, removed, answered, rate
    cleanliness: list[tuple[int, str, str, int, int, float | None]]
    dismiss_reasons: dict[str, int]


def dashboard(scope: Scope, *, days: int = 30, top_n: int = 10, today: date | None = None) -> Dashboard:
    s = scope.session
    today = today or utcnow().date()
    start = today - timedelta(days=days - 1)
    day_list = [start + timedelta(days=i) for i in range(days)]
    idx = {d: i for i, d in enumerate(day_list)}
    by_day: dict[str, list[int]] = {k: [0] * days for k in ("new", "confirmed", "dismissed")}
    q = (
        sa.select(AlertEvent.created_at, AlertEvent.to_status)
        .join(Alert, Alert.id == AlertEvent.alert_id)
        .where(Alert.rights_holder_id == scope.rights_holder_id)
        .where(AlertEvent.created_at >= datetime.combine(start, datetime.min.time(), UTC))
        .where(AlertEvent.to_status.in_(list(by_day)))
    )
    for at, to in s.execute(q):
        i = idx.get(at.date())
        if i is not None and to is not None:
            by_day[to][i] += 1
    counts = status_counts(scope)

    verdicts = (
        sa.select(AlertEvent.actor, AlertEvent.action, sa.func.count())
        .join(Alert, Alert.id == AlertEvent.alert_id)
        .where(Alert.rights_holder_id == scope.rights_holder_id)
        .where(AlertEvent.action.in_(["confirm", "dismiss"]))
        .group_by(AlertEvent.actor, AlertEvent.action)
    )
    per: dict[str, Counter[str]] = defaultdict(Counter)
    for actor, action, n in s.execute(verdicts):
        per[actor][action] += n
    per_reviewer = []
    for actor, c in sorted(per.items()):
        tot = c["confirm"] + c["dismiss"]
        per_reviewer.append((actor, c["confirm"], c["dismiss"], c["confirm"] / tot if tot else 0.0))
    decided = counts["confirmed"] + counts["dismissed"]
    precision = counts["confirmed"] / decided if decided else None

    hours: list[float] = []
    sent = s.execute(
        scope.select(Notice).with_only_columns(Notice.sent_at, Notice.alert_ids)
        .where(Notice.status == NoticeStatus.SENT)
    ).all()
    first_sent: dict[int, datetime] = {}
    for sent_at, ids in sent:
        for i in ids:
            if i not in first_sent or sent_at < first_sent[i]:
                first_sent[i] = sent_at
    if first_sent:
        for aid, created in s.execute(
            sa.select(Alert.id, Alert.created_at).where(Alert.id.in_(list(first_sent)))
        ):
            hours.append(round((first_sent[aid] - created).total_seconds() / 3600, 2))

    answered = s.execute(
        sa.select(Marketplace.code, MarketplaceAnswer.outcome, sa.func.count())
        .join(Notice, Notice.id == MarketplaceAnswer.notice_id)
        .join(Marketplace, Marketplace.id == Notice.marketplace_id)
        .where(MarketplaceAnswer.rights_holder_id == scope.rights_holder_id)
        .group_by(Marketplace.code, MarketplaceAnswer.outcome)
    ).all()
    tk: dict[str, Counter[str]] = defaultdict(Counter)
    for code, outcome, n in answered:
        tk[code][AnswerOutcome(outcome).value] += n
    takedown = []
    for code, c in sorted(tk.items()):
        tot = sum(c.values())
        takedown.append((code, c["removed"], tot, c["removed"] / tot if tot else None))

    return Dashboard(day_list, by_day, counts, precision, per_reviewer, sorted(hours), takedown,
                     cleanliness(scope, top_n=top_n), dismiss_reason_counts(scope))


def cleanliness(scope: Scope, *, top_n: int = 10) -> list[tuple[int, str, str, int, int, float | None]]:
    """Per watch: of the listings in the top ``top_n`` search results of its latest successful
    crawl, the share that are clean (no alert for the watch's mark, or a dismissed one).
    Rows: (watch id, mark, marketplace, clean, seen, share)."""
    s = scope.session
    watches = s.execute(
        scope.select(Watch).with_only_columns(Watch.id, Watch.mark_id, Mark.word_mark, Marketplace.code)
        .join(Mark, Mark.id == Watch.mark_id)
        .join(Marketplace, Marketplace.id == Watch.marketplace_id)
        .order_by(Watch.id)
    ).all()
    out: list[tuple[int, str, str, int, int, float | None]] = []
    for wid, mark_id, word, code in watches:
        run_id = s.scalar(
            sa.select(CrawlRun.id).where(CrawlRun.watch_id == wid, CrawlRun.status == CrawlStatus.SUCCEEDED)
            .order_by(CrawlRun.id.desc()).limit(1)
        )
        if run_id is None:
            out.append((wid, word, code, 0, 0, None))
            continue
        top = set(s.scalars(
            sa.select(CrawlSighting.listing_id).where(
                CrawlSighting.crawl_run_id == run_id, CrawlSighting.rank.is_not(None),
                CrawlSighting.rank <= top_n,
            )
        ))
        if not top:
            out.append((wid, word, code, 0, 0, None))
            continue
        dirty = set(s.scalars(
            sa.select(Alert.listing_id).where(
                Alert.rights_holder_id == scope.rights_holder_id, matched_mark(mark_id=mark_id),
                Alert.listing_id.in_(top), Alert.status != AlertStatus.DISMISSED,
            )
        ))
        clean = len(top - dirty)
        out.append((wid, word, code, clean, len(top), clean / len(top)))
    return out


