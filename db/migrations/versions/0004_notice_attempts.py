"""notice delivery attempts: attempts, claimed_at, status needs_reconciliation

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 02:10:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import db.types

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

OLD = ("draft", "queued", "sending", "sent", "failed")
NEW = (*OLD, "needs_reconciliation")


def _status_check(values: tuple[str, ...]) -> str:
    return "status IN (" + ", ".join(f"'{v}'" for v in values) + ")"


def upgrade() -> None:
    with op.batch_alter_table('notice', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attempts', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('claimed_at', db.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.drop_constraint(op.f('ck_notice_noticestatus'), type_='check')
        batch_op.create_check_constraint(op.f('ck_notice_noticestatus'), _status_check(NEW))


def downgrade() -> None:
    op.execute("UPDATE notice SET status = 'failed' WHERE status = 'needs_reconciliation'")
    with op.batch_alter_table('notice', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_notice_noticestatus'), type_='check')
        batch_op.create_check_constraint(op.f('ck_notice_noticestatus'), _status_check(OLD))
        batch_op.drop_column('claimed_at')
        batch_op.drop_column('attempts')
