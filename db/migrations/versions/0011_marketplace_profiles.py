"""marketplace profiles: the profile the generic spider reads, stored with its marketplace

Revision ID: 0011
Revises: 0009
Create Date: 2026-12-01 13:30:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import db.types

revision = '0011'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('marketplace', schema=None) as batch_op:
        batch_op.add_column(sa.Column('profile', db.types.JSONType, nullable=True))


def downgrade() -> None:
    # A marketplace read by the generic spider cannot be crawled without its profile.
    n = op.get_bind().execute(
        sa.text("SELECT count(*) FROM marketplace WHERE profile IS NOT NULL")).scalar()
    if n:
        raise RuntimeError(f"{n} marketplaces are described by a profile; remove them (or give "
                           "them a Python spider) before downgrading")
    with op.batch_alter_table('marketplace', schema=None) as batch_op:
        batch_op.drop_column('profile')
