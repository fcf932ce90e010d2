"""Every table of the record store; importing this package fills ``Base.metadata``."""

from __future__ import annotations

from hub.core.models.access import AdminPermission, FieldRule, Permission, Role, Team, User, UserRole
from hub.core.models.base import Base, Record
from hub.core.models.bookkeeping import AuditEvent, AuditHead, Binding, BlindIndex, CustomField
from hub.core.models.commerce import Invoice, Order, OrderLine, Payment, Product
from hub.core.models.crm import Account, Activity, Contact, Lead
from hub.core.models.people import Employee
from hub.core.models.sales import Campaign, CampaignMember, Deal, Pipeline
from hub.core.models.service import KnowledgeArticle, Ticket

#: The CRM modules, by public name, in an order where references point backwards.
RECORD_MODELS: dict[str, type[Record]] = {
    m.module: m
    for m in (
        Account, Contact, Lead, Pipeline, Deal, Activity, Campaign, CampaignMember, Ticket,
        KnowledgeArticle, Product, Order, OrderLine, Invoice, Payment, Employee,
    )
}

__all__ = [
    "RECORD_MODELS", "Account", "Activity", "AdminPermission", "AuditEvent", "AuditHead", "Base", "Binding",
    "BlindIndex", "Campaign", "CampaignMember", "Contact", "CustomField", "Deal", "Employee", "FieldRule", "Invoice",
    "KnowledgeArticle", "Lead", "Order", "OrderLine", "Payment", "Permission", "Pipeline", "Product",
    "Record", "Role", "Team", "Ticket", "User", "UserRole",
]
