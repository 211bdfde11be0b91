"""reliability: outbox, deliveries, dead letters, event hash chain, WARC evidence

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 01:08:09.543399
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql
import db.types

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('dead_letter',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('task_id', sa.String(length=155), nullable=False),
    sa.Column('task_name', sa.String(length=200), nullable=False),
    sa.Column('args', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('deliveries', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('created_at', db.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dead_letter')),
    sa.UniqueConstraint('task_id', name=op.f('uq_dead_letter_task_id'))
    )
    op.create_table('outbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('task_name', sa.String(length=200), nullable=False),
    sa.Column('args', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox'))
    )
    op.create_table('task_delivery',
    sa.Column('task_id', sa.String(length=155), nullable=False),
    sa.Column('task_name', sa.String(length=200), nullable=False),
    sa.Column('deliveries', sa.Integer(), nullable=False),
    sa.Column('first_seen_at', db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', db.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('task_id', name=op.f('pk_task_delivery'))
    )
    with op.batch_alter_table('alert_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('prev_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('hash', sa.String(length=64), nullable=True))

    with op.batch_alter_table('evidence_snapshot', schema=None) as batch_op:
        batch_op.add_column(sa.Column('warc_file', sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column('warc_offset', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('warc_record_id', sa.String(length=100), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('evidence_snapshot', schema=None) as batch_op:
        batch_op.drop_column('warc_record_id')
        batch_op.drop_column('warc_offset')
        batch_op.drop_column('warc_file')

    with op.batch_alter_table('alert_event', schema=None) as batch_op:
        batch_op.drop_column('hash')
        batch_op.drop_column('prev_hash')

    op.drop_table('task_delivery')
    op.drop_table('outbox')
    op.drop_table('dead_letter')
