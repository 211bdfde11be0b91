"""listing photos captured with the evidence, official product photos with perceptual hashes,
text read in photos, seller networks

Revision ID: 0013
Revises: 0011
Create Date: 2026-12-01 14:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import db.types

revision = '0013'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('listing_image',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('listing_id', sa.Integer(), nullable=False),
    sa.Column('crawl_run_id', sa.Integer(), nullable=True),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('url', sa.String(length=2000), nullable=False),
    sa.Column('fetched_at', db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('content_type', sa.String(length=32), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('object_key', sa.String(length=300), nullable=False),
    sa.Column('thumb_key', sa.String(length=300), nullable=False),
    sa.Column('warc_file', sa.String(length=300), nullable=True),
    sa.Column('warc_record_id', sa.String(length=100), nullable=True),
    sa.Column('phash', sa.String(length=16), nullable=False),
    sa.Column('dhash', sa.String(length=16), nullable=False),
    sa.Column('created_at', db.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['crawl_run_id'], ['crawl_run.id'], name=op.f('fk_listing_image_crawl_run_id_crawl_run'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['listing_id'], ['listing.id'], name=op.f('fk_listing_image_listing_id_listing'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_listing_image')),
    sa.UniqueConstraint('listing_id', 'sha256', name=op.f('uq_listing_image_listing_id_sha256'))
    )
    with op.batch_alter_table('listing_image', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_listing_image_listing_id'), ['listing_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_listing_image_phash'), ['phash'], unique=False)
        batch_op.create_index(batch_op.f('ix_listing_image_sha256'), ['sha256'], unique=False)
    op.create_table('product_photo',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('filename', sa.String(length=300), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('content_type', sa.String(length=32), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('object_key', sa.String(length=300), nullable=False),
    sa.Column('thumb_key', sa.String(length=300), nullable=False),
    sa.Column('phash', sa.String(length=16), nullable=False),
    sa.Column('dhash', sa.String(length=16), nullable=False),
    sa.Column('variants', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', db.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['product_id'], ['product.id'], name=op.f('fk_product_photo_product_id_product'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_product_photo')),
    sa.UniqueConstraint('product_id', 'sha256', name=op.f('uq_product_photo_product_id_sha256'))
    )
    with op.batch_alter_table('product_photo', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_product_photo_product_id'), ['product_id'], unique=False)
    op.create_table('seller_network',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('computed_at', db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('links', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_seller_network')),
    sa.UniqueConstraint('key', name=op.f('uq_seller_network_key'))
    )
    op.create_table('seller_network_member',
    sa.Column('network_id', sa.Integer(), nullable=False),
    sa.Column('marketplace_id', sa.Integer(), nullable=False),
    sa.Column('seller', sa.String(length=300), nullable=False),
    sa.ForeignKeyConstraint(['marketplace_id'], ['marketplace.id'], name=op.f('fk_seller_network_member_marketplace_id_marketplace'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['network_id'], ['seller_network.id'], name=op.f('fk_seller_network_member_network_id_seller_network'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('network_id', 'marketplace_id', 'seller', name=op.f('pk_seller_network_member'))
    )
    with op.batch_alter_table('seller_network_member', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_seller_network_member_marketplace_id'), ['marketplace_id'], unique=False)
    op.create_table('image_text',
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('engine', sa.String(length=64), nullable=False),
    sa.Column('languages', sa.String(length=64), nullable=False),
    sa.Column('seconds', sa.Float(), nullable=False),
    sa.Column('created_at', db.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('sha256', name=op.f('pk_image_text'))
    )


def downgrade() -> None:
    n = op.get_bind().execute(sa.text("SELECT count(*) FROM listing_image")).scalar()
    if n:
        raise RuntimeError(f"{n} listing photos are evidence; this revision cannot be downgraded "
                           "without losing them")
    op.drop_table('image_text')
    with op.batch_alter_table('seller_network_member', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_seller_network_member_marketplace_id'))
    op.drop_table('seller_network_member')
    op.drop_table('seller_network')
    with op.batch_alter_table('product_photo', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_product_photo_product_id'))
    op.drop_table('product_photo')
    with op.batch_alter_table('listing_image', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_listing_image_sha256'))
        batch_op.drop_index(batch_op.f('ix_listing_image_phash'))
        batch_op.drop_index(batch_op.f('ix_listing_image_listing_id'))
    op.drop_table('listing_image')
