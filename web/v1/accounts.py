"""Who am I, and the rights holder's users."""

from __future__ import annotations

from fastapi import APIRouter

from db.accounts import create_user
from db.models import User
from markwatch.accounts import hash_password
from web.core import Admin, Reader
from web.v1.schemas import Me, UserIn, UserOut

router = APIRouter()


@router.get("/me", response_model=Me)
def me(ctx: Reader) -> Me:
    return Me(email=ctx.user.email, name=ctx.user.name, role=ctx.user.role.value,
              rights_holder=ctx.holder_slug, permissions=sorted(ctx.perms))

@router.get("/users", response_model=list[UserOut])
def users(ctx: Admin) -> list[UserOut]:
    return [UserOut(user_id=u.id, email=u.email, name=u.name, role=u.role.value, active=u.active)
            for u in ctx.session.scalars(ctx.scope.select(User).order_by(User.id))]


@router.post("/users", response_model=UserOut, status_code=201)
def add_user(ctx: Admin, body: UserIn) -> UserOut:
    u = create_user(ctx.session, rights_holder_id=ctx.user.rights_holder_id, email=body.email,
                    name=body.name, role=body.role, password_hash=hash_password(body.password))
    return UserOut(user_id=u.id, email=u.email, name=u.name, role=u.role.value, active=u.active)
