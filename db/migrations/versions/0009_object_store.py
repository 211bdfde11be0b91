"""evidence in the object store: snapshot body optional; crawl run worker and heartbeat

Revision ID: 0009
Revises: 0006
Create Date: 2026-11-25 09:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import db.types

revision = '0009'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('evidence_snapshot', schema=None) as batch_op:
        batch_op.alter_column('body', existing_type=sa.LargeBinary(), nullable=True)
    with op.batch_alter_table('crawl_run', schema=None) as batch_op:
        batch_op.add_column(sa.Column('worker', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('heartbeat_at', db.types.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    # Rows whose page lives only in the object store cannot go back to a NOT NULL body, and
    # evidence is never deleted to make a downgrade pass.
    n = op.get_bind().execute(sa.text("SELECT count(*) FROM evidence_snapshot WHERE body IS NULL")).scalar()
    if n:
        raise RuntimeError(f"{n} evidence snapshots keep their page only in the object store; "
                           "this revision cannot be downgraded without losing them")
    with op.batch_alter_table('crawl_run', schema=None) as batch_op:
        batch_op.drop_column('heartbeat_at')
        batch_op.drop_column('worker')
    with op.batch_alter_table('evidence_snapshot', schema=None) as batch_op:
        batch_op.alter_column('body', existing_type=sa.LargeBinary(), nullable=False)
