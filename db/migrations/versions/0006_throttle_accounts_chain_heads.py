"""sign-in throttling, accounts per rights holder, alert chain heads

login_throttle counts failed sign-ins per account and per address. An e-mail address is unique
per rights holder (stored lower-cased), no longer across all of them. Each alert keeps the head
hash and the length of its history chain (filled here from the events already stored).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 10:27:44.315523
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import db.types

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('login_throttle',
    sa.Column('key', sa.String(length=300), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('last_failed_at', db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('locked_until', db.types.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_login_throttle'))
    )
    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.add_column(sa.Column('chain_head', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('chain_length', sa.Integer(), server_default='0', nullable=False))
    op.execute(
        "UPDATE alert SET "
        "chain_length = (SELECT count(*) FROM alert_event e WHERE e.alert_id = alert.id), "
        "chain_head = (SELECT e.hash FROM alert_event e WHERE e.alert_id = alert.id "
        "ORDER BY e.id DESC LIMIT 1)"
    )
    op.execute("UPDATE app_user SET email = lower(trim(email))")

    with op.batch_alter_table('app_user', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_app_user_email'), type_='unique')
        batch_op.create_index(batch_op.f('ix_app_user_email'), ['email'], unique=False)
        batch_op.create_unique_constraint(batch_op.f('uq_app_user_rights_holder_id_email'), ['rights_holder_id', 'email'])



def downgrade() -> None:
    # fails if an address now has accounts at two rights holders: remove one of them first
    with op.batch_alter_table('app_user', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_app_user_rights_holder_id_email'), type_='unique')
        batch_op.drop_index(batch_op.f('ix_app_user_email'))
        batch_op.create_unique_constraint(batch_op.f('uq_app_user_email'), ['email'])

    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.drop_column('chain_length')
        batch_op.drop_column('chain_head')

    op.drop_table('login_throttle')
