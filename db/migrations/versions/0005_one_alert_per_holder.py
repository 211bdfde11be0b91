"""one alert per (listing, rights holder): alert_mark records every matched mark

A listing that hits two marks of one holder (KESTREL and KESTREL TRAIL) was two alerts; it is
now one, whose ``mark_id`` is the best-scoring mark and whose ``alert_mark`` rows name them all.

Existing duplicates are merged. Of the alerts of one (listing, holder), the survivor is the one
a reviewer has gone furthest with: in a case first, then confirmed, in review, dismissed, new;
then the highest score; then the oldest. It takes the best mark and score, the reasons of every
alert (each labelled with its mark), the case membership of a merged alert if it had none, and
the merged alerts' place in notices. The merged alerts' histories are copied, whole, into one
``merged`` event appended to the survivor's hash-chained history, then the merged alerts are
deleted. Downgrading keeps the merged alerts merged (each still has one mark) and drops
``alert_mark``.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 10:00:00
"""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

import db.types

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

STATUS_RANK = {"confirmed": 3, "in_review": 2, "dismissed": 1, "new": 0}
ACTOR = "system:migration"

alert = sa.table(
    "alert", sa.column("id", sa.Integer), sa.column("listing_id", sa.Integer),
    sa.column("rights_holder_id", sa.Integer), sa.column("mark_id", sa.Integer),
    sa.column("product_id", sa.Integer), sa.column("kind", sa.String),
    sa.column("score", sa.Integer), sa.column("tier", sa.String),
    sa.column("reasons", db.types.JSONType), sa.column("status", sa.String),
    sa.column("updated_at", db.types.UTCDateTime()),
)
alert_mark = sa.table(
    "alert_mark", sa.column("alert_id", sa.Integer), sa.column("mark_id", sa.Integer),
    sa.column("score", sa.Integer),
)
alert_event = sa.table(
    "alert_event", sa.column("id", sa.Integer), sa.column("alert_id", sa.Integer),
    sa.column("actor", sa.String), sa.column("action", sa.String),
    sa.column("from_status", sa.String), sa.column("to_status", sa.String),
    sa.column("reason", sa.Text), sa.column("details", db.types.JSONType),
    sa.column("created_at", db.types.UTCDateTime()), sa.column("prev_hash", sa.String),
    sa.column("hash", sa.String),
)
case_alert = sa.table("case_alert", sa.column("case_id", sa.Integer),
                      sa.column("alert_id", sa.Integer))
notice = sa.table("notice", sa.column("id", sa.Integer),
                  sa.column("alert_ids", db.types.JSONType))
mark = sa.table("mark", sa.column("id", sa.Integer), sa.column("word_mark", sa.String))


def upgrade() -> None:
    op.create_table('alert_mark',
    sa.Column('alert_id', sa.Integer(), nullable=False),
    sa.Column('mark_id', sa.Integer(), nullable=False),
    sa.Column('score', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['alert_id'], ['alert.id'], name=op.f('fk_alert_mark_alert_id_alert'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['mark_id'], ['mark.id'], name=op.f('fk_alert_mark_mark_id_mark'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('alert_id', 'mark_id', name=op.f('pk_alert_mark'))
    )
    with op.batch_alter_table('alert_mark', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alert_mark_mark_id'), ['mark_id'], unique=False)

    conn = op.get_bind()
    conn.execute(alert_mark.insert().from_select(
        ["alert_id", "mark_id", "score"], sa.select(alert.c.id, alert.c.mark_id, alert.c.score)))
    _merge_duplicates(conn)

    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('uq_alert_listing_id_mark_id'), type_='unique')
        batch_op.create_unique_constraint(op.f('uq_alert_listing_id_rights_holder_id'),
                                          ['listing_id', 'rights_holder_id'])


def downgrade() -> None:
    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('uq_alert_listing_id_rights_holder_id'), type_='unique')
        batch_op.create_unique_constraint(op.f('uq_alert_listing_id_mark_id'),
                                          ['listing_id', 'mark_id'])
    with op.batch_alter_table('alert_mark', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alert_mark_mark_id'))
    op.drop_table('alert_mark')


def _merge_duplicates(conn: sa.Connection) -> None:
    groups = conn.execute(
        sa.select(alert.c.listing_id, alert.c.rights_holder_id)
        .group_by(alert.c.listing_id, alert.c.rights_holder_id)
        .having(sa.func.count() > 1)
    ).all()
    if not groups:
        return
    words = dict(conn.execute(sa.select(mark.c.id, mark.c.word_mark)).all())
    in_case = dict(conn.execute(sa.select(case_alert.c.alert_id, case_alert.c.case_id)).all())
    replaced: dict[int, int] = {}
    for listing_id, holder_id in groups:
        rows = [r._asdict() for r in conn.execute(
            sa.select(alert).where(alert.c.listing_id == listing_id,
                                   alert.c.rights_holder_id == holder_id)
        )]
        rows.sort(key=lambda r: (r["id"] not in in_case, -STATUS_RANK.get(r["status"], 0),
                                 -r["score"], r["id"]))
        survivor, losers = rows[0], rows[1:]
        best = max(rows, key=lambda r: (r["score"], -r["id"]))
        _absorb(conn, survivor, best, losers, words, in_case)
        replaced.update({lo["id"]: survivor["id"] for lo in losers})
    for nid, ids in conn.execute(sa.select(notice.c.id, notice.c.alert_ids)).all():
        if any(i in replaced for i in ids or ()):
            new = list(dict.fromkeys(replaced.get(i, i) for i in ids))
            conn.execute(notice.update().where(notice.c.id == nid).values(alert_ids=new))


def _labelled(reasons: list[dict[str, Any]] | None, word: str | None) -> list[dict[str, Any]]:
    return [{**r, "mark": r.get("mark") or word} for r in reasons or ()]


def _absorb(conn: sa.Connection, survivor: dict[str, Any], best: dict[str, Any],
            losers: list[dict[str, Any]], words: dict[int, str], in_case: dict[int, int]) -> None:
    from db.chain import event_digest
    from db.types import utcnow

    sid = survivor["id"]
    ordered = sorted([survivor, *losers], key=lambda r: (-r["score"], r["id"]))
    reasons = [x for r in ordered for x in _labelled(r["reasons"], words.get(r["mark_id"]))]
    merged = []
    for lo in losers:
        events = conn.execute(
            sa.select(alert_event).where(alert_event.c.alert_id == lo["id"])
            .order_by(alert_event.c.id)
        ).all()
        merged.append({
            "alert_id": lo["id"], "mark_id": lo["mark_id"], "mark": words.get(lo["mark_id"]),
            "status": lo["status"], "score": lo["score"], "case_id": in_case.get(lo["id"]),
            "events": [
                {"id": e.id, "actor": e.actor, "action": e.action, "from": e.from_status,
                 "to": e.to_status, "reason": e.reason, "details": e.details,
                 "at": e.created_at.isoformat(timespec="microseconds"), "hash": e.hash}
                for e in events
            ],
        })
    if sid not in in_case:
        moved = next((lo["id"] for lo in losers if lo["id"] in in_case), None)
        if moved is not None:
            conn.execute(case_alert.update().where(case_alert.c.alert_id == moved)
                         .values(alert_id=sid))
            in_case[sid] = in_case.pop(moved)

    gone = [lo["id"] for lo in losers]
    for table, col in ((alert_event, alert_event.c.alert_id), (alert_mark, alert_mark.c.alert_id),
                       (case_alert, case_alert.c.alert_id)):
        conn.execute(table.delete().where(col.in_(gone)))
    conn.execute(alert.delete().where(alert.c.id.in_(gone)))
    for g in gone:
        in_case.pop(g, None)

    for lo in losers:
        conn.execute(alert_mark.insert().values(alert_id=sid, mark_id=lo["mark_id"],
                                                score=lo["score"]))
    conn.execute(alert.update().where(alert.c.id == sid).values(
        mark_id=best["mark_id"], score=best["score"], tier=best["tier"], kind=best["kind"],
        product_id=best["product_id"] or survivor["product_id"], reasons=reasons,
        updated_at=utcnow(),
    ))

    prev = conn.execute(
        sa.select(alert_event.c.hash).where(alert_event.c.alert_id == sid)
        .order_by(alert_event.c.id.desc()).limit(1)
    ).scalar()
    details = {"merged_alerts": merged,
               "note": "one alert per listing per rights holder: these alerts were merged here"}
    at = utcnow()
    digest = event_digest(prev_hash=prev, alert_id=sid, actor=ACTOR, action="merged",
                          from_status=None, to_status=None, reason=None, details=details,
                          created_at=at)
    conn.execute(alert_event.insert().values(
        alert_id=sid, actor=ACTOR, action="merged", from_status=None, to_status=None,
        reason=None, details=details, created_at=at, prev_hash=prev, hash=digest))
