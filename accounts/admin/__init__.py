"""The admin where partner admins manage their employees' access and staff end relationships.

Every change goes through `accounts.services`; every page is scoped by `PartnerScopedAdmin`.
Nothing with history is deleted: employees are deactivated, assignments and seats ended.
"""

from accounts.admin import access, clients, employees, partners, requests

__all__ = ["access", "clients", "employees", "partners", "requests"]
