"""The operators' Django admin for the core. Only superusers see any of it: a staff
user who is not a superuser gets nothing (tenant data of every company is here)."""

from __future__ import annotations

from django.contrib import admin

from .models import Customer, Invoice, Membership, Tenant


class SuperuserOnlyAdmin(admin.ModelAdmin):
    """Visible and usable by superusers only, whatever permissions staff hold."""

    def has_module_permission(self, request) -> bool:
        return request.user.is_superuser

    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser

    def has_add_permission(self, request) -> bool:
        return request.user.is_superuser and super().has_add_permission(request)

    def has_change_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser and super().has_delete_permission(request, obj)


class ReadOnlyAdmin(SuperuserOnlyAdmin):
    """Look, never write: tenants change this data through the product's own pages,
    whose services keep it consistent (a tenant's invoices belong to its customers)."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0

    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser

    def has_add_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser and super().has_delete_permission(request, obj)


@admin.register(Tenant)
class TenantAdmin(SuperuserOnlyAdmin):
    list_display = ["name", "created_at"]
    search_fields = ["name"]
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(SuperuserOnlyAdmin):
    list_display = ["user", "tenant", "role"]
    list_filter = ["role", "tenant"]
    list_select_related = ["user", "tenant"]


@admin.register(Customer)
class CustomerAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "name",
        "tenant",
        "billing_email",
        "reminders_paused",
        "next_reminder_on",
    ]
    list_filter = ["reminders_paused", "tenant"]
    list_select_related = ["tenant"]
    search_fields = ["name", "billing_email"]


@admin.register(Invoice)
class InvoiceAdmin(ReadOnlyAdmin):
    list_display = [
        "number",
        "tenant",
        "customer",
        "issued_on",
        "due_on",
        "amount",
        "open_balance",
        "currency",
        "paid",
    ]
    list_filter = ["paid", "tenant"]
    list_select_related = ["tenant", "customer"]
    search_fields = ["number", "customer__name"]
    date_hierarchy = "due_on"
