"""marketplaces operate in several countries (a notice's right must be valid in one of them);
marks can be retired and authorisations ended; API tokens expire; automation rules

Revision ID: 0010
Revises: 0013
Create Date: 2026-12-01 13:45:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import db.types

revision = '0010'
down_revision = '0013'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade() -> None:
    with op.batch_alter_table('marketplace', schema=None) as batch_op:
        batch_op.add_column(sa.Column('countries', JSON, nullable=True))
    # every marketplace operates at least where it is based
    market = sa.table('marketplace', sa.column('id', sa.Integer), sa.column('country', sa.String),
                      sa.column('countries', JSON))
    bind = op.get_bind()
    for mid, country in bind.execute(sa.select(market.c.id, market.c.country)).all():
        bind.execute(market.update().where(market.c.id == mid)
                     .values(countries=[country] if country else []))
    with op.batch_alter_table('marketplace', schema=None) as batch_op:
        batch_op.alter_column('countries', existing_type=JSON, nullable=False)
    with op.batch_alter_table('mark', schema=None) as batch_op:
        batch_op.add_column(sa.Column('retired_at', db.types.UTCDateTime(timezone=True), nullable=True))
    with op.batch_alter_table('authorised_seller', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ended_on', sa.Date(), nullable=True))
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.add_column(sa.Column('expires_at', db.types.UTCDateTime(timezone=True), nullable=True))


    op.create_table(
        'automation_rule',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('rights_holder_id', sa.Integer(), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('conditions', JSON, nullable=False),
        sa.Column('action', sa.String(length=16), nullable=False),
        sa.Column('reason', sa.String(length=40), nullable=True),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('created_by', sa.String(length=254), nullable=False),
        sa.Column('created_at', db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['rights_holder_id'], ['rights_holder.id'],
                                name=op.f('fk_automation_rule_rights_holder_id_rights_holder'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_automation_rule')),
    )
    with op.batch_alter_table('automation_rule', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_automation_rule_rights_holder_id'), ['rights_holder_id'], unique=False)


def downgrade() -> None:
    op.drop_table('automation_rule')
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.drop_column('expires_at')
    with op.batch_alter_table('authorised_seller', schema=None) as batch_op:
        batch_op.drop_column('ended_on')
    with op.batch_alter_table('mark', schema=None) as batch_op:
        batch_op.drop_column('retired_at')
    with op.batch_alter_table('marketplace', schema=None) as batch_op:
        batch_op.drop_column('countries')
