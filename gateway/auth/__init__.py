"""API users with roles, hashed tokens, per-role access, and the audit log.

    auth = Authenticator(db, admin_token)         # the API's view (service.py)
    await auth.announce()                         # warns when the API is open
    app = create_app(control, events=..., auth=auth)
    UserAdmin(db, actor="cli:root").add("ana", "agent", "alice")   # users.py

permissions.py holds the roles' grants and the one route -> permission table;
http.py the FastAPI dependency (`CurrentUser`) and the HTTP mapping of errors.py.
"""

from gateway.auth.errors import AuthError, Forbidden, InvalidUser, Unauthenticated
from gateway.auth.permissions import GRANTS, ROUTES, Permission, Role, Scope
from gateway.auth.service import ANONYMOUS, Authenticator, Principal
from gateway.auth.users import Issued, UserAdmin

__all__ = [
    "ANONYMOUS",
    "GRANTS",
    "ROUTES",
    "AuthError",
    "Authenticator",
    "Forbidden",
    "InvalidUser",
    "Issued",
    "Permission",
    "Principal",
    "Role",
    "Scope",
    "Unauthenticated",
    "UserAdmin",
]
