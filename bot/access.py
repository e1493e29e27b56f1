"""Who may see and do what — one answer for the console and the JSON API.

- a clerk sees and acts on their own center and every center below it (a town center's clerk
  also its villages);
- a supervisor sees the same read-only, plus reports and the audit log;
- an admin (no center) sees every center, acts, manages staff accounts and reads the audit log.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.knowledge.model import Centers
from bot.store.staff import StaffMember

ROLE_NAMES = {"clerk": "窗口工作人员", "supervisor": "督查", "editor": "知识库编辑", "admin": "管理员"}


@dataclass(frozen=True)
class Access:
    member: StaffMember
    scope: tuple[str, ...] | None   # the centers seen; None: all

    @classmethod
    def of(cls, member: StaffMember, centers: Centers) -> "Access":
        if member.center is None:
            return cls(member, None)
        return cls(member, tuple(centers.below(member.center)))

    def sees(self, center: str | None) -> bool:
        return self.scope is None or center in self.scope

    @property
    def centers(self) -> list[str] | None:
        return None if self.scope is None else list(self.scope)

    @property
    def acts(self) -> bool:
        return self.member.role in ("clerk", "admin")

    @property
    def reports(self) -> bool:
        return self.member.role in ("supervisor", "admin")

    @property
    def manages_staff(self) -> bool:
        return self.member.role == "admin"

    @property
    def role_name(self) -> str:
        return ROLE_NAMES.get(self.member.role, self.member.role)
